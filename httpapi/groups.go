package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// groupJSON is GitLab's group entity (the fields clients read).
type groupJSON struct {
	ID          int64   `json:"id"`
	WebURL      string  `json:"web_url"`
	Name        string  `json:"name"`
	Path        string  `json:"path"`
	Description string  `json:"description"`
	Visibility  string  `json:"visibility"`
	FullName    string  `json:"full_name"`
	FullPath    string  `json:"full_path"`
	ParentID    *int64  `json:"parent_id"`
	CreatedAt   string  `json:"created_at"`
	AvatarURL   *string `json:"avatar_url"`
}

// fullName is GitLab's "Parent / Child" display name of a group.
func fullName(g *botgate.Group, byID map[int64]*botgate.Group) string {
	names := []string{g.Name}
	for id, depth := g.ParentID, 0; id != 0 && depth < 32; depth++ {
		p, ok := byID[id]
		if !ok {
			break
		}
		names = append(names, p.Name)
		id = p.ParentID
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	return strings.Join(names, " / ")
}

func (s *Server) groupEntities(ctx context.Context, r *http.Request, gs []*botgate.Group) ([]groupJSON, error) {
	ids := make([]int64, len(gs))
	for i, g := range gs {
		ids[i] = g.ParentID
	}
	byID, err := s.auth.GroupAncestry(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]groupJSON, len(gs))
	for i, g := range gs {
		out[i] = groupJSON{
			ID: g.ID, WebURL: s.requestBase(r) + consoleGroups + g.FullPath, Name: g.Name, Path: g.Path,
			Description: g.Description, Visibility: string(g.Visibility), FullName: fullName(g, byID),
			FullPath: g.FullPath, CreatedAt: ts(g.CreatedAt),
		}
		if g.ParentID != 0 {
			pid := g.ParentID
			out[i].ParentID = &pid
		}
	}
	return out, nil
}

func (s *Server) writeGroup(w http.ResponseWriter, r *http.Request, status int, g *botgate.Group) error {
	out, err := s.groupEntities(r.Context(), r, []*botgate.Group{g})
	if err != nil {
		return err
	}
	return WriteJSON(w, status, out[0])
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.listGroups(w, r, c, nil)
}

func (s *Server) handleListSubgroups(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.listGroups(w, r, c, &g.ID)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c *call, parent *int64) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	f := botgate.GroupFilter{Search: p.str("search"), ParentID: parent, Page: pg.storePage()}
	if top, err := p.boolPtr("top_level_only"); err != nil {
		return err
	} else if top != nil && *top && parent == nil {
		zero := int64(0)
		f.ParentID = &zero
	}
	// owned and min_access_level would need the role of every group: they
	// select the groups the caller is a direct member of, at any level.
	owned, err := p.boolPtr("owned")
	if err != nil {
		return err
	}
	if (owned != nil && *owned || p.has("min_access_level")) && c.actor.User != nil {
		f.MemberID = c.actor.User.ID
	}
	groups, total, err := s.auth.Groups(r.Context(), c.actor, f)
	if err != nil {
		return err
	}
	out, err := s.groupEntities(r.Context(), r, groups)
	if err != nil {
		return err
	}
	return s.writeList(w, r, pg, total, out)
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusOK, g)
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("name", "path"); err != nil {
		return err
	}
	parent, err := p.int64("parent_id")
	if err != nil {
		return err
	}
	g, err := s.auth.CreateGroup(r.Context(), c.actor, authority.NewGroup{
		Name: p.str("name"), Path: p.str("path"), ParentID: parent, Description: p.str("description"),
		Visibility: botgate.Visibility(p.str("visibility")),
	})
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusCreated, g)
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if v := p.strPtr("path"); v != nil && *v != g.Path {
		return botgate.Invalid("path", "path cannot be changed: botgate does not move groups")
	}
	in := authority.GroupUpdate{Name: p.strPtr("name"), Description: p.strPtr("description")}
	if v := p.strPtr("visibility"); v != nil {
		vis := botgate.Visibility(*v)
		in.Visibility = &vis
	}
	g, err = s.auth.UpdateGroup(r.Context(), c.actor, g.ID, in)
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusOK, g)
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.auth.DeleteGroup(r.Context(), c.actor, g.ID); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
}
