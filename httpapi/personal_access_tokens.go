package httpapi

import (
	"net/http"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// tokenJSON is GitLab's personal access token entity; project and group
// access tokens add access_level. Token is set only on create and rotate.
type tokenJSON struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Revoked      bool     `json:"revoked"`
	CreatedAt    string   `json:"created_at"`
	Description  *string  `json:"description"`
	Scopes       []string `json:"scopes"`
	UserID       int64    `json:"user_id"`
	LastUsedAt   *string  `json:"last_used_at"`
	Active       bool     `json:"active"`
	ExpiresAt    *string  `json:"expires_at"`
	AccessLevel  *int     `json:"access_level,omitempty"`
	ResourceType string   `json:"resource_type,omitempty"`
	ResourceID   int64    `json:"resource_id,omitempty"`
	LastUsedIPs  []string `json:"last_used_ips"`
	Token        string   `json:"token,omitempty"`
}

func tokenEntity(t *botgate.Token, now time.Time) tokenJSON {
	j := tokenJSON{
		ID: t.ID, Name: t.Name, Revoked: t.Revoked, CreatedAt: ts(t.CreatedAt), Description: emptyNil(t.Description),
		Scopes: t.Scopes.Strings(), UserID: t.UserID, LastUsedAt: tsPtr(t.LastUsedAt), Active: t.Active(now),
		ExpiresAt: datePtr(t.ExpiresAt), LastUsedIPs: t.LastUsedIPs,
	}
	if j.LastUsedIPs == nil {
		j.LastUsedIPs = []string{}
	}
	if t.Kind == botgate.ProjectAccessToken || t.Kind == botgate.GroupAccessToken {
		level := int(t.AccessLevel)
		j.AccessLevel = &level
		j.ResourceType, j.ResourceID = string(t.Resource.Type), t.Resource.ID
	}
	return j
}

func (s *Server) tokenEntities(toks []*botgate.Token) []tokenJSON {
	now := s.auth.Now()
	out := make([]tokenJSON, len(toks))
	for i, t := range toks {
		out[i] = tokenEntity(t, now)
	}
	return out
}

// createdEntity renders a just created or rotated token with its secret.
func (s *Server) createdEntity(c *authority.Created) tokenJSON {
	j := tokenEntity(c.Token, s.auth.Now())
	j.Token = c.Secret
	return j
}

// readTokenQuery reads the token list filters GitLab accepts.
func readTokenQuery(p *params, pg pager) (authority.TokenQuery, error) {
	q := authority.TokenQuery{State: p.str("state")}
	q.Search = p.str("search")
	q.Sort = p.str("sort")
	q.Page = pg.storePage()
	var err error
	if q.Revoked, err = p.boolPtr("revoked"); err != nil {
		return q, err
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
		date bool
	}{
		{"created_after", &q.CreatedAfter, false}, {"created_before", &q.CreatedBefore, false},
		{"last_used_after", &q.LastUsedAfter, false}, {"last_used_before", &q.LastUsedBefore, false},
		{"expires_after", &q.ExpiresAfter, true}, {"expires_before", &q.ExpiresBefore, true},
	} {
		if f.date {
			*f.dst, err = p.date(f.name)
		} else {
			*f.dst, err = p.time(f.name)
		}
		if err != nil {
			return q, err
		}
	}
	switch q.Sort {
	case "", "created_asc", "created_desc", "expires_asc", "expires_desc", "last_used_asc", "last_used_desc", "name_asc", "name_desc":
	default:
		return q, botgate.Invalid("sort", "sort does not have a valid value")
	}
	switch q.State {
	case "", "active", "inactive":
	default:
		return q, botgate.Invalid("state", "state does not have a valid value")
	}
	return q, nil
}

// readNewToken reads the parameters of a request that creates a token.
func (s *Server) readNewToken(w http.ResponseWriter, r *http.Request) (authority.NewToken, error) {
	p, err := s.readParams(w, r)
	if err != nil {
		return authority.NewToken{}, err
	}
	if err := p.missing("name", "scopes"); err != nil {
		return authority.NewToken{}, err
	}
	exp, err := p.date("expires_at")
	if err != nil {
		return authority.NewToken{}, err
	}
	level, err := p.int64("access_level")
	if err != nil {
		return authority.NewToken{}, err
	}
	return authority.NewToken{
		Name: p.str("name"), Description: p.str("description"), Scopes: p.list("scopes"), ExpiresAt: exp,
		AccessLevel: botgate.AccessLevel(level),
	}, nil
}

// hideFromNonAdmin answers as GitLab's personal token routes do: a
// non-administrator asking about a token that is missing or not theirs
// gets 401, an administrator 404.
func hideFromNonAdmin(c *call, err error) error {
	if c.actor.User != nil && c.actor.User.Admin {
		return err
	}
	if botgate.IsKind(err, botgate.KindNotFound) || botgate.IsKind(err, botgate.KindForbidden) {
		return &botgate.Error{Kind: botgate.KindUnauthenticated, Err: err}
	}
	return err
}

func (s *Server) handleListPATs(w http.ResponseWriter, r *http.Request, c *call) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	q, err := readTokenQuery(p, pg)
	if err != nil {
		return err
	}
	if q.UserID, err = p.int64("user_id"); err != nil {
		return err
	}
	toks, total, err := s.auth.PersonalTokens(r.Context(), c.actor, q)
	if err != nil {
		return err
	}
	return s.writeList(w, r, pg, total, s.tokenEntities(toks))
}

func (s *Server) handleGetPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return hideFromNonAdmin(c, err)
	}
	t, err := s.auth.Token(r.Context(), c.actor, id)
	if err != nil {
		return hideFromNonAdmin(c, err)
	}
	return WriteJSON(w, http.StatusOK, tokenEntity(t, s.auth.Now()))
}

func (s *Server) handleGetSelfPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	// Read the token afresh: the authenticated copy may be cached, without
	// the latest usage.
	t, err := s.auth.Token(r.Context(), c.actor, c.id.Token.ID)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, tokenEntity(t, s.auth.Now()))
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request, c *call, id int64) error {
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	exp, err := p.date("expires_at")
	if err != nil {
		return err
	}
	out, err := s.auth.RotateToken(r.Context(), c.actor, id, exp)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, s.createdEntity(out))
}

func (s *Server) handleRotatePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return hideFromNonAdmin(c, err)
	}
	if _, err := s.auth.Token(r.Context(), c.actor, id); err != nil {
		return hideFromNonAdmin(c, err)
	}
	return s.rotate(w, r, c, id)
}

func (s *Server) handleRotateSelfPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.rotate(w, r, c, c.id.Token.ID)
}

func (s *Server) handleRevokePAT(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return err
	}
	if err := s.auth.RevokeToken(r.Context(), c.actor, id); err != nil {
		if botgate.IsKind(err, botgate.KindNotFound) {
			// GitLab's wording on this route.
			return &botgate.Error{Kind: botgate.KindNotFound, Message: "Not found", Err: err}
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRevokeSelfPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.auth.RevokeToken(r.Context(), c.actor, c.id.Token.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createPAT(w http.ResponseWriter, r *http.Request, c *call, userID int64) error {
	in, err := s.readNewToken(w, r)
	if err != nil {
		return unprocessable(err)
	}
	out, err := s.auth.CreatePersonalToken(r.Context(), c.actor, userID, in)
	if err != nil {
		return unprocessable(err)
	}
	return WriteJSON(w, http.StatusCreated, s.createdEntity(out))
}

func (s *Server) handleCreateUserPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "user_id", "User")
	if err != nil {
		return err
	}
	return s.createPAT(w, r, c, id)
}

func (s *Server) handleCreateCurrentUserPAT(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.createPAT(w, r, c, c.actor.User.ID)
}
