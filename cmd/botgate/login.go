package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/term"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/datadir"
)

// loginResult is what login reports; it never holds the token.
type loginResult struct {
	URL             string   `json:"url"`
	UserID          int64    `json:"user_id"`
	Username        string   `json:"username"`
	TokenID         int64    `json:"token_id,omitempty"`
	TokenName       string   `json:"token_name,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	ExpiresAt       *string  `json:"expires_at"`
	CredentialsFile string   `json:"credentials_file"`
}

func newLoginCmd(e *env) *cobra.Command {
	var url, tokenFile, output string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store a server URL and token for the API commands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return usageErr("%v", err)
			}
			if url == "" {
				url = e.getenv(apiclient.EnvURL)
			}
			if url == "" {
				return usageErr("--url is required (or set %s): the botgate server, e.g. http://127.0.0.1:8080", apiclient.EnvURL)
			}
			u, err := apiclient.NormalizeURL(url)
			if err != nil {
				return usageErr("%s", botgate.MessageOf(err))
			}
			token, err := readToken(e, tokenFile, true)
			if err != nil {
				return err
			}
			path, err := apiclient.CredentialsPath(e.getenv)
			if err != nil {
				return cliErr(err)
			}
			r := apiclient.Resolved{URL: u, Token: token, URLSource: apiclient.SourceFlag, TokenSource: apiclient.SourceFlag}
			c, err := apiclient.New(r, apiclient.Options{})
			if err != nil {
				return cliErr(err)
			}
			me, resp, err := c.Users.CurrentUser(gitlab.WithContext(cmd.Context()))
			if err != nil {
				err = apiclient.Explain(err, resp, "the current user")
				if botgate.IsKind(err, botgate.KindUnauthenticated) {
					err = &botgate.Error{Kind: botgate.KindUnauthenticated, Err: err,
						Message: "the server rejected this token (mistyped, expired or revoked?); nothing was stored"}
				}
				return cliErr(err)
			}
			res := loginResult{URL: u, UserID: me.ID, Username: me.Username, CredentialsFile: path}
			// A personal, project or group access token can describe itself.
			if t, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken(gitlab.WithContext(cmd.Context())); err == nil {
				res.TokenID, res.TokenName, res.Scopes, res.ExpiresAt = t.ID, t.Name, t.Scopes, dateString(t.ExpiresAt)
			}
			if err := apiclient.SaveCredentials(path, apiclient.Credentials{URL: u, Token: token}); err != nil {
				return cliErr(err)
			}
			if output == "json" {
				return writeJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "Logged in to %s as %s (user %d).\n", u, me.Username, me.ID)
			if res.TokenID != 0 {
				exp := "never expires"
				if res.ExpiresAt != nil {
					exp = "expires " + *res.ExpiresAt
				}
				fmt.Fprintf(e.stdout, "Token %d %q, scopes %s, %s.\n", res.TokenID, res.TokenName, strings.Join(res.Scopes, ","), exp)
			}
			fmt.Fprintf(e.stdout, "Credentials stored in %s (mode 0600).\n", path)
			if s := e.getenv(apiclient.EnvToken); s != "" {
				fmt.Fprintf(e.stderr, "botgate: note: %s is set and takes precedence over the stored token\n", apiclient.EnvToken)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.Flags().StringVar(&url, "url", "", "botgate server URL [env BOTGATE_URL]")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file (mode 0600); - or omitted reads standard input")
	outputFlag(cmd, &output)
	return cmd
}

// readToken reads a token from file, or from standard input when file is
// "" or "-". A credential file must not be readable by others; a file
// holding a leaked secret (strict false) may be.
func readToken(e *env, file string, strict bool) (string, error) {
	var b []byte
	var err error
	if file != "" && file != "-" {
		if strict {
			b, err = datadir.ReadSecretFile(file)
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return "", usageErr("reading %s: %v", file, err)
		}
	} else if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		// Typed or pasted at a terminal: do not echo it.
		fmt.Fprint(e.stderr, "Paste the token (it will not be shown) and press Enter: ")
		b, err = term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", usageErr("reading the token from the terminal: %v", err)
		}
	} else {
		b, err = io.ReadAll(io.LimitReader(e.stdin, 4096))
		if err != nil {
			return "", usageErr("reading the token from standard input: %v", err)
		}
	}
	token := strings.TrimSpace(string(b))
	if i := strings.IndexAny(token, "\r\n"); i >= 0 {
		token = strings.TrimSpace(token[:i])
	}
	if token == "" {
		return "", usageErr("no token given: name a file holding it, or pipe it on standard input")
	}
	return token, nil
}

func newLogoutCmd(e *env) *cobra.Command {
	var revoke bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the stored server URL and token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := apiclient.CredentialsPath(e.getenv)
			if err != nil {
				return cliErr(err)
			}
			if revoke {
				c, err := apiclient.LoadCredentials(path)
				if err != nil {
					return cliErr(botgate.Errorf(botgate.KindUnauthenticated, "nothing to revoke: %v", err))
				}
				cl, err := apiclient.New(apiclient.Resolved{URL: c.URL, Token: c.Token}, apiclient.Options{})
				if err != nil {
					return cliErr(err)
				}
				resp, err := cl.PersonalAccessTokens.RevokePersonalAccessTokenSelf(gitlab.WithContext(cmd.Context()))
				if err != nil {
					return apiErr(err, resp, "the stored token")
				}
				fmt.Fprintf(e.stdout, "Revoked the stored token on %s.\n", c.URL)
			}
			had, err := apiclient.RemoveCredentials(path)
			if err != nil {
				return cliErr(err)
			}
			if had {
				fmt.Fprintf(e.stdout, "Removed %s.\n", path)
			} else {
				fmt.Fprintf(e.stdout, "Not logged in (no %s).\n", path)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke the stored token on the server first")
	return cmd
}
