package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/datadir"
)

// secretEntry is a secret as the API describes it; Value is set only by the
// value route.
type secretEntry struct {
	ID              int64   `json:"id"`
	GroupID         int64   `json:"group_id"`
	Name            string  `json:"name"`
	Description     string  `json:"description"`
	KeyID           string  `json:"key_id"`
	BoundFamilyID   *int64  `json:"bound_family_id"`
	BoundAutomation string  `json:"bound_automation"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
	LastReadAt      *string `json:"last_read_at"`
	Value           string  `json:"value,omitempty"`
}

func newSecretCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "secret", "Store and read team-owned secrets in the vault",
		`A secret belongs to a team (a group). Its Maintainers and Owners write and read it,
administrators too, and the automation token it is bound to reads it (that token needs
the read_secret scope). Every read, write and refused attempt is audited. Listing
shows metadata only.

Values never go on the command line: put reads them from standard input or --file.`)
	cmd.AddCommand(newSecretPutCmd(a), newSecretGetCmd(a), newSecretListCmd(a), newSecretRmCmd(a), newSecretBindCmd(a))
	return cmd
}

// secretPath is the API path of a team's secret.
func secretPath(group, name string) string {
	return "/api/botgate/v1/secrets/" + url.PathEscape(group) + "/" + url.PathEscape(name)
}

// serverMessage is the message of an error answer from botgate's API: its
// "message", else its "error" field.
func serverMessage(body []byte) string {
	var m struct {
		Message any `json:"message"`
		Error   any `json:"error"`
	}
	_ = json.Unmarshal(body, &m)
	if m.Message == nil {
		return fmt.Sprint(m.Error)
	}
	return fmt.Sprint(m.Message)
}

// botgateCall sends a JSON request to botgate's own API and decodes the answer
// into out (unless nil), turning error answers into exit codes.
func (a *apiCmd) botgateCall(ctx context.Context, method, path string, body, out any, what string) error {
	r, err := apiclient.Resolve(a.e.getenv, a.url)
	if err != nil {
		return cliErr(err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return cliErr(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(r.URL, "/")+path, rd)
	if err != nil {
		return usageErr("bad server URL %q", r.URL)
	}
	req.Header.Set("PRIVATE-TOKEN", r.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "botgate-cli/"+botgate.Version)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return cliErr(botgate.Errorf(botgate.KindInternal, "cannot reach botgate at %s: is 'botgate serve' running?", r.URL))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return cliErr(botgate.Errorf(botgate.KindInternal, "reading the answer: %v", err))
	}
	if resp.StatusCode >= 300 {
		msg := serverMessage(raw)
		kind := botgate.KindInternal
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
			kind = botgate.KindInvalid
		case http.StatusUnauthorized:
			kind = botgate.KindUnauthenticated
		case http.StatusForbidden:
			kind = botgate.KindForbidden
		case http.StatusNotFound:
			kind, msg = botgate.KindNotFound, what+" not found (or not visible to you)"
		case http.StatusTooManyRequests:
			kind = botgate.KindRateLimited
		}
		return cliErr(botgate.Errorf(kind, "%s (HTTP %d)", msg, resp.StatusCode))
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return cliErr(botgate.Errorf(botgate.KindInternal, "the server's answer is not what was expected: %v", err))
		}
	}
	return nil
}

func newSecretPutCmd(a *apiCmd) *cobra.Command {
	var file, description string
	cmd := &cobra.Command{
		Use:   "put GROUP NAME",
		Short: "Create or replace a secret (value from stdin or --file)",
		Example: `  printf %s "$UPSTREAM_ADMIN_TOKEN" | botgate secret put platform gitlab-admin
  botgate secret put platform deploy-key --file ./id_ed25519 --description "deploy key"`,
		Args: cobra.ExactArgs(2),
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
			var out secretEntry
			body := map[string]string{"value": string(value), "description": description}
			if err := a.botgateCall(cmd.Context(), http.MethodPut, secretPath(args[0], args[1]), body, &out, "group "+args[0]); err != nil {
				return err
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
		Example: `  botgate secret get platform gitlab-admin
  botgate secret get platform deploy-key --out-file ./key   # written 0600`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			var out secretEntry
			if err := a.botgateCall(cmd.Context(), http.MethodGet, secretPath(args[0], args[1])+"/value", nil, &out, "secret "+args[0]+"/"+args[1]); err != nil {
				return err
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
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			var all []secretEntry
			for page := 1; ; page++ {
				var out []secretEntry
				path := "/api/botgate/v1/secrets?per_page=100&page=" + strconv.Itoa(page) + "&group=" + url.QueryEscape(args[0])
				if err := a.botgateCall(cmd.Context(), http.MethodGet, path, nil, &out, "group "+args[0]); err != nil {
					return err
				}
				all = append(all, out...)
				if len(out) < 100 {
					break
				}
			}
			return writeList(a.e.stdout, asJSON, all, []string{"ID", "NAME", "BOUND TO", "KEY", "UPDATED", "LAST READ", "DESCRIPTION"},
				func(s secretEntry) []string {
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
			if err := a.botgateCall(cmd.Context(), http.MethodDelete, secretPath(args[0], args[1]), nil, nil, "secret "+args[0]+"/"+args[1]); err != nil {
				return err
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
		Long: `bind lets the automation token ID read the secret. The binding is to the token's
rotation family, so it survives rotation and ends when the family is revoked. The
token must belong to a bot or service account of the team and hold read_secret.`,
		Example: `  botgate secret bind platform upstream-triage --token-id 42
  botgate secret bind platform upstream-triage --unbind`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if (tokenID > 0) == unbind {
				return usageErr("give either --token-id or --unbind")
			}
			var out secretEntry
			method, body := http.MethodPut, any(map[string]int64{"token_id": tokenID})
			if unbind {
				method, body = http.MethodDelete, nil
			}
			if err := a.botgateCall(cmd.Context(), method, secretPath(args[0], args[1])+"/binding", body, &out, "secret "+args[0]+"/"+args[1]); err != nil {
				return err
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
