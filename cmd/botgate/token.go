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

func newTokenCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "token", "List, create, rotate and revoke access tokens")
	cmd.AddCommand(a.tokenListCmd(), a.tokenShowCmd(), a.tokenCreateCmd(), a.tokenRotateCmd(), a.tokenRevokeCmd(),
		a.tokenUsageCmd(), a.tokenLookupCmd(), a.tokenReissueCmd())
	a.RefineAll(cmd)
	return cmd
}

func (a *apiCmd) tokenListCmd() *cobra.Command {
	var t cli.TokenTarget
	var f apiclient.TokenFilter
	var pf cli.Page
	cmd := a.Command(&cobra.Command{
		Use: "list", Short: "List tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.Owner()
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
	t.Register(cmd)
	cmd.Flags().StringVar(&t.User, "user", "", "list this user's personal access tokens (`ID`; admin only)")
	cmd.Flags().StringVar(&f.State, "state", "", "active or inactive (revoked or expired)")
	cmd.Flags().StringVar(&f.Search, "search", "", "only tokens whose name contains this")
	pf.Register(cmd)
	return cmd
}

func (a *apiCmd) tokenShowCmd() *cobra.Command {
	var t cli.TokenTarget
	cmd := a.Command(&cobra.Command{
		Use: "show ID|self", Short: "Show one token (self: the token in use)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, ref, err := t.OwnerRef(args, "show")
			if err != nil {
				return err
			}
			return cli.OnGitLab(a.API, func(g *apiclient.GitLab) (apiclient.Token, error) { return g.Token(cmd.Context(), o, ref) })
		},
	})
	t.Register(cmd)
	return cmd
}

func (a *apiCmd) tokenRevokeCmd() *cobra.Command {
	var t cli.TokenTarget
	var secretFile string
	cmd := a.Command(&cobra.Command{
		Use: "revoke ID|self", Short: "Revoke a token; a project or group token's bot user is deactivated", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.Owner()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("secret-file") {
				if len(args) != 0 || o.Kind() != apiclient.KindPersonal {
					return cliout.Usagef("--secret-file takes no token ID, --project, --group or --service-account")
				}
				g, secret, err := a.BySecret(secretFile)
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
	t.Register(cmd)
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "revoke the token with the secret in this `FILE` (- for standard input; admin)")
	return cmd
}

func (a *apiCmd) tokenLookupCmd() *cobra.Command {
	var secretFile string
	cmd := a.Command(&cobra.Command{
		Use: "lookup", Short: "Identify a token from its secret (administrators)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, secret, err := a.BySecret(secretFile)
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

func (a *apiCmd) tokenCreateCmd() *cobra.Command {
	var t cli.TokenTarget
	var f apiclient.TokenFlags
	var tokenFile string
	cmd := a.Command(&cobra.Command{
		Use: "create", Short: "Create a token and show its secret once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.Owner()
			if err != nil {
				return err
			}
			n, err := f.Parse(o)
			if err != nil {
				return cliout.Usage(err)
			}
			sink, _, g, err := a.SecretSink(tokenFile)
			if err != nil {
				return err
			}
			v, err := g.CreateToken(cmd.Context(), o, n)
			return a.NewToken(sink, v, err, "the server created token %[1]d but returned no secret: revoke it with 'botgate token revoke %[1]d'", "", cliout.Created(o, v))
		},
	})
	t.Register(cmd)
	cmd.Flags().StringVar(&t.User, "user", "", "create a personal access token for this user `ID` (admin only)")
	cmd.Flags().StringVar(&f.Name, "name", "", "the token's name: the automation it serves (required)")
	cmd.Flags().StringVar(&f.Scopes, "scopes", "", "comma-separated scopes, e.g. read_api or api,read_repository (required)")
	cmd.Flags().StringVar(&f.ExpiresAt, "expires-at", "", "expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&f.Description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&f.AccessLevel, "access-level", "", "project/group tokens: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}

func (a *apiCmd) tokenRotateCmd() *cobra.Command {
	var t cli.TokenTarget
	var expires, tokenFile string
	cmd := a.Command(&cobra.Command{
		Use: "rotate ID|self", Short: "Replace a token with a new secret; the old one stops working", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, ref, err := t.OwnerRef(args, "rotate")
			if err != nil {
				return err
			}
			exp, err := apiclient.ParseDate("expires-at", expires)
			if err != nil {
				return cliout.Usage(err)
			}
			sink, r, g, err := a.SecretSink(tokenFile)
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
			return a.NewToken(sink, v, err, "the server rotated to token %d but returned no secret: rotate or revoke it", stored, cliout.Rotated(ref, v, stored != ""))
		},
	})
	t.Register(cmd)
	cmd.Flags().StringVar(&expires, "expires-at", "", "the new token's expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the new secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}
