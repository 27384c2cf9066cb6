package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cli"
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
	return o, cliout.Usage(err)
}

// ownerRef is the owner and the token that args[0] names (ID or self).
func (t *tokenTarget) ownerRef(args []string, verb string) (apiclient.TokenOwner, apiclient.TokenRef, error) {
	o, err := t.owner()
	if err != nil {
		return o, apiclient.TokenRef{}, err
	}
	ref, err := apiclient.ParseTokenRef(args[0], o, verb)
	return o, ref, cliout.Usage(err)
}

func newTokenCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "token", "List, create, rotate and revoke access tokens")
	cmd.AddCommand(a.tokenListCmd(), a.tokenShowCmd(), a.tokenCreateCmd(), a.tokenRotateCmd(), a.tokenRevokeCmd(),
		a.tokenUsageCmd(), a.tokenLookupCmd(), a.tokenReissueCmd())
	a.RefineAll(cmd)
	return cmd
}

func (a *apiCmd) tokenListCmd() *cobra.Command {
	var t tokenTarget
	var f apiclient.TokenFilter
	var pf cli.Page
	cmd := a.Command(&cobra.Command{
		Use: "list", Short: "List tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			if err := cliout.Usage(f.CheckState()); err != nil {
				return err
			}
			p, err := pf.Check()
			if err != nil {
				return err
			}
			g, err := a.GitLab()
			if err != nil {
				return err
			}
			vs, err := g.Tokens(cmd.Context(), o, f, p)
			return a.Show(vs, err, func(w io.Writer) error {
				return cliout.Tokens(w, vs, o.Kind() == apiclient.KindProject || o.Kind() == apiclient.KindGroup)
			})
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "list this user's personal access tokens (`ID`; admin only)")
	cmd.Flags().StringVar(&f.State, "state", "", "active or inactive (revoked or expired)")
	cmd.Flags().StringVar(&f.Search, "search", "", "only tokens whose name contains this")
	pf.Register(cmd)
	return cmd
}

func (a *apiCmd) tokenShowCmd() *cobra.Command {
	var t tokenTarget
	cmd := a.Command(&cobra.Command{
		Use: "show ID|self", Short: "Show one token (self: the token in use)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, ref, err := t.ownerRef(args, "show")
			if err != nil {
				return err
			}
			return cli.OnGitLab(a.API, func(g *apiclient.GitLab) (apiclient.Token, error) { return g.Token(cmd.Context(), o, ref) })
		},
	})
	t.register(cmd)
	return cmd
}

func (a *apiCmd) tokenRevokeCmd() *cobra.Command {
	var t tokenTarget
	var secretFile string
	cmd := a.Command(&cobra.Command{
		Use: "revoke ID|self", Short: "Revoke a token; a project or group token's bot user is deactivated", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("secret-file") {
				if len(args) != 0 || o.Kind() != apiclient.KindPersonal {
					return cliout.Usagef("--secret-file takes no token ID, --project, --group or --service-account")
				}
				g, secret, err := a.bySecret(secretFile)
				if err != nil {
					return err
				}
				return a.Show(map[string]any{"revoked": true}, g.RevokeTokenBySecret(cmd.Context(), secret), cliout.Line("Revoked the token with that secret."))
			}
			ref, err := apiclient.ParseRevokeRef(args, o)
			if err != nil {
				return cliout.Usage(err)
			}
			r, g, err := a.ResolveGitLab()
			if err != nil {
				return err
			}
			out, text := cliout.Revoked(o, ref, r)
			return a.Show(out, g.RevokeToken(cmd.Context(), o, ref), text)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "revoke the token with the secret in this `FILE` (- for standard input; admin)")
	return cmd
}

// bySecret reads a token's secret from secretFile (or standard input) and
// builds the client for a call to /admin/token with it.
func (a *apiCmd) bySecret(secretFile string) (*apiclient.GitLab, string, error) {
	secret, err := apiclient.ReadToken(a.Stdin, a.Stderr, secretFile, false)
	if err != nil {
		return nil, "", cliout.Usage(err)
	}
	g, err := a.GitLab()
	return g, secret, err
}

func (a *apiCmd) tokenLookupCmd() *cobra.Command {
	var secretFile string
	cmd := a.Command(&cobra.Command{
		Use: "lookup", Short: "Identify a token from its secret (administrators)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, secret, err := a.bySecret(secretFile)
			if err != nil {
				return err
			}
			v, err := g.LookupToken(cmd.Context(), secret)
			return a.Show(v, err, nil)
		},
	})
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this `FILE`; - or omitted reads standard input")
	return cmd
}

func (a *apiCmd) tokenUsageCmd() *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "usage ID", Short: "Show how a token was used through the gateway", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := cli.ParseID("the token ID", args[0])
			if err != nil {
				return err
			}
			return cli.OnV1(a.API, func(c *apiclient.V1) (*apiwire.TokenUsage, error) { return c.TokenUsage(cmd.Context(), id) })
		},
	})
}

// newToken ends a create or rotate: the secret goes to sink's file, or is
// shown once, after headline and the token's details.
func (a *apiCmd) newToken(sink *cliout.SecretFile, v apiclient.Token, err error, fail, stored, headline string) error {
	if err := sink.Finish(&v, err, fail, stored); err != nil {
		return cliout.Fail(err)
	}
	return a.Show(v, nil, cliout.NewSecret(v, headline))
}

// secretSink creates --token-file, if given, before the call, and then
// resolves the connection.
func (a *apiCmd) secretSink(path string) (*cliout.SecretFile, apiclient.Resolved, *apiclient.GitLab, error) {
	s, err := cliout.CreateSecretFile(path)
	if err != nil {
		return nil, apiclient.Resolved{}, nil, cliout.Usage(err)
	}
	r, g, err := a.ResolveGitLab()
	if err != nil {
		s.Abort()
	}
	return s, r, g, err
}

func (a *apiCmd) tokenCreateCmd() *cobra.Command {
	var t tokenTarget
	var f apiclient.TokenFlags
	var tokenFile string
	cmd := a.Command(&cobra.Command{
		Use: "create", Short: "Create a token and show its secret once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.owner()
			if err != nil {
				return err
			}
			n, err := f.Parse(o)
			if err != nil {
				return cliout.Usage(err)
			}
			sink, _, g, err := a.secretSink(tokenFile)
			if err != nil {
				return err
			}
			v, err := g.CreateToken(cmd.Context(), o, n)
			return a.newToken(sink, v, err, "the server created token %[1]d but returned no secret: revoke it with 'botgate token revoke %[1]d'", "", cliout.Created(o, v))
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "create a personal access token for this user `ID` (admin only)")
	cmd.Flags().StringVar(&f.Name, "name", "", "the token's name: the automation it serves (required)")
	cmd.Flags().StringVar(&f.Scopes, "scopes", "", "comma-separated scopes, e.g. read_api or api,read_repository (required)")
	cmd.Flags().StringVar(&f.ExpiresAt, "expires-at", "", "expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&f.Description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&f.AccessLevel, "access-level", "", "project/group tokens: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}

func (a *apiCmd) tokenRotateCmd() *cobra.Command {
	var t tokenTarget
	var expires, tokenFile string
	cmd := a.Command(&cobra.Command{
		Use: "rotate ID|self", Short: "Replace a token with a new secret; the old one stops working", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, ref, err := t.ownerRef(args, "rotate")
			if err != nil {
				return err
			}
			exp, err := apiclient.ParseDate("expires-at", expires)
			if err != nil {
				return cliout.Usage(err)
			}
			sink, r, g, err := a.secretSink(tokenFile)
			if err != nil {
				return err
			}
			v, err := g.RotateToken(cmd.Context(), o, ref, exp)
			stored, note := "", ""
			if err == nil && ref.Self {
				// The old token is revoked now: keep the stored credentials working.
				if stored, note = r.Replace(v.Token); note != "" && stored == "" {
					fmt.Fprintln(a.Stderr, "botgate:", note)
				}
			}
			return a.newToken(sink, v, err, "the server rotated to token %d but returned no secret: rotate or revoke it", stored, cliout.Rotated(ref, v, stored != ""))
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&expires, "expires-at", "", "the new token's expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the new secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}
