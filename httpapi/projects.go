package httpapi

import (
	"context"
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// projectJSON is GitLab's project entity (the fields clients read).
type projectJSON struct {
	ID                int64         `json:"id"`
	Description       string        `json:"description"`
	Name              string        `json:"name"`
	NameWithNamespace string        `json:"name_with_namespace"`
	Path              string        `json:"path"`
	PathWithNamespace string        `json:"path_with_namespace"`
	CreatedAt         string        `json:"created_at"`
	DefaultBranch     string        `json:"default_branch"`
	Visibility        string        `json:"visibility"`
	WebURL            string        `json:"web_url"`
	Namespace         namespaceJSON `json:"namespace"`
	Archived          bool          `json:"archived"`
	// HTTPURLToRepo is where the repository is cloned over HTTP at the
	// address the client used (through botgate's gateway, the GitLab
	// behind it).
	HTTPURLToRepo string   `json:"http_url_to_repo"`
	AvatarURL     *string  `json:"avatar_url"`
	Topics        []string `json:"topics"`
	TagList       []string `json:"tag_list"`
}

// namespaceJSON is GitLab's project namespace entity.
type namespaceJSON struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int64  `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

func (s *Server) projectEntities(ctx context.Context, r *http.Request, ps []*botgate.Project) ([]projectJSON, error) {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.NamespaceID
	}
	byID, err := s.auth.GroupAncestry(ctx, ids)
	if err != nil {
		return nil, err
	}
	base := s.requestBase(r)
	out := make([]projectJSON, len(ps))
	for i, p := range ps {
		j := projectJSON{
			ID: p.ID, Description: p.Description, Name: p.Name, NameWithNamespace: p.Name,
			Path: p.Path, PathWithNamespace: p.PathWithNamespace, CreatedAt: ts(p.CreatedAt),
			DefaultBranch: p.DefaultBranch, Visibility: string(p.Visibility), WebURL: base + consoleProjects + p.PathWithNamespace,
			HTTPURLToRepo: base + "/" + p.PathWithNamespace + ".git", Topics: []string{}, TagList: []string{},
		}
		if g, ok := byID[p.NamespaceID]; ok {
			j.NameWithNamespace = fullName(g, byID) + " / " + p.Name
			j.Namespace = groupNamespace(base, g)
		}
		out[i] = j
	}
	return out, nil
}

func (s *Server) writeProject(w http.ResponseWriter, r *http.Request, status int, p *botgate.Project) error {
	out, err := s.projectEntities(r.Context(), r, []*botgate.Project{p})
	if err != nil {
		return err
	}
	return WriteJSON(w, status, out[0])
}

func (s *Server) handleListProjects(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.listProjects(w, r, c, 0)
}

func (s *Server) handleListGroupProjects(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.listProjects(w, r, c, g.ID)
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, c *call, namespace int64) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	f := botgate.ProjectFilter{NamespaceID: namespace, Search: p.str("search"), Page: pg.storePage()}
	if sub, err := p.boolPtr("include_subgroups"); err != nil {
		return err
	} else if sub != nil && *sub && namespace != 0 {
		f.IncludeSubgroups = true
	}
	if m, err := p.boolPtr("membership"); err != nil {
		return err
	} else if m != nil && *m && c.actor.User != nil {
		f.MemberID = c.actor.User.ID
	}
	if f.Order, err = projectsOrder.read(p); err != nil {
		return err
	}
	if f.IDAfter, err = p.int64("id_after"); err != nil {
		return err
	}
	if f.IDBefore, err = p.int64("id_before"); err != nil {
		return err
	}
	k, err := readKeyset(p, f.Order)
	if err != nil {
		return err
	}
	if k.on {
		f.Page = botgate.Page{Limit: pg.perPage}
	}
	projects, total, err := s.auth.Projects(r.Context(), c.actor, f)
	if err != nil {
		return err
	}
	out, err := s.projectEntities(r.Context(), r, projects)
	if err != nil {
		return err
	}
	if k.on {
		var last int64
		if len(projects) > 0 {
			last = projects[len(projects)-1].ID
		}
		return s.writeKeysetList(w, r, pg, k, total, last, out)
	}
	return s.writeList(w, r, pg, total, out)
}

func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.auth.Project(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeProject(w, r, http.StatusOK, p)
}

func (s *Server) handleCreateProject(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if !p.has("name") && !p.has("path") {
		return botgate.Invalid("name", "name, path are missing, at least one parameter must be provided")
	}
	ns := p.str("namespace_id")
	if ns == "" {
		ns = p.str("namespace")
	}
	var nsID int64
	if ns != "" {
		g, err := s.auth.Group(r.Context(), c.actor, ns)
		if err != nil {
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("Namespace")
			}
			return err
		}
		nsID = g.ID
	}
	proj, err := s.auth.CreateProject(r.Context(), c.actor, authority.NewProject{
		Name: p.str("name"), Path: p.str("path"), NamespaceID: nsID, Description: p.str("description"),
		Visibility: botgate.Visibility(p.str("visibility")), DefaultBranch: p.str("default_branch"),
	})
	if err != nil {
		return err
	}
	return s.writeProject(w, r, http.StatusCreated, proj)
}

func (s *Server) handleUpdateProject(w http.ResponseWriter, r *http.Request, c *call) error {
	proj, err := s.auth.Project(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if v := p.strPtr("path"); v != nil && *v != proj.Path {
		return botgate.Invalid("path", "path cannot be changed: botgate does not move projects")
	}
	in := authority.ProjectUpdate{Name: p.strPtr("name"), Description: p.strPtr("description"), DefaultBranch: p.strPtr("default_branch")}
	if v := p.strPtr("visibility"); v != nil {
		vis := botgate.Visibility(*v)
		in.Visibility = &vis
	}
	proj, err = s.auth.UpdateProject(r.Context(), c.actor, proj.ID, in)
	if err != nil {
		return err
	}
	return s.writeProject(w, r, http.StatusOK, proj)
}

func (s *Server) handleDeleteProject(w http.ResponseWriter, r *http.Request, c *call) error {
	proj, err := s.auth.Project(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.auth.DeleteProject(r.Context(), c.actor, proj.ID); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
}
