package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// memberView is how the CLI shows a member of a project or group.
type memberView struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	AccessLevel int64   `json:"access_level"`
	Role        string  `json:"role"`
	ExpiresAt   *string `json:"expires_at"`
}

func projectMemberView(x *gitlab.ProjectMember) memberView {
	return memberView{ID: x.ID, Username: x.Username, Name: x.Name, State: x.State,
		AccessLevel: int64(x.AccessLevel), Role: roleName(x.AccessLevel), ExpiresAt: dateString(x.ExpiresAt)}
}

func groupMemberView(x *gitlab.GroupMember) memberView {
	return memberView{ID: x.ID, Username: x.Username, Name: x.Name, State: x.State,
		AccessLevel: int64(x.AccessLevel), Role: roleName(x.AccessLevel), ExpiresAt: dateString(x.ExpiresAt)}
}

// memberTarget is the project or group whose members a command manages.
type memberTarget struct{ project, group string }

func (m *memberTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.project, "project", "", "the project `ID|PATH`")
	cmd.Flags().StringVar(&m.group, "group", "", "the group `ID|PATH`")
}

func (m *memberTarget) check() error {
	if (m.project == "") == (m.group == "") {
		return usageErr("give exactly one of --project or --group")
	}
	return nil
}

func (m *memberTarget) what() string {
	if m.project != "" {
		return describe("project", m.project)
	}
	return describe("group", m.group)
}

// memberExpiry checks --expires-at and returns it as the members API takes
// it: nil when not given.
func memberExpiry(s string) (*string, error) {
	if _, err := parseDate("expires-at", s); err != nil {
		return nil, err
	}
	return optional(s), nil
}

func newMemberCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "member", "List, add and remove members of a project or group", `member manages who belongs to a project or group, and at which role (guest,
planner, reporter, developer, maintainer, owner). Bot users of access tokens are
members too: removing one cuts its token off from the resource.`)
	cmd.AddCommand(a.memberListCmd(), a.memberAddCmd(), a.memberUpdateCmd(), a.memberRemoveCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) memberListCmd() *cobra.Command {
	var m memberTarget
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the direct members of a project or group",
		Example: `  botgate member list --project team-a/app
  botgate member list --group team-a --all --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := m.check(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var views []memberView
			if m.project != "" {
				opt := &gitlab.ListProjectMembersOptions{}
				ms, err := collect(pf, m.what(), func(lo gitlab.ListOptions) ([]*gitlab.ProjectMember, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.ProjectMembers.ListProjectMembers(idOrPath(m.project), opt, ctx)
				})
				if err != nil {
					return err
				}
				views = viewsOf(ms, projectMemberView)
			} else {
				opt := &gitlab.ListGroupMembersOptions{}
				ms, err := collect(pf, m.what(), func(lo gitlab.ListOptions) ([]*gitlab.GroupMember, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.Groups.ListGroupMembers(idOrPath(m.group), opt, ctx)
				})
				if err != nil {
					return err
				}
				views = viewsOf(ms, groupMemberView)
			}
			return writeList(a.e.stdout, asJSON, views, []string{"ID", "USERNAME", "NAME", "ROLE", "STATE", "EXPIRES"},
				func(v memberView) []string {
					exp := "-"
					if v.ExpiresAt != nil {
						exp = *v.ExpiresAt
					}
					return []string{fmt.Sprint(v.ID), v.Username, v.Name, v.Role, v.State, exp}
				})
		},
	}
	m.register(cmd)
	pf.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) memberAddCmd() *cobra.Command {
	var m memberTarget
	var level, expires string
	cmd := &cobra.Command{
		Use:   "add USER",
		Short: "Add a user (ID or username) at a role",
		Example: `  botgate member add alice --project team-a/app --access-level developer
  botgate member add 12 --group team-a --access-level maintainer --expires-at 2027-12-31`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := m.check(); err != nil {
				return err
			}
			if level == "" {
				return usageErr("--access-level is required: guest, planner, reporter, developer, maintainer or owner")
			}
			l, err := parseAccessLevel(level)
			if err != nil {
				return err
			}
			exp, err := memberExpiry(expires)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			uid, err := resolveUser(cmd, c, args[0])
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var v memberView
			if m.project != "" {
				x, resp, err := c.ProjectMembers.AddProjectMember(idOrPath(m.project), &gitlab.AddProjectMemberOptions{UserID: uid, AccessLevel: &l, ExpiresAt: exp}, ctx)
				if err != nil {
					return apiErr(err, resp, m.what()+" or user "+args[0])
				}
				v = projectMemberView(x)
			} else {
				x, resp, err := c.GroupMembers.AddGroupMember(idOrPath(m.group), &gitlab.AddGroupMemberOptions{UserID: &uid, AccessLevel: &l, ExpiresAt: exp}, ctx)
				if err != nil {
					return apiErr(err, resp, m.what()+" or user "+args[0])
				}
				v = groupMemberView(x)
			}
			if asJSON {
				return writeJSON(a.e.stdout, v)
			}
			_, err = fmt.Fprintf(a.e.stdout, "Added %s (user %d) to %s as %s.\n", v.Username, v.ID, m.what(), strings.ToLower(v.Role))
			return err
		},
	}
	m.register(cmd)
	cmd.Flags().StringVar(&level, "access-level", "", "role: guest, planner, reporter, developer, maintainer, owner (or 10-50) (required)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return a.withOutput(cmd)
}

func (a *apiCmd) memberRemoveCmd() *cobra.Command {
	var m memberTarget
	cmd := &cobra.Command{
		Use:   "remove USER",
		Short: "Remove a user (ID or username) from a project or group",
		Example: `  botgate member remove alice --project team-a/app
  botgate member remove 12 --group team-a`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.json(); err != nil {
				return err
			}
			if err := m.check(); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			uid, err := resolveUser(cmd, c, args[0])
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var resp *gitlab.Response
			if m.project != "" {
				resp, err = c.ProjectMembers.DeleteProjectMember(idOrPath(m.project), uid, ctx)
			} else {
				resp, err = c.GroupMembers.RemoveGroupMember(idOrPath(m.group), uid, nil, ctx)
			}
			if err != nil {
				return apiErr(err, resp, fmt.Sprintf("member %s of %s", args[0], m.what()))
			}
			if a.output == "json" {
				return writeJSON(a.e.stdout, map[string]any{"removed": true, "user_id": uid})
			}
			_, err = fmt.Fprintf(a.e.stdout, "Removed user %d from %s.\n", uid, m.what())
			return err
		},
	}
	m.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) memberUpdateCmd() *cobra.Command {
	var m memberTarget
	var level, expires string
	cmd := &cobra.Command{
		Use:   "update USER",
		Short: "Change a member's role or membership expiry",
		Example: `  botgate member update alice --project team-a/app --access-level reporter
  botgate member update 12 --group team-a --access-level developer --expires-at 2027-12-31`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := m.check(); err != nil {
				return err
			}
			if level == "" && expires == "" {
				return usageErr("give --access-level, --expires-at or both")
			}
			var lvl *gitlab.AccessLevelValue
			if level != "" {
				l, err := parseAccessLevel(level)
				if err != nil {
					return err
				}
				lvl = &l
			}
			exp, err := memberExpiry(expires)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			uid, err := resolveUser(cmd, c, args[0])
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			what := fmt.Sprintf("member %s of %s", args[0], m.what())
			var v memberView
			if m.project != "" {
				x, resp, err := c.ProjectMembers.EditProjectMember(idOrPath(m.project), uid, &gitlab.EditProjectMemberOptions{AccessLevel: lvl, ExpiresAt: exp}, ctx)
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = projectMemberView(x)
			} else {
				x, resp, err := c.GroupMembers.EditGroupMember(idOrPath(m.group), uid, &gitlab.EditGroupMemberOptions{AccessLevel: lvl, ExpiresAt: exp}, ctx)
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = groupMemberView(x)
			}
			if asJSON {
				return writeJSON(a.e.stdout, v)
			}
			_, err = fmt.Fprintf(a.e.stdout, "%s (user %d) is now %s of %s.\n", v.Username, v.ID, v.Role, m.what())
			return err
		},
	}
	m.register(cmd)
	cmd.Flags().StringVar(&level, "access-level", "", "new role: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return a.withOutput(cmd)
}
