package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/server"
)

func newAdminCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administer the installation from its data directory"}
	cmd.AddCommand(newAdminRecoverCmd(e))
	return cmd
}

func newAdminRecoverCmd(e *env) *cobra.Command {
	var o localOptions
	var username, tokenFile, output string
	cmd := &cobra.Command{
		Use: "recover", Short: "Mint a new administrator token with access to the data directory", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			res, err := server.RecoverAdmin(cmd.Context(), o.config(e),
				username, tokenFile, newLogger(e, o.logLevel))
			return show(e.stdout, output, res, err, res.WriteText)
		},
	}
	localFlags(cmd, e, &o, false)
	cmd.Flags().StringVar(&username, "username", "", "the administrator to mint the token for (default: the oldest active administrator)")
	cmd.Flags().StringVar(&tokenFile, "admin-token-file", "", "write the token to this new file (0600) instead of printing it")
	outputFlag(cmd, &output)
	return cmd
}
