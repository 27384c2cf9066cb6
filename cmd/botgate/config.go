package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/config"
)

// loadConfig reads the configuration file at path, if any, into e.conf and
// gives each flag of cmd that the file sets the file's value, unless the
// flag was given or its environment variable is set.
func loadConfig(cmd *cobra.Command, e *env, path string) error {
	if path == "" {
		return nil
	}
	f, err := config.Load(path)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	e.conf = f
	for _, s := range f.Settings() {
		fl := cmd.Flags().Lookup(s.Flag)
		if fl == nil || fl.Changed || (s.Env != "" && e.getenv(s.Env) != "") {
			continue
		}
		if err := fl.Value.Set(s.Value); err != nil {
			return usageErr("%s: %s: %v", path, s.Flag, err)
		}
	}
	return nil
}

func newConfigCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration file",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Check botgate.yaml and report every problem with its line",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var path string
			switch {
			case len(args) == 1:
				path = args[0]
			case e.conf != nil:
				path = e.conf.Name()
			default:
				return usageErr("name the file: botgate config check FILE, --config FILE or %s", config.EnvFile)
			}
			if _, err := config.Load(path); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			_, err := fmt.Fprintf(e.stdout, "%s: valid\n", path)
			return err
		},
	})
	return cmd
}
