package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/datadir"
)

func newSecretCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "secret", "Store and read team-owned secrets in the vault")
	cmd.AddCommand(a.secretPutCmd(), a.secretGetCmd(), a.secretListCmd(), a.secretRmCmd(), a.secretBindCmd())
	return cmd
}

func (a *apiCmd) secretPutCmd() *cobra.Command {
	var file, description string
	cmd := a.Command(&cobra.Command{
		Use: "put GROUP NAME", Short: "Create or replace a secret (value from stdin or --file)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := apiclient.ReadSecretValue(a.Stdin, file)
			if err != nil {
				return cliout.Usage(err)
			}
			defer clear(value)
			c, err := a.V1()
			if err != nil {
				return err
			}
			out, err := c.PutSecret(cmd.Context(), args[0], args[1], apiwire.PutSecret{Value: string(value), Description: description})
			return a.Show(out, err, cliout.Line("stored secret %s of group %s (id %d, master key %s)", out.Name, args[0], out.ID, out.KeyID))
		},
	})
	cmd.Flags().StringVar(&file, "file", "", "read the value from this file instead of standard input")
	cmd.Flags().StringVar(&description, "description", "", "what the secret is for")
	return cmd
}

func (a *apiCmd) secretGetCmd() *cobra.Command {
	var outFile string
	cmd := a.Command(&cobra.Command{
		Use: "get GROUP NAME", Short: "Print a secret's value (audited)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.V1()
			if err != nil {
				return err
			}
			out, err := c.SecretValue(cmd.Context(), args[0], args[1])
			if err == nil && outFile != "" {
				err = datadir.WriteSecretFile(outFile, []byte(out.Value))
				return show(a.Stdout, cliout.Text, nil, err, cliout.Line("wrote the value of %s/%s to %s (mode 0600)", args[0], args[1], outFile))
			}
			return a.Show(out, err, cliout.Line("%s", out.Value))
		},
	})
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the value to this new file (0600) instead of standard output")
	return cmd
}

func (a *apiCmd) secretListCmd() *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "list GROUP", Short: "List a team's secrets (metadata only)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnV1(a.API, func(c *apiclient.V1) ([]apiwire.Secret, error) { return c.ListSecrets(cmd.Context(), args[0]) })
		},
	})
}

func (a *apiCmd) secretRmCmd() *cobra.Command {
	return &cobra.Command{
		Use: "rm GROUP NAME", Short: "Delete a secret", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.V1()
			if err != nil {
				return err
			}
			err = c.DeleteSecret(cmd.Context(), args[0], args[1])
			return show(a.Stdout, cliout.Text, nil, err, cliout.Line("deleted secret %s of group %s", args[1], args[0]))
		},
	}
}

func (a *apiCmd) secretBindCmd() *cobra.Command {
	var tokenID int64
	var unbind bool
	cmd := a.Command(&cobra.Command{
		Use: "bind GROUP NAME --token-id ID | --unbind", Short: "Let an automation's token (and its rotations) read a secret", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (tokenID > 0) == unbind {
				return cliout.Usagef("give either --token-id or --unbind")
			}
			c, err := a.V1()
			if err != nil {
				return err
			}
			out, err := c.BindSecret(cmd.Context(), args[0], args[1], tokenID)
			return a.Show(out, err, func(w io.Writer) error {
				if unbind {
					return cliout.Line("secret %s/%s is bound to no token", args[0], args[1])(w)
				}
				return cliout.Line("secret %s/%s is readable by token family %d (%s)", args[0], args[1], *out.BoundFamilyID, cliout.OrDash(out.BoundAutomation))(w)
			})
		},
	})
	cmd.Flags().Int64Var(&tokenID, "token-id", 0, "the automation token that may read the secret")
	cmd.Flags().BoolVar(&unbind, "unbind", false, "remove the binding")
	return cmd
}
