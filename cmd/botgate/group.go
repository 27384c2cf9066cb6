package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// groupView is how the CLI shows a group.
type groupView struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Path        string `json:"path"`
	FullPath    string `json:"full_path"`
	ParentID    int64  `json:"parent_id,omitempty"`
	Description string `json:"description"`
	Visibility  string `json:"visibility"`
	WebURL      string `json:"web_url"`
}

func newGroupView(g *gitlab.Group) groupView {
	return groupView{ID: g.ID, Name: g.Name, Path: g.Path, FullPath: g.FullPath, ParentID: g.ParentID,
		Description: g.Description, Visibility: string(g.Visibility), WebURL: g.WebURL}
}

func (a *apiCmd) writeGroup(asJSON bool, v groupView) error {
	if asJSON {
		return writeJSON(a.e.stdout, v)
	}
	parent := "-"
	if v.ParentID != 0 {
		parent = fmt.Sprint(v.ParentID)
	}
	return fields(a.e.stdout, [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Name", v.Name},
		{"Full path", v.FullPath},
		{"Parent", parent},
		{"Description", orDash(v.Description)},
		{"Visibility", orDash(v.Visibility)},
	})
}

func newGroupCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "group", "List, show and create groups (teams)", `group manages groups and subgroups. A group is a team: it owns projects,
service accounts and group access tokens.`)
	cmd.AddCommand(a.groupListCmd(), a.groupShowCmd(), a.groupCreateCmd(), a.groupUpdateCmd(), a.groupDeleteCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) groupListCmd() *cobra.Command {
	var search, parent string
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the groups you can see, or a group's subgroups",
		Example: `  botgate group list
  botgate group list --search team --all --output json
  botgate group list --parent team-a            # its subgroups`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			opt := &gitlab.ListGroupsOptions{Search: optional(search)}
			ctx := gitlab.WithContext(cmd.Context())
			what := "the group list"
			if parent != "" {
				what = describe("group", parent)
			}
			gs, err := collect(pf, what, func(lo gitlab.ListOptions) ([]*gitlab.Group, *gitlab.Response, error) {
				opt.ListOptions = lo
				if parent != "" {
					return c.Groups.ListSubGroups(idOrPath(parent), (*gitlab.ListSubGroupsOptions)(opt), ctx)
				}
				return c.Groups.ListGroups(opt, ctx)
			})
			if err != nil {
				return err
			}
			return writeList(a.e.stdout, asJSON, viewsOf(gs, newGroupView), []string{"ID", "PATH", "NAME", "VISIBILITY"},
				func(v groupView) []string {
					return []string{fmt.Sprint(v.ID), v.FullPath, v.Name, orDash(v.Visibility)}
				})
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "only groups whose name or path contains this")
	cmd.Flags().StringVar(&parent, "parent", "", "list this group's (`ID|PATH`) direct subgroups")
	pf.register(cmd)
	return a.withOutput(cmd)
}

func (a *apiCmd) groupShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID|PATH",
		Short: "Show a group",
		Example: `  botgate group show team
  botgate group show team/platform --output json
  botgate group show 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			g, resp, err := c.Groups.GetGroup(idOrPath(args[0]), nil, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, describe("group", args[0]))
			}
			return a.writeGroup(asJSON, newGroupView(g))
		},
	}
	return a.withOutput(cmd)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9_.-]+`)

// slug derives a URL path from a name, as GitLab's UI suggests one.
func slug(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-.")
	return s
}

// pathOrSlug returns path, or when it is empty one derived from name.
func pathOrSlug(path, name string) (string, error) {
	if path != "" {
		return path, nil
	}
	if s := slug(name); s != "" {
		return s, nil
	}
	return "", usageErr("cannot derive a path from --name %q: give --path", name)
}

// groupID resolves a group ID or path to its numeric ID.
func groupID(cmd *cobra.Command, c *gitlab.Client, ref string) (int64, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	g, resp, err := c.Groups.GetGroup(ref, nil, gitlab.WithContext(cmd.Context()))
	if err != nil {
		return 0, apiErr(err, resp, describe("group", ref))
	}
	return g.ID, nil
}

func (a *apiCmd) groupCreateCmd() *cobra.Command {
	var name, path, parent, description, visibility string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a group, or a subgroup with --parent",
		Example: `  botgate group create --name "Team A" --path team-a
  botgate group create --name Platform --parent team-a --description "platform tooling"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return usageErr("--name is required")
			}
			if path, err = pathOrSlug(path, name); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			opt := &gitlab.CreateGroupOptions{Name: &name, Path: &path, Description: optional(description)}
			if visibility != "" {
				opt.Visibility = gitlab.Ptr(gitlab.VisibilityValue(visibility))
			}
			what := "the group list"
			if parent != "" {
				pid, err := groupID(cmd, c, parent)
				if err != nil {
					return err
				}
				opt.ParentID = &pid
				what = describe("parent group", parent)
			}
			g, resp, err := c.Groups.CreateGroup(opt, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, what)
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Created group %d %q.\n", g.ID, g.FullPath)
			}
			return a.writeGroup(asJSON, newGroupView(g))
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	cmd.Flags().StringVar(&path, "path", "", "URL path (default: derived from the name)")
	cmd.Flags().StringVar(&parent, "parent", "", "parent group `ID|PATH`: create a subgroup")
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	cmd.Flags().StringVar(&visibility, "visibility", "", "private, internal or public (default: the server's)")
	return a.withOutput(cmd)
}
