package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiwire"

	"github.com/botgate/botgate/datadir"
)

func newSecretCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "secret", "Store and read team-owned secrets in the vault")
	cmd.AddCommand(newSecretPutCmd(a), newSecretGetCmd(a), newSecretListCmd(a), newSecretRmCmd(a), newSecretBindCmd(a))
	return cmd
}

func newSecretPutCmd(a *apiCmd) *cobra.Command {
	var file, description string
	cmd := &cobra.Command{
		Use:   "put GROUP NAME",
		Short: "Create or replace a secret (value from stdin or --file)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			var value []byte
			if file != "" {
				value, err = os.ReadFile(file)
			} else {
				value, err = io.ReadAll(io.LimitReader(a.e.stdin, 1<<20))
			}
			if err != nil {
				return usageErr("reading the value: %v", err)
			}
			defer clear(value)
			value = bytes.TrimRight(value, "\r\n")
			if len(value) == 0 {
				return usageErr("the value is empty: pipe it on standard input or pass --file")
			}
			c, err := a.v1()
			if err != nil {
				return err
			}
			out, err := c.PutSecret(cmd.Context(), args[0], args[1], apiwire.PutSecret{Value: string(value), Description: description})
			if err != nil {
				return cliErr(err)
			}
			if asJSON {
				return writeJSON(a.e.stdout, out)
			}
			fmt.Fprintf(a.e.stdout, "stored secret %s of group %s (id %d, master key %s)\n", out.Name, args[0], out.ID, out.KeyID)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "read the value from this file instead of standard input")
	cmd.Flags().StringVar(&description, "description", "", "what the secret is for")
	return a.withOutput(cmd)
}

func newSecretGetCmd(a *apiCmd) *cobra.Command {
	var outFile string
	cmd := &cobra.Command{
		Use:   "get GROUP NAME",
		Short: "Print a secret's value (audited)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.beginV1()
			if err != nil {
				return err
			}
			out, err := c.SecretValue(cmd.Context(), args[0], args[1])
			if err != nil {
				return cliErr(err)
			}
			if outFile != "" {
				if err := datadir.WriteSecretFile(outFile, []byte(out.Value)); err != nil {
					return cliErr(err)
				}
				fmt.Fprintf(a.e.stdout, "wrote the value of %s/%s to %s (mode 0600)\n", args[0], args[1], outFile)
				return nil
			}
			if asJSON {
				return writeJSON(a.e.stdout, out)
			}
			_, err = fmt.Fprintln(a.e.stdout, out.Value)
			return err
		},
	}
	cmd.Flags().StringVar(&outFile, "out-file", "", "write the value to this new file (0600) instead of standard output")
	return a.withOutput(cmd)
}

func newSecretListCmd(a *apiCmd) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list GROUP",
		Short: "List a team's secrets (metadata only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.beginV1()
			if err != nil {
				return err
			}
			all, err := c.ListSecrets(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			return writeList(a.e.stdout, asJSON, all, []string{"ID", "NAME", "BOUND TO", "KEY", "UPDATED", "LAST READ", "DESCRIPTION"},
				func(s apiwire.Secret) []string {
					bound := "-"
					if s.BoundFamilyID != nil {
						bound = fmt.Sprintf("family %d (%s)", *s.BoundFamilyID, orDash(s.BoundAutomation))
					}
					last := "-"
					if s.LastReadAt != nil {
						last = *s.LastReadAt
					}
					return []string{strconv.FormatInt(s.ID, 10), s.Name, bound, s.KeyID, s.UpdatedAt, last, s.Description}
				})
		},
	}
	return a.withOutput(cmd)
}

func newSecretRmCmd(a *apiCmd) *cobra.Command {
	return &cobra.Command{
		Use:   "rm GROUP NAME",
		Short: "Delete a secret",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.v1()
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0], args[1]); err != nil {
				return cliErr(err)
			}
			fmt.Fprintf(a.e.stdout, "deleted secret %s of group %s\n", args[1], args[0])
			return nil
		},
	}
}

func newSecretBindCmd(a *apiCmd) *cobra.Command {
	var tokenID int64
	var unbind bool
	cmd := &cobra.Command{
		Use:   "bind GROUP NAME --token-id ID | --unbind",
		Short: "Let an automation's token (and its rotations) read a secret",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if (tokenID > 0) == unbind {
				return usageErr("give either --token-id or --unbind")
			}
			c, err := a.v1()
			if err != nil {
				return err
			}
			out, err := c.BindSecret(cmd.Context(), args[0], args[1], tokenID)
			if err != nil {
				return cliErr(err)
			}
			if asJSON {
				return writeJSON(a.e.stdout, out)
			}
			if unbind {
				fmt.Fprintf(a.e.stdout, "secret %s/%s is bound to no token\n", args[0], args[1])
			} else {
				fmt.Fprintf(a.e.stdout, "secret %s/%s is readable by token family %d (%s)\n", args[0], args[1], *out.BoundFamilyID, orDash(out.BoundAutomation))
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&tokenID, "token-id", 0, "the automation token that may read the secret")
	cmd.Flags().BoolVar(&unbind, "unbind", false, "remove the binding")
	return a.withOutput(cmd)
}
