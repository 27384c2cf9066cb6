package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
)

// secretSink is where a new token's secret goes: stdout, or a 0600 file
// created (empty) before the API call, so that a secret is never lost to a
// file that cannot be written after the token already exists.
type secretSink struct {
	path string
	f    *os.File
}

func openSecretSink(path string) (*secretSink, error) {
	if path == "" {
		return &secretSink{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usageErr("--token-file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return nil, usageErr("--token-file: %v", err)
	}
	return &secretSink{path: path, f: f}, nil
}

// abort removes the unused file after a failed call.
func (s *secretSink) abort() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.path)
	}
}

// store writes the secret to the file and clears it from v; without a file
// it leaves v.Token for the output.
func (s *secretSink) store(v *tokenView) error {
	if s.f == nil {
		return nil
	}
	_, err := s.f.WriteString(v.Token + "\n")
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The token exists; do not lose its secret.
		return cliErr(botgate.Errorf(botgate.KindInternal,
			"token %d was created but writing %s failed (%v): revoke it with 'botgate token revoke %d'", v.ID, s.path, err, v.ID))
	}
	v.Token, v.TokenFile = "", s.path
	return nil
}

// printSecret ends a create or rotate: the token's details, then the secret
// (or where it was written), once.
func printSecret(a *apiCmd, v tokenView, asJSON bool, headline string) error {
	if asJSON {
		return writeJSON(a.e.stdout, v)
	}
	fmt.Fprintln(a.e.stdout, headline)
	if err := tokenFields(a, v); err != nil {
		return err
	}
	if v.TokenFile != "" {
		fmt.Fprintf(a.e.stdout, "Token written to %s (mode 0600).\n", v.TokenFile)
		return nil
	}
	_, err := fmt.Fprintf(a.e.stdout, "Token (shown once, store it now):\n%s\n", v.Token)
	return err
}

func (a *apiCmd) tokenCreateCmd() *cobra.Command {
	var t tokenTarget
	var name, scopes, expires, description, level, tokenFile string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token and show its secret once",
		Long: `create makes a token and shows its secret once (or writes it to --token-file,
mode 0600). Without --project, --group or --service-account it makes a personal
access token for you (or, with --user, for another user: admin only).

A project access token creates a bot user that is a member of that project only,
at --access-level: give each automation its own, with the lowest role and the
fewest scopes it needs. A token cannot exceed its creator's own role.`,
		Example: `  # a read-only project token for a CI automation, written straight to a file
  botgate token create --project team/app --name ci-reader --scopes read_api \
    --access-level reporter --expires-at 2027-12-31 --token-file ./ci-reader.token

  botgate token create --group team --name triage-bot --scopes api --access-level developer
  botgate token create --name laptop --scopes read_api --expires-at 2027-06-30
  botgate token create --user 7 --name backup --scopes read_api              # admin
  botgate token create --service-account 12 --group team --name release --scopes api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			kind, err := t.check()
			if err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return usageErr("--name is required: name the automation the token serves, e.g. --name ci-deploy")
			}
			sc, err := parseScopes(scopes)
			if err != nil {
				return err
			}
			exp, err := parseDate("expires-at", expires)
			if err != nil {
				return err
			}
			var lvl *gitlab.AccessLevelValue
			switch {
			case kind == kindProject || kind == kindGroup:
				if level == "" {
					return usageErr("--access-level is required for a %s access token: the lowest role the automation needs, e.g. reporter to read or developer to push", kind)
				}
				l, err := parseAccessLevel(level)
				if err != nil {
					return err
				}
				lvl = &l
			case level != "":
				return usageErr("--access-level applies to project and group access tokens only")
			}
			desc := optional(description)
			sink, err := openSecretSink(tokenFile)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				sink.abort()
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var v tokenView
			var resp *gitlab.Response
			var what string
			switch kind {
			case kindPersonal:
				var x *gitlab.PersonalAccessToken
				if t.user != "" {
					uid, perr := parseID("--user", t.user)
					if perr != nil {
						sink.abort()
						return perr
					}
					what = "user " + t.user
					x, resp, err = c.Users.CreatePersonalAccessToken(uid, &gitlab.CreatePersonalAccessTokenOptions{
						Name: &name, Description: desc, Scopes: &sc, ExpiresAt: exp}, ctx)
				} else {
					what = "the current user"
					x, resp, err = c.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
						Name: &name, Description: desc, Scopes: &sc, ExpiresAt: exp}, ctx)
				}
				if err == nil {
					v = patView(x, kind)
				}
			case kindProject:
				what = describe("project", t.project)
				var x *gitlab.ProjectAccessToken
				x, resp, err = c.ProjectAccessTokens.CreateProjectAccessToken(idOrPath(t.project), &gitlab.CreateProjectAccessTokenOptions{
					Name: &name, Description: desc, Scopes: &sc, AccessLevel: lvl, ExpiresAt: exp}, ctx)
				if err == nil {
					v = resourceView(&x.PersonalAccessToken, x.AccessLevel, kind)
				}
			case kindGroup:
				what = describe("group", t.group)
				var x *gitlab.GroupAccessToken
				x, resp, err = c.GroupAccessTokens.CreateGroupAccessToken(idOrPath(t.group), &gitlab.CreateGroupAccessTokenOptions{
					Name: &name, Description: desc, Scopes: &sc, AccessLevel: lvl, ExpiresAt: exp}, ctx)
				if err == nil {
					v = resourceView(&x.PersonalAccessToken, x.AccessLevel, kind)
				}
			default:
				uid := t.saID()
				what = t.owner()
				var x *gitlab.PersonalAccessToken
				switch {
				case t.group != "":
					x, resp, err = c.Groups.CreateServiceAccountPersonalAccessToken(idOrPath(t.group), uid, &gitlab.CreateServiceAccountPersonalAccessTokenOptions{
						Name: &name, Description: desc, Scopes: &sc, ExpiresAt: exp}, ctx)
				case t.project != "":
					x, resp, err = c.Projects.CreateProjectServiceAccountPersonalAccessToken(idOrPath(t.project), uid, &gitlab.CreateProjectServiceAccountPersonalAccessTokenOptions{
						Name: &name, Description: desc, Scopes: &sc, ExpiresAt: exp}, ctx)
				default:
					x, resp, err = c.Users.CreatePersonalAccessToken(uid, &gitlab.CreatePersonalAccessTokenOptions{
						Name: &name, Description: desc, Scopes: &sc, ExpiresAt: exp}, ctx)
				}
				if err == nil {
					v = patView(x, kind)
				}
			}
			if err != nil {
				sink.abort()
				return apiErr(err, resp, what)
			}
			if v.Token == "" {
				sink.abort()
				return cliErr(botgate.Errorf(botgate.KindInternal, "the server created token %d but returned no secret: revoke it with 'botgate token revoke %d'", v.ID, v.ID))
			}
			if err := sink.store(&v); err != nil {
				return err
			}
			headline := fmt.Sprintf("Created %s token %d %q.", strings.ReplaceAll(kind, "_", " "), v.ID, v.Name)
			if kind == kindProject || kind == kindGroup {
				headline = fmt.Sprintf("Created %s access token %d %q for %s; its bot user is %d.", kind, v.ID, v.Name, t.owner(), v.UserID)
			}
			return printSecret(a, v, asJSON, headline)
		},
	}
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "create a personal access token for this user `ID` (admin only)")
	cmd.Flags().StringVar(&name, "name", "", "the token's name: the automation it serves (required)")
	cmd.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes, e.g. read_api or api,read_repository (required)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&level, "access-level", "", "project/group tokens: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the secret to this new `FILE` (mode 0600) instead of printing it")
	return a.withOutput(cmd)
}

func (a *apiCmd) tokenRotateCmd() *cobra.Command {
	var t tokenTarget
	var expires, tokenFile string
	cmd := &cobra.Command{
		Use:   "rotate ID|self",
		Short: "Replace a token with a new secret; the old one stops working",
		Long: `rotate revokes a token and creates its successor (same name, scopes, bot user)
with a new secret, shown once. Presenting the old token again to rotate revokes
the whole family: that is how botgate notices a stolen copy.

'self' rotates the token in use. When that is the token stored by botgate login,
the stored credentials are updated with the new token.`,
		Example: `  botgate token rotate 42 --expires-at 2027-12-31
  botgate token rotate 42 --project team/app --token-file ./ci-reader.token.new
  botgate token rotate self`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			kind, err := t.check()
			if err != nil {
				return err
			}
			ref := args[0]
			id, self, err := tokenRef(ref, kind, "rotate")
			if err != nil {
				return err
			}
			exp, err := parseDate("expires-at", expires)
			if err != nil {
				return err
			}
			r, err := apiclient.Resolve(a.e.getenv, a.url)
			if err != nil {
				return cliErr(err)
			}
			updateStored := self && r.TokenSource == apiclient.SourceFile
			sink, err := openSecretSink(tokenFile)
			if err != nil {
				return err
			}
			c, err := a.newClient(r)
			if err != nil {
				sink.abort()
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			what := t.tokenWhat(ref)
			var v tokenView
			var resp *gitlab.Response
			switch {
			case t.personalAPI(kind):
				var x *gitlab.PersonalAccessToken
				if self {
					x, resp, err = c.PersonalAccessTokens.RotatePersonalAccessTokenSelf(&gitlab.RotatePersonalAccessTokenOptions{ExpiresAt: exp}, ctx)
				} else {
					x, resp, err = c.PersonalAccessTokens.RotatePersonalAccessTokenByID(id, &gitlab.RotatePersonalAccessTokenOptions{ExpiresAt: exp}, ctx)
				}
				if err == nil {
					v = patView(x, kind)
				}
			case kind == kindProject:
				var x *gitlab.ProjectAccessToken
				o := &gitlab.RotateProjectAccessTokenOptions{ExpiresAt: exp}
				if self {
					x, resp, err = c.ProjectAccessTokens.RotateProjectAccessTokenSelf(idOrPath(t.project), o, ctx)
				} else {
					x, resp, err = c.ProjectAccessTokens.RotateProjectAccessToken(idOrPath(t.project), id, o, ctx)
				}
				if err == nil {
					v = resourceView(&x.PersonalAccessToken, x.AccessLevel, kind)
				}
			case kind == kindGroup:
				var x *gitlab.GroupAccessToken
				o := &gitlab.RotateGroupAccessTokenOptions{ExpiresAt: exp}
				if self {
					x, resp, err = c.GroupAccessTokens.RotateGroupAccessTokenSelf(idOrPath(t.group), o, ctx)
				} else {
					x, resp, err = c.GroupAccessTokens.RotateGroupAccessToken(idOrPath(t.group), id, o, ctx)
				}
				if err == nil {
					v = resourceView(&x.PersonalAccessToken, x.AccessLevel, kind)
				}
			default:
				uid := t.saID()
				var x *gitlab.PersonalAccessToken
				if t.group != "" {
					x, resp, err = c.Groups.RotateServiceAccountPersonalAccessToken(idOrPath(t.group), uid, id,
						&gitlab.RotateServiceAccountPersonalAccessTokenOptions{ExpiresAt: exp}, ctx)
				} else {
					x, resp, err = c.Projects.RotateProjectServiceAccountPersonalAccessToken(idOrPath(t.project), uid, id,
						&gitlab.RotateProjectServiceAccountPersonalAccessTokenOptions{ExpiresAt: exp}, ctx)
				}
				if err == nil {
					v = patView(x, kind)
				}
			}
			if err != nil {
				sink.abort()
				return apiErr(err, resp, what)
			}
			if v.Token == "" {
				sink.abort()
				return cliErr(botgate.Errorf(botgate.KindInternal, "the server rotated to token %d but returned no secret: rotate or revoke it", v.ID))
			}
			headline := fmt.Sprintf("Rotated token %s: its successor is token %d %q; the old secret no longer works.", ref, v.ID, v.Name)
			stored := false
			if updateStored {
				// The old token is revoked now: keep the stored credentials working.
				if err := apiclient.SaveCredentials(r.File, apiclient.Credentials{URL: r.URL, Token: v.Token}); err != nil {
					// Do not lose the new secret: it is shown below.
					fmt.Fprintf(a.e.stderr, "botgate: could not update %s: %v\n", r.File, err)
				} else {
					stored = true
					headline += " The stored credentials now hold the new token."
				}
			}
			if err := sink.store(&v); err != nil {
				return err
			}
			if stored && v.TokenFile == "" {
				v.Token, v.TokenFile = "", r.File
			}
			if self && r.TokenSource == apiclient.SourceEnv {
				fmt.Fprintf(a.e.stderr, "botgate: %s still holds the old, now revoked token: replace it with the new one\n", apiclient.EnvToken)
			}
			return printSecret(a, v, asJSON, headline)
		},
	}
	t.register(cmd)
	cmd.Flags().StringVar(&expires, "expires-at", "", "the new token's expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the new secret to this new `FILE` (mode 0600) instead of printing it")
	return a.withOutput(cmd)
}

func (a *apiCmd) tokenRevokeCmd() *cobra.Command {
	var t tokenTarget
	var secretFile string
	cmd := &cobra.Command{
		Use:   "revoke ID|self",
		Short: "Revoke a token; a project or group token's bot user is deactivated",
		Long: `revoke revokes a token by its ID, or the token in use ('self'). Administrators
can also revoke a token by its secret, e.g. one found leaked, with --secret-file
(DELETE /admin/token).`,
		Example: `  botgate token revoke 42
  botgate token revoke 42 --project team/app
  botgate token revoke 57 --service-account 12 --group team
  botgate token revoke self
  botgate token revoke --secret-file ./leaked.txt      # admin`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			kind, err := t.check()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("secret-file") {
				if len(args) != 0 || kind != kindPersonal {
					return usageErr("--secret-file takes no token ID, --project, --group or --service-account")
				}
				return a.revokeBySecret(cmd, secretFile, asJSON)
			}
			if len(args) != 1 {
				return usageErr("give the token ID, or self, or --secret-file")
			}
			ref := args[0]
			self := ref == "self"
			var id int64
			if self {
				if kind != kindPersonal {
					return usageErr("'self' revokes the token in use, whatever its kind: drop --project, --group and --service-account")
				}
			} else if id, err = parseID("the token ID", ref); err != nil {
				return err
			}
			r, err := apiclient.Resolve(a.e.getenv, a.url)
			if err != nil {
				return cliErr(err)
			}
			c, err := a.newClient(r)
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var resp *gitlab.Response
			switch {
			case self:
				resp, err = c.PersonalAccessTokens.RevokePersonalAccessTokenSelf(ctx)
			case t.personalAPI(kind):
				resp, err = c.PersonalAccessTokens.RevokePersonalAccessTokenByID(id, ctx)
			case kind == kindProject:
				resp, err = c.ProjectAccessTokens.RevokeProjectAccessToken(idOrPath(t.project), id, ctx)
			case kind == kindGroup:
				resp, err = c.GroupAccessTokens.RevokeGroupAccessToken(idOrPath(t.group), id, ctx)
			case t.group != "":
				uid := t.saID()
				resp, err = c.Groups.RevokeServiceAccountPersonalAccessToken(idOrPath(t.group), uid, id, ctx)
			default:
				uid := t.saID()
				resp, err = c.Projects.RevokeProjectServiceAccountPersonalAccessToken(idOrPath(t.project), uid, id, ctx)
			}
			if err != nil {
				return apiErr(err, resp, t.tokenWhat(ref))
			}
			if asJSON {
				out := map[string]any{"revoked": true, "kind": kind, "id": id}
				if self {
					out["id"] = "self"
				}
				return writeJSON(a.e.stdout, out)
			}
			switch {
			case self:
				fmt.Fprintln(a.e.stdout, "Revoked the token in use.")
				if r.TokenSource == apiclient.SourceFile {
					fmt.Fprintf(a.e.stdout, "The credentials in %s no longer work: run botgate login with another token.\n", r.File)
				}
			case kind == kindProject || kind == kindGroup:
				fmt.Fprintf(a.e.stdout, "Revoked %s access token %d of %s; its bot user is deactivated.\n", kind, id, t.owner())
			default:
				fmt.Fprintf(a.e.stdout, "Revoked token %d.\n", id)
			}
			return nil
		},
	}
	t.register(cmd)
	if cmd.Flags().Lookup("secret-file") == nil {
		cmd.Flags().StringVar(&secretFile, "secret-file", "", "revoke the token with the secret in this `FILE` (- for standard input; admin)")
	}
	return a.withOutput(cmd)
}
