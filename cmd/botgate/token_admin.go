package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// adminToken calls POST or DELETE /admin/token with the secret in the JSON
// body (never in the URL), through client-go's request machinery: client-go
// has no wrapper for this endpoint.
func adminToken(cmd *cobra.Command, c *gitlab.Client, method, secret string, v any) (*gitlab.Response, error) {
	// client-go would put a DELETE's options in the query string: build the
	// request bare and give it a JSON body, for either method.
	req, err := c.NewRequest(method, "admin/token", nil, []gitlab.RequestOptionFunc{gitlab.WithContext(cmd.Context())})
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{"token": secret})
	if err != nil {
		return nil, err
	}
	if err := req.SetBody(body); err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req, v)
}

// callBySecret reads a token's secret from secretFile (or standard input)
// and calls /admin/token with it, decoding the answer into v unless nil.
func (a *apiCmd) callBySecret(cmd *cobra.Command, method, secretFile string, v any) error {
	secret, err := readToken(a.e, secretFile, false)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	resp, err := adminToken(cmd, c, method, secret, v)
	if err != nil {
		return apiErr(err, resp, "a token with that secret")
	}
	return nil
}

func (a *apiCmd) tokenLookupCmd() *cobra.Command {
	var secretFile string
	cmd := &cobra.Command{
		Use:   "lookup",
		Short: "Identify a token from its secret (administrators)",
		Long: `lookup tells which token a secret belongs to (POST /admin/token): its id, owner,
scopes and state. Use it on a secret found in a log or a repository; then revoke
it with 'botgate token revoke --secret-file'. The secret is read from
--secret-file or standard input, never from a flag, and is never printed.`,
		Example: `  botgate token lookup --secret-file ./found.txt
  grep -o 'glpat-[^ ]*' build.log | head -1 | botgate token lookup -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			var x gitlab.PersonalAccessToken
			if err := a.callBySecret(cmd, http.MethodPost, secretFile, &x); err != nil {
				return err
			}
			x.Token = ""
			v := patView(&x, "any")
			v.Active = !x.Revoked && (x.ExpiresAt == nil || time.Time(*x.ExpiresAt).After(time.Now().UTC().Truncate(24*time.Hour)))
			if asJSON {
				return writeJSON(a.e.stdout, v)
			}
			return tokenFields(a, v)
		},
	}
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this `FILE`; - or omitted reads standard input")
	return a.withOutput(cmd)
}

// revokeBySecret is 'token revoke --secret-file': DELETE /admin/token.
func (a *apiCmd) revokeBySecret(cmd *cobra.Command, secretFile string, asJSON bool) error {
	if err := a.callBySecret(cmd, http.MethodDelete, secretFile, nil); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.e.stdout, map[string]any{"revoked": true})
	}
	_, err := fmt.Fprintln(a.e.stdout, "Revoked the token with that secret.")
	return err
}
