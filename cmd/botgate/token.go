package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

// tokenTarget holds the flags that say whose tokens a command is about.
type tokenTarget struct {
	project, group string
	sa             string
	user           string
}

func (t *tokenTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.project, "project", "", "project `ID|PATH`: its project access tokens (with --service-account: that project's service account)")
	cmd.Flags().StringVar(&t.group, "group", "", "group `ID|PATH`: its group access tokens (with --service-account: that group's service account)")
	cmd.Flags().StringVar(&t.sa, "service-account", "", "service account user `ID`: its personal access tokens")
}

// check validates the combination and returns the tokens' owner.
func (t *tokenTarget) check() (apiclient.TokenOwner, error) {
	o := apiclient.TokenOwner{Project: t.project, Group: t.group}
	if t.project != "" && t.group != "" {
		return o, usageErr("give --project or --group, not both")
	}
	if t.sa != "" {
		id, err := parseID("--service-account", t.sa)
		if err != nil {
			return o, err
		}
		if t.user != "" {
			return o, usageErr("give --service-account or --user, not both")
		}
		o.ServiceAccount = id
		return o, nil
	}
	if t.user != "" && (t.project != "" || t.group != "") {
		return o, usageErr("--user is for personal access tokens; drop --project/--group")
	}
	return o, nil
}

// user parses --user, once the client is built.
func (t *tokenTarget) userID(o *apiclient.TokenOwner) (err error) {
	if t.user != "" {
		o.User, err = parseID("--user", t.user)
	}
	return err
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
		a.tokenUsageCmd(), a.tokenLookupCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) tokenListCmd() *cobra.Command {
	var t tokenTarget
	var f apiclient.TokenFilter
	var pf pageFlags
	cmd := a.command(&cobra.Command{
		Use:   "list",
		Short: "List tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.check()
			if err != nil {
				return err
			}
			if f.State != "" && f.State != "active" && f.State != "inactive" {
				return usageErr("--state must be active or inactive, not %q", f.State)
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			if err := t.userID(&o); err != nil {
				return err
			}
			p, err := pf.check()
			if err != nil {
				return err
			}
			vs, err := g.Tokens(cmd.Context(), o, f, p)
			kind := o.Kind()
			return a.render(vs, err, func(w io.Writer) error {
				return apiclient.WriteTokens(w, vs, kind == apiclient.KindProject || kind == apiclient.KindGroup)
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
		Use:   "show ID|self",
		Short: "Show one token (self: the token in use)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.check()
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
			return a.renderOne(v, err, nil)
		},
	})
	t.register(cmd)
	return cmd
}

func (a *apiCmd) tokenRevokeCmd() *cobra.Command {
	var t tokenTarget
	var secretFile string
	cmd := a.command(&cobra.Command{
		Use:   "revoke ID|self",
		Short: "Revoke a token; a project or group token's bot user is deactivated",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.check()
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
				return a.say(map[string]any{"revoked": true}, g.RevokeTokenBySecret(cmd.Context(), secret), "Revoked the token with that secret.")
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
			r, err := apiclient.Resolve(a.e.getenv, a.url)
			if err != nil {
				return cliErr(err)
			}
			g, err := a.newGitLab(r)
			if err != nil {
				return err
			}
			out := map[string]any{"revoked": true, "kind": kind, "id": ref.ID}
			line := fmt.Sprintf("Revoked token %d.", ref.ID)
			switch {
			case ref.Self:
				out["id"], line = "self", "Revoked the token in use."
				if r.TokenSource == apiclient.SourceFile {
					line += fmt.Sprintf("\nThe credentials in %s no longer work: run botgate login with another token.", r.File)
				}
			case kind == apiclient.KindProject || kind == apiclient.KindGroup:
				line = fmt.Sprintf("Revoked %s access token %d of %s; its bot user is deactivated.", kind, ref.ID, o)
			}
			return a.say(out, g.RevokeToken(cmd.Context(), o, ref), line)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "revoke the token with the secret in this `FILE` (- for standard input; admin)")
	return cmd
}

// bySecret reads a token's secret from secretFile (or standard input) and
// builds the client for a call to /admin/token with it.
func (a *apiCmd) bySecret(secretFile string) (*apiclient.GitLab, string, error) {
	secret, err := readToken(a.e, secretFile, false)
	if err != nil {
		return nil, "", err
	}
	g, err := a.gitlab()
	return g, secret, err
}

func (a *apiCmd) tokenLookupCmd() *cobra.Command {
	var secretFile string
	cmd := a.command(&cobra.Command{
		Use:   "lookup",
		Short: "Identify a token from its secret (administrators)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, secret, err := a.bySecret(secretFile)
			if err != nil {
				return err
			}
			v, err := g.LookupToken(cmd.Context(), secret)
			return a.renderOne(v, err, nil)
		},
	})
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "read the secret from this `FILE`; - or omitted reads standard input")
	return cmd
}

func (a *apiCmd) tokenUsageCmd() *cobra.Command {
	return a.command(&cobra.Command{
		Use:   "usage ID",
		Short: "Show how a token was used through the gateway",
		Args:  cobra.ExactArgs(1),
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
			return a.render(u, err, func(w io.Writer) error { return apiclient.WriteTokenUsage(w, u) })
		},
	})
}
