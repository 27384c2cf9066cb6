package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// projectView is how the CLI shows a project.
type projectView struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Path              string     `json:"path"`
	PathWithNamespace string     `json:"path_with_namespace"`
	NamespaceID       int64      `json:"namespace_id,omitempty"`
	Description       string     `json:"description"`
	Visibility        string     `json:"visibility"`
	WebURL            string     `json:"web_url"`
	CreatedAt         *time.Time `json:"created_at"`
}

func newProjectView(p *gitlab.Project) projectView {
	v := projectView{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: p.PathWithNamespace,
		Description: p.Description, Visibility: string(p.Visibility), WebURL: p.WebURL, CreatedAt: p.CreatedAt}
	if p.Namespace != nil {
		v.NamespaceID = p.Namespace.ID
	}
	return v
}

func (a *apiCmd) writeProject(asJSON bool, v projectView) error {
	if asJSON {
		return writeJSON(a.e.stdout, v)
	}
	return fields(a.e.stdout, [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Name", v.Name},
		{"Path", v.PathWithNamespace},
		{"Namespace", fmt.Sprint(v.NamespaceID)},
		{"Description", orDash(v.Description)},
		{"Visibility", orDash(v.Visibility)},
		{"Created", fmtTime(v.CreatedAt)},
	})
}

func newProjectCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "project", "List, show and create projects", `project manages projects. Give each automation working on a project its own
project access token: 'botgate token create --project PATH ...'.`)
	cmd.AddCommand(a.projectListCmd(), a.projectShowCmd(), a.projectCreateCmd(), a.projectUpdateCmd(), a.projectDeleteCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) projectListCmd() *cobra.Command {
	var search, group string
	var membership bool
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the projects you can see, or a group's",
		Example: `  botgate project list
  botgate project list --search app --all --output json
  botgate project list --group team-a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			opt := &gitlab.ListProjectsOptions{Search: optional(search)}
			if membership {
				opt.Membership = gitlab.Ptr(true)
			}
			ctx := gitlab.WithContext(cmd.Context())
			what := "the project list"
			if group != "" {
				what = describe("group", group)
			}
			ps, err := collect(pf, what, func(lo gitlab.ListOptions) ([]*gitlab.Project, *gitlab.Response, error) {
				opt.ListOptions = lo
				if group != "" {
					return c.Groups.ListGroupProjects(idOrPath(group), &gitlab.ListGroupProjectsOptions{ListOptions: lo, Search: opt.Search}, ctx)
				}
				return c.Projects.ListProjects(opt, ctx)
			})
			if err != nil {
				return err
			}
			return writeList(a.e.stdout, asJSON, viewsOf(ps, newProjectView), []string{"ID", "PATH", "NAME", "VISIBILITY"},
				func(v projectView) []string {
					return []string{fmt.Sprint(v.ID), v.PathWithNamespace, v.Name, orDash(v.Visibility)}
				})
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "only projects whose name contains this")
	cmd.Flags().BoolVar(&membership, "membership", false, "only projects you are a member of")
	cmd.Flags().StringVar(&group, "group", "", "only this group's (`ID|PATH`) projects")
	pf.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) projectShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID|PATH",
		Short: "Show a project",
		Example: `  botgate project show team-a/app
  botgate project show 12 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			p, resp, err := c.Projects.GetProject(idOrPath(args[0]), nil, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, describe("project", args[0]))
			}
			return a.writeProject(asJSON, newProjectView(p))
		},
	}
	return a.withOutput(cmd)
}

func (a *apiCmd) projectCreateCmd() *cobra.Command {
	var name, path, namespace, description, visibility string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a project in a group",
		Example: `  botgate project create --namespace team-a --name app
  botgate project create --namespace team-a/platform --name "Release tools" --path release-tools`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return usageErr("--name is required")
			}
			if namespace == "" {
				return usageErr("--namespace is required: the group (ID or path) the project belongs to")
			}
			if path, err = pathOrSlug(path, name); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			nid, err := groupID(cmd, c, namespace)
			if err != nil {
				return err
			}
			opt := &gitlab.CreateProjectOptions{Name: &name, Path: &path, NamespaceID: &nid, Description: optional(description)}
			if visibility != "" {
				opt.Visibility = gitlab.Ptr(gitlab.VisibilityValue(visibility))
			}
			p, resp, err := c.Projects.CreateProject(opt, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, describe("group", namespace))
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Created project %d %q.\n", p.ID, p.PathWithNamespace)
			}
			return a.writeProject(asJSON, newProjectView(p))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	cmd.Flags().StringVar(&path, "path", "", "URL path (default: derived from the name)")
	cmd.Flags().StringVar(&namespace, "namespace", "", "the group `ID|PATH` to create it in (required)")
	cmd.Flags().StringVar(&description, "description", "", "what the project is for")
	cmd.Flags().StringVar(&visibility, "visibility", "", "private, internal or public (default: the server's)")
	return a.withOutput(cmd)
}
