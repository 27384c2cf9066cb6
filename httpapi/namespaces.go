package httpapi

import (
	"context"
	"net/http"

	"github.com/botgate/botgate"
)

// GitLabVersion is the GitLab release whose REST API botgate follows;
// GET /version and GET /metadata report it with botgate's edition suffix
// ("18.11.0-botgate", as GitLab reports "18.11.0-ee"), so that clients
// that gate features on the version see a current GitLab.
const GitLabVersion = "18.11.0"

// versionJSON is GitLab's version entity.
type versionJSON struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
}

// metadataJSON is GitLab's metadata entity (GET /metadata).
type metadataJSON struct {
	Version    string  `json:"version"`
	Revision   string  `json:"revision"`
	KAS        kasJSON `json:"kas"`
	Enterprise bool    `json:"enterprise"`
}

// kasJSON describes the agent server for Kubernetes, which botgate does
// not run.
type kasJSON struct {
	Enabled             bool    `json:"enabled"`
	ExternalURL         *string `json:"externalUrl"`
	ExternalK8sProxyURL *string `json:"externalK8sProxyUrl"`
	Version             *string `json:"version"`
}

// versionEntity is the version botgate reports: GitLab's, with botgate's
// suffix, and botgate's own version as the revision.
func (s *Server) versionEntity() versionJSON {
	return versionJSON{Version: GitLabVersion + "-botgate", Revision: s.version}
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	return WriteJSON(w, http.StatusOK, s.versionEntity())
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	v := s.versionEntity()
	return WriteJSON(w, http.StatusOK, metadataJSON{Version: v.Version, Revision: v.Revision})
}

// namespaceEntities are GitLab's namespace entities of groups (botgate has
// no personal namespaces, so every namespace is a group's).
func (s *Server) namespaceEntities(ctx context.Context, r *http.Request, gs []*botgate.Group) []namespaceJSON {
	base := s.requestBase(r)
	out := make([]namespaceJSON, len(gs))
	for i, g := range gs {
		out[i] = groupNamespace(base, g)
	}
	return out
}

// groupNamespace is the namespace entity of a group.
func groupNamespace(base string, g *botgate.Group) namespaceJSON {
	n := namespaceJSON{ID: g.ID, Name: g.Name, Path: g.Path, Kind: "group", FullPath: g.FullPath, WebURL: base + "/groups/" + g.FullPath}
	if g.ParentID != 0 {
		pid := g.ParentID
		n.ParentID = &pid
	}
	return n
}

// handleListNamespaces lists namespaces as GitLab's GET /namespaces: every
// one for an administrator, the groups one is a direct member of for
// anyone else (User#namespaces); search, top_level_only.
func (s *Server) handleListNamespaces(w http.ResponseWriter, r *http.Request, c *call) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	f := botgate.GroupFilter{Search: p.str("search"), Page: pg.storePage()}
	if top, err := p.boolPtr("top_level_only"); err != nil {
		return err
	} else if top != nil && *top {
		zero := int64(0)
		f.ParentID = &zero
	}
	if _, err := p.boolPtr("owned_only"); err != nil {
		return err
	}
	if c.actor.User != nil && !c.actor.User.Admin {
		f.MemberID = c.actor.User.ID
	}
	groups, total, err := s.auth.Groups(r.Context(), c.actor, f)
	if err != nil {
		return err
	}
	return s.writeList(w, r, pg, total, s.namespaceEntities(r.Context(), r, groups))
}

// handleGetNamespace answers GET /namespaces/:id (a numeric ID or a
// URL-encoded full path) for a namespace the caller may see; 404
// "Namespace Not Found" otherwise.
func (s *Server) handleGetNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	g, err := s.auth.Group(r.Context(), c.actor, r.PathValue("id"))
	if botgate.IsKind(err, botgate.KindNotFound) {
		return botgate.NotFound("Namespace")
	}
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, groupNamespace(s.requestBase(r), g))
}
