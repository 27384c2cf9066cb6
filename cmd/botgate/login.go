package main

import (
	"io"

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
			base, err := apiclient.FlagURL(e.getenv, url, "--url is required (or set "+apiclient.EnvURL+"): the botgate server, e.g. http://127.0.0.1:8080")
			if err != nil {
				return cliout.Usage(err)
			}
			token, err := apiclient.ReadToken(e.stdin, e.stderr, tokenFile, true)
			if err != nil {
				return cliout.Usage(err)
			}
			path, err := apiclient.CredentialsPath(e.getenv)
			if err != nil {
				return cliout.Fail(err)
			}
			res, err := apiclient.Login(cmd.Context(), base, token, path)
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
			done, err := apiclient.Logout(cmd.Context(), e.getenv, revoke)
			return show(e.stdout, cliout.Text, nil, err, cliout.Line("%s", done))
		},
	}
	cmd.SetFlagErrorFunc(cli.FlagError)
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke the stored token on the server first")
	return cmd
}
