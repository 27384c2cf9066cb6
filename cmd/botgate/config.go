package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/config"
)

func newConfigCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the configuration file"}
	cmd.AddCommand(&cobra.Command{
		Use: "check [FILE]", Short: "Check botgate.yaml and report every problem with its line", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := config.CheckFile(args, e.conf)
			if err != nil {
				return cliout.Exit(cliout.ExitUsage, err)
			}
			return show(e.stdout, cliout.Text, nil, nil, cliout.Line("%s: valid", path))
		},
	})
	return cmd
}
