package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

func newLoginCmd(e *env) *cobra.Command {
	var url, tokenFile, output string
	cmd := &cobra.Command{
		Use: "login", Short: "Store a server URL and token for the API commands", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if url == "" {
				url = e.getenv(apiclient.EnvURL)
			}
			if url == "" {
				return usageErr("--url is required (or set %s): the botgate server, e.g. http://127.0.0.1:8080", apiclient.EnvURL)
			}
			if _, err := apiclient.NormalizeURL(url); err != nil {
				return usage(err)
			}
			token, err := apiclient.ReadToken(e.stdin, e.stderr, tokenFile, true)
			if err != nil {
				return usage(err)
			}
			path, err := apiclient.CredentialsPath(e.getenv)
			if err != nil {
				return cliErr(err)
			}
			res, err := apiclient.Login(cmd.Context(), url, token, path)
			if err == nil && output != cliout.JSON && e.getenv(apiclient.EnvToken) != "" {
				defer io.WriteString(e.stderr, "botgate: note: "+apiclient.EnvToken+" is set and takes precedence over the stored token\n")
			}
			return show(e.stdout, output, res, err, cliout.LoggedIn(res))
		},
	}
	cmd.SetFlagErrorFunc(cli.FlagError)
	cmd.Flags().StringVar(&url, "url", "", "botgate server URL [env BOTGATE_URL]")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file (mode 0600); - or omitted reads standard input")
	outputFlag(cmd, &output)
	return cmd
}

func newLogoutCmd(e *env) *cobra.Command {
	var revoke bool
	cmd := &cobra.Command{
		Use: "logout", Short: "Forget the stored server URL and token", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := apiclient.CredentialsPath(e.getenv)
			if err != nil {
				return cliErr(err)
			}
			var lines []string
			if revoke {
				url, err := apiclient.RevokeStored(cmd.Context(), path)
				if err != nil {
					return cliErr(err)
				}
				lines = append(lines, "Revoked the stored token on "+url+".")
			}
			had, err := apiclient.RemoveCredentials(path)
			if had {
				lines = append(lines, "Removed "+path+".")
			} else {
				lines = append(lines, "Not logged in (no "+path+").")
			}
			return show(e.stdout, cliout.Text, nil, err, cliout.Line("%s", strings.Join(lines, "\n")))
		},
	}
	cmd.SetFlagErrorFunc(cli.FlagError)
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke the stored token on the server first")
	return cmd
}
