package main

import (
	"fmt"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// serviceAccountView is how the CLI shows a service account.
type serviceAccountView struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
}

func groupSAView(x *gitlab.GroupServiceAccount) serviceAccountView {
	return serviceAccountView{ID: x.ID, Username: x.UserName, Name: x.Name, Email: x.Email}
}

func projectSAView(x *gitlab.ProjectServiceAccount) serviceAccountView {
	return serviceAccountView{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
}

func instanceSAView(x *gitlab.ServiceAccount) serviceAccountView {
	return serviceAccountView{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
}

// writeServiceAccount writes one service account.
func (a *apiCmd) writeServiceAccount(asJSON bool, v serviceAccountView) error {
	if asJSON {
		return writeJSON(a.e.stdout, v)
	}
	return fields(a.e.stdout, [][2]string{{"ID", fmt.Sprint(v.ID)}, {"Username", v.Username}, {"Name", v.Name}, {"Email", orDash(v.Email)}})
}

// saTarget is where service accounts live: a group, a project, or the
// instance (neither; administrators only).
type saTarget struct{ project, group string }

func (s *saTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.group, "group", "", "the owning group `ID|PATH` (the team)")
	cmd.Flags().StringVar(&s.project, "project", "", "the owning project `ID|PATH`")
}

func (s *saTarget) check() error {
	if s.project != "" && s.group != "" {
		return usageErr("give --group or --project, not both")
	}
	return nil
}

func (s *saTarget) what() string {
	switch {
	case s.group != "":
		return describe("group", s.group)
	case s.project != "":
		return describe("project", s.project)
	}
	return "the instance's service accounts"
}

func newServiceAccountCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "service-account", "List and create service accounts and manage their tokens",
		`service-account manages service accounts: non-human users for automations that
work across several projects, where one project access token cannot serve. A
service account is owned by a team (--group); its Owners and Maintainers manage
it. Without --group or --project, the instance's service accounts (admin only).`)
	cmd.Aliases = []string{"sa"}
	cmd.AddCommand(a.saListCmd(), a.saCreateCmd(), a.saUpdateCmd(), a.saDeleteCmd(), a.saTokenCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) saListCmd() *cobra.Command {
	var s saTarget
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List service accounts",
		Example: `  botgate service-account list --group team-a
  botgate service-account list --project team-a/app --output json
  botgate service-account list                          # instance-wide (admin)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := s.check(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var views []serviceAccountView
			switch {
			case s.group != "":
				opt := &gitlab.ListServiceAccountsOptions{}
				xs, err := collect(pf, s.what(), func(lo gitlab.ListOptions) ([]*gitlab.GroupServiceAccount, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.Groups.ListServiceAccounts(idOrPath(s.group), opt, ctx)
				})
				if err != nil {
					return err
				}
				views = viewsOf(xs, groupSAView)
			case s.project != "":
				opt := &gitlab.ListProjectServiceAccountsOptions{}
				xs, err := collect(pf, s.what(), func(lo gitlab.ListOptions) ([]*gitlab.ProjectServiceAccount, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.Projects.ListProjectServiceAccounts(idOrPath(s.project), opt, ctx)
				})
				if err != nil {
					return err
				}
				views = viewsOf(xs, projectSAView)
			default:
				opt := &gitlab.ListServiceAccountsOptions{}
				xs, err := collect(pf, s.what(), func(lo gitlab.ListOptions) ([]*gitlab.ServiceAccount, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.Users.ListServiceAccounts(opt, ctx)
				})
				if err != nil {
					return err
				}
				views = viewsOf(xs, instanceSAView)
			}
			return writeList(a.e.stdout, asJSON, views, []string{"ID", "USERNAME", "NAME"},
				func(v serviceAccountView) []string { return []string{fmt.Sprint(v.ID), v.Username, v.Name} })
		},
	}
	s.register(cmd)
	pf.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) saCreateCmd() *cobra.Command {
	var s saTarget
	var name, username, email string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a service account owned by a group (team)",
		Example: `  botgate service-account create --group team-a --name release-bot
  botgate service-account create --group team-a --name triage-bot --username triage-bot
  botgate service-account create --name tooling-bot       # instance-wide (admin)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := s.check(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			n, u, m := optional(name), optional(username), optional(email)
			ctx := gitlab.WithContext(cmd.Context())
			var v serviceAccountView
			switch {
			case s.group != "":
				x, resp, err := c.Groups.CreateServiceAccount(idOrPath(s.group), &gitlab.CreateServiceAccountOptions{Name: n, Username: u, Email: m}, ctx)
				if err != nil {
					return apiErr(err, resp, s.what())
				}
				v = groupSAView(x)
			case s.project != "":
				x, resp, err := c.Projects.CreateProjectServiceAccount(idOrPath(s.project), &gitlab.CreateProjectServiceAccountOptions{Name: n, Username: u, Email: m}, ctx)
				if err != nil {
					return apiErr(err, resp, s.what())
				}
				v = projectSAView(x)
			default:
				x, resp, err := c.Users.CreateServiceAccountUser(&gitlab.CreateServiceAccountUserOptions{Name: n, Username: u, Email: m}, ctx)
				if err != nil {
					return apiErr(err, resp, s.what())
				}
				v = serviceAccountView{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Created service account %d %q.\n", v.ID, v.Username)
			}
			return a.writeServiceAccount(asJSON, v)
		},
	}
	s.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "display name: the automation it serves (default: the server's)")
	cmd.Flags().StringVar(&username, "username", "", "username (default: generated by the server)")
	cmd.Flags().StringVar(&email, "email", "", "e-mail (default: a no-reply address)")
	return a.withOutput(cmd)
}

// saTokenCmd is 'service-account token': the token commands with the
// service account as the first argument.
func (a *apiCmd) saTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:  "token",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for %q: see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
		Short: "List, create, rotate and revoke a service account's tokens",
		Long: `token manages a service account's personal access tokens; it is the same as
'botgate token ... --service-account ID'.`,
	}
	cmd.AddCommand(
		saWrap(a.tokenListCmd(), "list SA_ID", 1, `  botgate service-account token list 12 --group team-a
  botgate service-account token list 12 --group team-a --state active --output json`),
		saWrap(a.tokenCreateCmd(), "create SA_ID", 1, `  botgate service-account token create 12 --group team-a --name release --scopes api \
    --expires-at 2027-12-31 --token-file ./release.token`),
		saWrap(a.tokenRotateCmd(), "rotate SA_ID TOKEN_ID", 2, `  botgate service-account token rotate 12 57 --group team-a`),
		saWrap(a.tokenRevokeCmd(), "revoke SA_ID TOKEN_ID", 2, `  botgate service-account token revoke 12 57 --group team-a`),
	)
	return cmd
}

// saWrap turns a token command into its service-account form: the first
// argument becomes --service-account, which is then hidden.
func saWrap(cmd *cobra.Command, use string, nargs int, example string) *cobra.Command {
	inner := cmd.RunE
	cmd.Use, cmd.Example, cmd.Args = use, example, cobra.ExactArgs(nargs)
	_ = cmd.Flags().MarkHidden("service-account")
	if f := cmd.Flags().Lookup("user"); f != nil {
		_ = cmd.Flags().MarkHidden("user")
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := c.Flags().Set("service-account", args[0]); err != nil {
			return usageErr("%v", err)
		}
		if _, err := parseID("SA_ID", args[0]); err != nil {
			return err
		}
		return inner(c, args[1:])
	}
	return cmd
}
