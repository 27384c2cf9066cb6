package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
)

// tokenTarget holds the flags that say whose tokens a command is about.
type tokenTarget struct{ project, group, sa, user string }

func (t *tokenTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.project, "project", "", "project `ID|PATH`: its project access tokens (with --service-account: that project's service account)")
	cmd.Flags().StringVar(&t.group, "group", "", "group `ID|PATH`: its group access tokens (with --service-account: that group's service account)")
	cmd.Flags().StringVar(&t.sa, "service-account", "", "service account user `ID`: its personal access tokens")
}

func (t *tokenTarget) owner() (apiclient.TokenOwner, error) {
	o, err := apiclient.ParseTokenOwner(t.project, t.group, t.sa, t.user)
	return o, usage(err)
}

// tokenRef parses a token argument: a numeric ID, or "self" for the token
// in use. 'self' takes no --service-account; verb names the command in that
// refusal.
func tokenRef(ref string, o apiclient.TokenOwner, verb string) (apiclient.TokenRef, error) {
	if ref != "self" {
		id, err := parseID("the token ID", ref)
		return apiclient.TokenRef{ID: id}, err
	}
	if o.Kind() == apiclient.KindServiceAccount {
		return apiclient.TokenRef{}, usageErr("'self' needs no --service-account: run 'botgate token %s self' with the service account's token", verb)
	}
	return apiclient.TokenRef{Self: true}, nil
}

func newTokenCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "token", "List, create, rotate and revoke access tokens")
	cmd.AddCommand(a.tokenListCmd(), a.tokenShowCmd(), a.tokenCreateCmd(), a.tokenRotateCmd(), a.tokenRevokeCmd(),
		a.tokenUsageCmd(), a.tokenLookupCmd(), a.tokenReissueCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) tokenListCmd() *cobra.Command {
	var t tokenTarget
	var f apiclient.TokenFilter
	var pf pageFlags
	cmd := a.command(&cobra.Command{
		Use: "list", Short: "List tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			if f.State != "" && f.State != "active" && f.State != "inactive" {
				return usageErr("--state must be active or inactive, not %q", f.State)
			}
			p, err := pf.check()
			if err != nil {
				return err
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			vs, err := g.Tokens(cmd.Context(), o, f, p)
			kind := o.Kind()
			return a.show(vs, err, func(w io.Writer) error {
				return cliout.Tokens(w, vs, kind == apiclient.KindProject || kind == apiclient.KindGroup)
			})
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "list this user's personal access tokens (`ID`; admin only)")
	cmd.Flags().StringVar(&f.State, "state", "", "active or inactive (revoked or expired)")
	cmd.Flags().StringVar(&f.Search, "search", "", "only tokens whose name contains this")
	pf.register(cmd)
	return cmd
}

func (a *apiCmd) tokenShowCmd() *cobra.Command {
	var t tokenTarget
	cmd := a.command(&cobra.Command{
		Use: "show ID|self", Short: "Show one token (self: the token in use)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			ref, err := tokenRef(args[0], o, "show")
			if err != nil {
				return err
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			v, err := g.Token(cmd.Context(), o, ref)
			return a.show(v, err, nil)
		},
	})
	t.register(cmd)
	return cmd
}

func (a *apiCmd) tokenRevokeCmd() *cobra.Command {
	var t tokenTarget
	var secretFile string
	cmd := a.command(&cobra.Command{
		Use: "revoke ID|self", Short: "Revoke a token; a project or group token's bot user is deactivated", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			kind := o.Kind()
			if cmd.Flags().Changed("secret-file") {
				if len(args) != 0 || kind != apiclient.KindPersonal {
					return usageErr("--secret-file takes no token ID, --project, --group or --service-account")
				}
				g, secret, err := a.bySecret(secretFile)
				if err != nil {
					return err
				}
				return a.show(map[string]any{"revoked": true}, g.RevokeTokenBySecret(cmd.Context(), secret), cliout.Line("Revoked the token with that secret."))
			}
			if len(args) != 1 {
				return usageErr("give the token ID, or self, or --secret-file")
			}
			ref := apiclient.TokenRef{Self: args[0] == "self"}
			if ref.Self && kind != apiclient.KindPersonal {
				return usageErr("'self' revokes the token in use, whatever its kind: drop --project, --group and --service-account")
			} else if !ref.Self {
				if ref.ID, err = parseID("the token ID", args[0]); err != nil {
					return err
				}
			}
			r, err := a.resolve()
			if err != nil {
				return err
			}
			g, err := a.newGitLab(r)
			if err != nil {
				return err
			}
			out, text := cliout.Revoked(o, ref, r)
			return a.show(out, g.RevokeToken(cmd.Context(), o, ref), text)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "revoke the token with the secret in this `FILE` (- for standard input; admin)")
	return cmd
}

// bySecret reads a token's secret from secretFile (or standard input) and
// builds the client for a call to /admin/token with it.
func (a *apiCmd) bySecret(secretFile string) (*apiclient.GitLab, string, error) {
	secret, err := apiclient.ReadToken(a.e.stdin, a.e.stderr, secretFile, false)
	if err != nil {
		return nil, "", usage(err)
	}
	g, err := a.gitlab()
	return g, secret, err
}

func (a *apiCmd) tokenLookupCmd() *cobra.Command {
	var secretFile string
	cmd := a.command(&cobra.Command{
		Use: "lookup", Short: "Identify a token from its secret (administrators)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, secret, err := a.bySecret(secretFile)
			if err != nil {
				return err
			}
			v, err := g.LookupToken(cmd.Context(), secret)
			return a.show(v, err, nil)
		},
	})
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this `FILE`; - or omitted reads standard input")
	return cmd
}

func (a *apiCmd) tokenUsageCmd() *cobra.Command {
	return a.command(&cobra.Command{
		Use: "usage ID", Short: "Show how a token was used through the gateway", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("the token ID", args[0])
			if err != nil {
				return err
			}
			c, err := a.v1()
			if err != nil {
				return err
			}
			u, err := c.TokenUsage(cmd.Context(), id)
			return a.show(u, err, nil)
		},
	})
}

// newToken ends a create or rotate: the secret goes to sink's file, or is
// shown once, after headline and the token's details.
func (a *apiCmd) newToken(sink *cliout.SecretFile, v apiclient.Token, err error, fail, stored, headline string) error {
	if err := sink.Finish(&v, err, fail, stored); err != nil {
		return cliErr(err)
	}
	return a.show(v, nil, cliout.NewSecret(v, headline))
}

// secretSink creates --token-file, if given, before the call.
func secretSink(path string) (*cliout.SecretFile, error) {
	s, err := cliout.CreateSecretFile(path)
	return s, usage(err)
}

func (a *apiCmd) tokenCreateCmd() *cobra.Command {
	var t tokenTarget
	var scopes, expires, description, level, tokenFile string
	var n apiclient.NewToken
	cmd := a.command(&cobra.Command{
		Use: "create", Short: "Create a token and show its secret once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			kind := o.Kind()
			if strings.TrimSpace(n.Name) == "" {
				return usageErr("--name is required: name the automation the token serves, e.g. --name ci-deploy")
			}
			n.Scopes, err = apiclient.ParseScopes(scopes)
			if err == nil {
				n.ExpiresAt, err = apiclient.ParseDate("expires-at", expires)
			}
			switch {
			case err != nil:
				return usage(err)
			case kind == apiclient.KindProject || kind == apiclient.KindGroup:
				if level == "" {
					return usageErr("--access-level is required for a %s access token: the lowest role the automation needs, e.g. reporter to read or developer to push", kind)
				}
				if n.AccessLevel, err = apiclient.ParseRole(level); err != nil {
					return usage(err)
				}
			case level != "":
				return usageErr("--access-level applies to project and group access tokens only")
			}
			if description != "" {
				n.Description = &description
			}
			sink, err := secretSink(tokenFile)
			if err != nil {
				return err
			}
			g, err := a.gitlab()
			if err != nil {
				sink.Abort()
				return err
			}
			v, err := g.CreateToken(cmd.Context(), o, n)
			return a.newToken(sink, v, err, "the server created token %[1]d but returned no secret: revoke it with 'botgate token revoke %[1]d'", "", cliout.Created(o, v))
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "create a personal access token for this user `ID` (admin only)")
	cmd.Flags().StringVar(&n.Name, "name", "", "the token's name: the automation it serves (required)")
	cmd.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes, e.g. read_api or api,read_repository (required)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&level, "access-level", "", "project/group tokens: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}

func (a *apiCmd) tokenRotateCmd() *cobra.Command {
	var t tokenTarget
	var expires, tokenFile string
	cmd := a.command(&cobra.Command{
		Use: "rotate ID|self", Short: "Replace a token with a new secret; the old one stops working", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			ref, err := tokenRef(args[0], o, "rotate")
			if err != nil {
				return err
			}
			exp, err := apiclient.ParseDate("expires-at", expires)
			if err != nil {
				return usage(err)
			}
			r, err := a.resolve()
			if err != nil {
				return err
			}
			sink, err := secretSink(tokenFile)
			if err != nil {
				return err
			}
			g, err := a.newGitLab(r)
			if err != nil {
				sink.Abort()
				return err
			}
			v, err := g.RotateToken(cmd.Context(), o, ref, exp)
			headline := fmt.Sprintf("Rotated token %s: its successor is token %d %q; the old secret no longer works.", ref, v.ID, v.Name)
			stored := ""
			if err == nil && ref.Self {
				// The old token is revoked now: keep the stored credentials working.
				var note string
				stored, note = r.Replace(v.Token)
				if stored != "" {
					headline += " The stored credentials now hold the new token."
				} else if note != "" {
					fmt.Fprintln(a.e.stderr, "botgate:", note)
				}
			}
			return a.newToken(sink, v, err, "the server rotated to token %d but returned no secret: rotate or revoke it", stored, headline)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&expires, "expires-at", "", "the new token's expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the new secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}
