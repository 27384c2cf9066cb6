package httpapi

import (
	"net/http"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// memberJSON is GitLab's member entity.
type memberJSON struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	AvatarURL   *string `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
	CreatedAt   string  `json:"created_at"`
	ExpiresAt   *string `json:"expires_at"`
	AccessLevel int     `json:"access_level"`
	Email       string  `json:"email,omitempty"`
}

func (s *Server) memberEntity(r *http.Request, m authority.MemberInfo, viewer *botgate.User) memberJSON {
	j := memberJSON{
		ID: m.User.ID, Username: m.User.Username, Name: m.User.Name, State: string(m.User.State),
		WebURL: s.requestBase(r) + consoleUsers + m.User.Username, CreatedAt: ts(m.CreatedAt),
		ExpiresAt: datePtr(m.ExpiresAt), AccessLevel: int(m.AccessLevel),
	}
	if viewer != nil && (viewer.Admin || viewer.ID == m.User.ID) {
		j.Email = m.User.Email
	}
	return j
}

// resourceOf resolves the {id} path segment of a project or group route.
func (s *Server) resourceOf(r *http.Request, c *call, typ botgate.ResourceType) (botgate.Resource, error) {
	return s.auth.Resource(r.Context(), c.actor, typ, r.PathValue("id"))
}

// memberOf resolves the project or group and the {user_id} of a route
// about one member.
func (s *Server) memberOf(r *http.Request, c *call, typ botgate.ResourceType) (botgate.Resource, int64, error) {
	res, err := s.resourceOf(r, c, typ)
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	uid, err := pathID(r, "user_id", "Member")
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	return res, uid, nil
}

func (s *Server) handleListMembers(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		_, pg, err := s.readListParams(w, r)
		if err != nil {
			return err
		}
		ms, total, err := s.auth.Members(r.Context(), c.actor, res, pg.storePage())
		if err != nil {
			return err
		}
		out := make([]memberJSON, len(ms))
		for i, m := range ms {
			out[i] = s.memberEntity(r, m, c.viewer())
		}
		return s.writeList(w, r, pg, total, out)
	}
}

func (s *Server) handleGetMember(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, uid, err := s.memberOf(r, c, typ)
		if err != nil {
			return err
		}
		m, err := s.auth.Member(r.Context(), c.actor, res, uid)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, s.memberEntity(r, *m, c.viewer()))
	}
}

func (s *Server) handleAddMember(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		p, err := s.readParams(w, r)
		if err != nil {
			return err
		}
		if !p.has("user_id") && !p.has("username") {
			return botgate.Invalid("user_id", "user_id, username are missing, exactly one parameter must be provided")
		}
		if err := p.missing("access_level"); err != nil {
			return err
		}
		level, err := p.int64("access_level")
		if err != nil {
			return err
		}
		exp, err := p.date("expires_at")
		if err != nil {
			return err
		}
		ref := p.str("user_id")
		if ref == "" {
			ref = p.str("username")
		}
		u, err := s.auth.UserByRef(r.Context(), strings.TrimSpace(ref))
		if err != nil {
			return err
		}
		m, err := s.auth.AddMember(r.Context(), c.actor, res, u.ID, botgate.AccessLevel(level), exp)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusCreated, s.memberEntity(r, authority.MemberInfo{Member: m, User: u}, c.viewer()))
	}
}

func (s *Server) handleUpdateMember(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, uid, err := s.memberOf(r, c, typ)
		if err != nil {
			return err
		}
		p, err := s.readParams(w, r)
		if err != nil {
			return err
		}
		level, err := p.int64("access_level")
		if err != nil {
			return err
		}
		in := authority.MemberUpdate{AccessLevel: botgate.AccessLevel(level)}
		if p.has("expires_at") {
			if in.ExpiresAt, err = p.date("expires_at"); err != nil {
				return err
			}
			in.SetExpiry = true
		}
		if level == 0 && !in.SetExpiry {
			return botgate.Invalid("access_level", "access_level is missing")
		}
		m, err := s.auth.UpdateMember(r.Context(), c.actor, res, uid, in)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, s.memberEntity(r, *m, c.viewer()))
	}
}

func (s *Server) handleRemoveMember(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, uid, err := s.memberOf(r, c, typ)
		if err != nil {
			return err
		}
		if err := s.auth.RemoveMember(r.Context(), c.actor, res, uid); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
