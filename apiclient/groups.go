package apiclient

import (
	"context"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// Group is how the CLI shows a group.
type Group struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Path        string `json:"path"`
	FullPath    string `json:"full_path"`
	ParentID    int64  `json:"parent_id,omitempty"`
	Description string `json:"description"`
	Visibility  string `json:"visibility"`
	WebURL      string `json:"web_url"`
}

func groupView(g *gitlab.Group) Group {
	return Group{ID: g.ID, Name: g.Name, Path: g.Path, FullPath: g.FullPath, ParentID: g.ParentID,
		Description: g.Description, Visibility: string(g.Visibility), WebURL: g.WebURL}
}

// Project is how the CLI shows a project.
type Project struct {
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

func projectView(p *gitlab.Project) Project {
	v := Project{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: p.PathWithNamespace,
		Description: p.Description, Visibility: string(p.Visibility), WebURL: p.WebURL, CreatedAt: p.CreatedAt}
	if p.Namespace != nil {
		v.NamespaceID = p.Namespace.ID
	}
	return v
}

// NamespaceFilter narrows a group or project list. Within is the parent
// group (for groups) or the owning group (for projects).
type NamespaceFilter struct {
	Search, Within string
	Membership     bool
}

// Groups lists the groups the token can see, or Within's subgroups.
func (g *GitLab) Groups(ctx context.Context, f NamespaceFilter, p Page) ([]Group, error) {
	opt := &gitlab.ListGroupsOptions{Search: optional(f.Search)}
	what := "the group list"
	if f.Within != "" {
		what = Describe("group", f.Within)
	}
	return collect(p, what, groupView, func(lo gitlab.ListOptions) ([]*gitlab.Group, *gitlab.Response, error) {
		opt.ListOptions = lo
		if f.Within != "" {
			return g.c.Groups.ListSubGroups(IDOrPath(f.Within), (*gitlab.ListSubGroupsOptions)(opt), gitlab.WithContext(ctx))
		}
		return g.c.Groups.ListGroups(opt, gitlab.WithContext(ctx))
	})
}

// Projects lists the projects the token can see, or Within's.
func (g *GitLab) Projects(ctx context.Context, f NamespaceFilter, p Page) ([]Project, error) {
	opt := &gitlab.ListProjectsOptions{Search: optional(f.Search)}
	if f.Membership {
		opt.Membership = gitlab.Ptr(true)
	}
	what := "the project list"
	if f.Within != "" {
		what = Describe("group", f.Within)
	}
	return collect(p, what, projectView, func(lo gitlab.ListOptions) ([]*gitlab.Project, *gitlab.Response, error) {
		lo.OrderBy, lo.Sort = oldestFirst() // GitLab's default is newest first
		opt.ListOptions = lo
		if f.Within != "" {
			return g.c.Groups.ListGroupProjects(IDOrPath(f.Within), &gitlab.ListGroupProjectsOptions{ListOptions: lo, Search: opt.Search}, gitlab.WithContext(ctx))
		}
		return g.c.Projects.ListProjects(opt, gitlab.WithContext(ctx))
	})
}

// Group returns a group by ID or path.
func (g *GitLab) Group(ctx context.Context, ref string) (Group, error) {
	x, resp, err := g.c.Groups.GetGroup(IDOrPath(ref), nil, gitlab.WithContext(ctx))
	return one(x, resp, err, Describe("group", ref), groupView)
}

// Project returns a project by ID or path.
func (g *GitLab) Project(ctx context.Context, ref string) (Project, error) {
	x, resp, err := g.c.Projects.GetProject(IDOrPath(ref), nil, gitlab.WithContext(ctx))
	return one(x, resp, err, Describe("project", ref), projectView)
}

// NewNamespace is what CreateGroup and CreateProject need; Within is the
// parent group (optional for a group, required for a project).
type NewNamespace struct {
	Name, Path, Within, Description, Visibility string
}

func visibility(s string) *gitlab.VisibilityValue {
	if s == "" {
		return nil
	}
	return gitlab.Ptr(gitlab.VisibilityValue(s))
}

// CreateGroup creates a group, or a subgroup of n.Within.
func (g *GitLab) CreateGroup(ctx context.Context, n NewNamespace) (Group, error) {
	opt := &gitlab.CreateGroupOptions{Name: &n.Name, Path: &n.Path, Description: optional(n.Description), Visibility: visibility(n.Visibility)}
	what := "the group list"
	if n.Within != "" {
		pid, err := g.GroupID(ctx, n.Within)
		if err != nil {
			return Group{}, err
		}
		opt.ParentID = &pid
		what = Describe("parent group", n.Within)
	}
	x, resp, err := g.c.Groups.CreateGroup(opt, gitlab.WithContext(ctx))
	return one(x, resp, err, what, groupView)
}

// CreateProject creates a project in the group n.Within.
func (g *GitLab) CreateProject(ctx context.Context, n NewNamespace) (Project, error) {
	nid, err := g.GroupID(ctx, n.Within)
	if err != nil {
		return Project{}, err
	}
	opt := &gitlab.CreateProjectOptions{Name: &n.Name, Path: &n.Path, NamespaceID: &nid, Description: optional(n.Description), Visibility: visibility(n.Visibility)}
	x, resp, err := g.c.Projects.CreateProject(opt, gitlab.WithContext(ctx))
	return one(x, resp, err, Describe("group", n.Within), projectView)
}

// NamespaceEdit is a group or project update: nil fields are not changed.
type NamespaceEdit struct {
	Name, Path, Description, Visibility *string
}

func (e NamespaceEdit) visibility() *gitlab.VisibilityValue {
	if e.Visibility == nil {
		return nil
	}
	return gitlab.Ptr(gitlab.VisibilityValue(*e.Visibility))
}

// UpdateGroup changes a group.
func (g *GitLab) UpdateGroup(ctx context.Context, ref string, e NamespaceEdit) (Group, error) {
	opt := &gitlab.UpdateGroupOptions{Name: e.Name, Path: e.Path, Description: e.Description, Visibility: e.visibility()}
	x, resp, err := g.c.Groups.UpdateGroup(IDOrPath(ref), opt, gitlab.WithContext(ctx))
	return one(x, resp, err, Describe("group", ref), groupView)
}

// UpdateProject changes a project.
func (g *GitLab) UpdateProject(ctx context.Context, ref string, e NamespaceEdit) (Project, error) {
	opt := &gitlab.EditProjectOptions{Name: e.Name, Path: e.Path, Description: e.Description, Visibility: e.visibility()}
	x, resp, err := g.c.Projects.EditProject(IDOrPath(ref), opt, gitlab.WithContext(ctx))
	return one(x, resp, err, Describe("project", ref), projectView)
}

// DeleteGroup deletes a group with its subgroups and projects; it returns
// what it deleted, for messages.
func (g *GitLab) DeleteGroup(ctx context.Context, ref string) (string, error) {
	resp, err := g.c.Groups.DeleteGroup(IDOrPath(ref), nil, gitlab.WithContext(ctx))
	return Describe("group", ref), Explain(err, resp, Describe("group", ref))
}

// DeleteProject deletes a project; it returns what it deleted.
func (g *GitLab) DeleteProject(ctx context.Context, ref string) (string, error) {
	resp, err := g.c.Projects.DeleteProject(IDOrPath(ref), nil, gitlab.WithContext(ctx))
	return Describe("project", ref), Explain(err, resp, Describe("project", ref))
}

// Check checks a group or project (kind) to create, deriving its path
// from its name when none is given. Its errors are KindInvalid.
func (n *NewNamespace) Check(kind string) error {
	if strings.TrimSpace(n.Name) == "" {
		return botgate.Errorf(botgate.KindInvalid, "--name is required")
	}
	if kind == "project" && n.Within == "" {
		return botgate.Errorf(botgate.KindInvalid, "--namespace is required: the group (ID or path) the project belongs to")
	}
	if n.Path == "" {
		if n.Path = Slug(n.Name); n.Path == "" {
			return botgate.Errorf(botgate.KindInvalid, "cannot derive a path from --name %q: give --path", n.Name)
		}
	}
	return nil
}
