package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// changed returns a pointer to v when the flag was given, else nil, so an
// update sends only what the user changed.
func changed(cmd *cobra.Command, flag, v string) *string {
	if cmd.Flags().Changed(flag) {
		return &v
	}
	return nil
}

// needChange refuses an update that changes nothing.
func needChange(cmd *cobra.Command, flags ...string) error {
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return nil
		}
	}
	return usageErr("nothing to change: give at least one of --%s", strings.Join(flags, ", --"))
}

// namespaceEdit holds the flags of group and project update.
type namespaceEdit struct{ name, path, description, visibility string }

func (n *namespaceEdit) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&n.name, "name", "", "new display name")
	cmd.Flags().StringVar(&n.path, "path", "", "new URL path")
	cmd.Flags().StringVar(&n.description, "description", "", "new description")
	cmd.Flags().StringVar(&n.visibility, "visibility", "", "private, internal or public")
}

// check refuses an update that changes nothing.
func (n *namespaceEdit) check(cmd *cobra.Command) error {
	return needChange(cmd, "name", "path", "description", "visibility")
}

// visibilityChange is the new visibility, or nil when it is not changed.
func (n *namespaceEdit) visibilityChange(cmd *cobra.Command) *gitlab.VisibilityValue {
	if !cmd.Flags().Changed("visibility") {
		return nil
	}
	return gitlab.Ptr(gitlab.VisibilityValue(n.visibility))
}

func (a *apiCmd) groupUpdateCmd() *cobra.Command {
	var n namespaceEdit
	cmd := &cobra.Command{
		Use:   "update ID|PATH",
		Short: "Change a group's name, path, description or visibility",
		Example: `  botgate group update team-a --description "Team A: payments"
  botgate group update 3 --name "Team Alpha" --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := n.check(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			opt := &gitlab.UpdateGroupOptions{Name: changed(cmd, "name", n.name), Path: changed(cmd, "path", n.path),
				Description: changed(cmd, "description", n.description), Visibility: n.visibilityChange(cmd)}
			g, resp, err := c.Groups.UpdateGroup(idOrPath(args[0]), opt, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, describe("group", args[0]))
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Updated group %d %q.\n", g.ID, g.FullPath)
			}
			return a.writeGroup(asJSON, newGroupView(g))
		},
	}
	n.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) projectUpdateCmd() *cobra.Command {
	var n namespaceEdit
	cmd := &cobra.Command{
		Use:   "update ID|PATH",
		Short: "Change a project's name, path, description or visibility",
		Example: `  botgate project update team-a/app --description "the payments API"
  botgate project update 12 --name "App" --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if err := n.check(cmd); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			opt := &gitlab.EditProjectOptions{Name: changed(cmd, "name", n.name), Path: changed(cmd, "path", n.path),
				Description: changed(cmd, "description", n.description), Visibility: n.visibilityChange(cmd)}
			p, resp, err := c.Projects.EditProject(idOrPath(args[0]), opt, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, describe("project", args[0]))
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Updated project %d %q.\n", p.ID, p.PathWithNamespace)
			}
			return a.writeProject(asJSON, newProjectView(p))
		},
	}
	n.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) saUpdateCmd() *cobra.Command {
	var s saTarget
	var name, username, email string
	cmd := &cobra.Command{
		Use:   "update SA_ID",
		Short: "Change a service account's name, username or e-mail",
		Example: `  botgate service-account update 12 --group team-a --name "release bot (v2)"
  botgate service-account update 12 --project team-a/app --username app-release-bot`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			id, err := parseID("SA_ID", args[0])
			if err != nil {
				return err
			}
			if (s.group == "") == (s.project == "") {
				return usageErr("give exactly one of --group or --project")
			}
			if err := needChange(cmd, "name", "username", "email"); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			n, u, m := changed(cmd, "name", name), changed(cmd, "username", username), changed(cmd, "email", email)
			ctx := gitlab.WithContext(cmd.Context())
			what := "service account " + args[0] + " of " + s.what()
			var v serviceAccountView
			if s.group != "" {
				x, resp, err := c.Groups.UpdateServiceAccount(idOrPath(s.group), id, &gitlab.UpdateServiceAccountOptions{Name: n, Username: u, Email: m}, ctx)
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = groupSAView(x)
			} else {
				x, resp, err := c.Projects.UpdateProjectServiceAccount(idOrPath(s.project), id, &gitlab.UpdateProjectServiceAccountOptions{Name: n, Username: u, Email: m}, ctx)
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = projectSAView(x)
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Updated service account %d %q.\n", v.ID, v.Username)
			}
			return a.writeServiceAccount(asJSON, v)
		},
	}
	s.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "new display name")
	cmd.Flags().StringVar(&username, "username", "", "new username")
	cmd.Flags().StringVar(&email, "email", "", "new e-mail")
	return a.withOutput(cmd)
}
