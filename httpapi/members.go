package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
	Locked      bool    `json:"locked"`
	// MembershipState is "active": botgate has no invitations or access
	// requests awaiting approval.
	MembershipState string `json:"membership_state"`
	// CreatedBy is the user who added the member, when botgate knows it.
	CreatedBy *memberCreatorJSON `json:"created_by,omitempty"`
}

// memberCreatorJSON is GitLab's UserBasic of a member's creator.
type memberCreatorJSON struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

func (s *Server) memberEntity(r *http.Request, m authority.MemberInfo, viewer *botgate.User) memberJSON {
	j := memberJSON{
		ID: m.User.ID, Username: m.User.Username, Name: m.User.Name, State: string(m.User.State),
		WebURL: s.requestBase(r) + consoleUsers + m.User.Username, CreatedAt: ts(m.CreatedAt),
		ExpiresAt: datePtr(m.ExpiresAt), AccessLevel: int(m.AccessLevel), MembershipState: "active",
	}
	if viewer != nil && (viewer.Admin || viewer.ID == m.User.ID) {
		j.Email = m.User.Email
	}
	if m.CreatedByID != 0 {
		// The creator is shown when it can be read; a missing one (never
		// the case: users are deactivated, not deleted) is left out.
		if u, err := s.auth.User(r.Context(), m.CreatedByID); err == nil {
			j.CreatedBy = &memberCreatorJSON{ID: u.ID, Username: u.Username, Name: u.Name, State: string(u.State),
				WebURL: s.requestBase(r) + "/" + u.Username}
		}
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

// handleListAllMembers answers GET /{res}/:id/members/all: the members
// with those inherited from the groups above, one per user at the highest
// level (GitLab's MembersFinder with inherited relations).
func (s *Server) handleListAllMembers(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		_, pg, err := s.readListParams(w, r)
		if err != nil {
			return err
		}
		ms, total, err := s.auth.AllMembers(r.Context(), c.actor, res, 0, pg.storePage())
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

// handleGetAllMember answers GET /{res}/:id/members/all/:user_id; 404
// "Member Not Found" for a user who is no member, direct or inherited.
func (s *Server) handleGetAllMember(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, uid, err := s.memberOf(r, c, typ)
		if err != nil {
			return err
		}
		ms, _, err := s.auth.AllMembers(r.Context(), c.actor, res, uid, botgate.Page{Limit: 1})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return botgate.NotFound("Member")
		}
		return WriteJSON(w, http.StatusOK, s.memberEntity(r, ms[0], c.viewer()))
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
		} else if strings.Contains(ref, ",") {
			return s.addMembers(w, r, c, res, ref, botgate.AccessLevel(level), exp)
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

// addMembers adds the users of a comma-separated user_id, as GitLab's
// Members::CreateService does for several users: each is added on its
// own, and the answer is 201 {"status":"success"}, or {"status":"error",
// "message":"bob: ...; carol: ..."} naming each user who could not be
// added (those before and after are still added). A refusal of the
// caller's right to add them refuses the whole request, as GitLab; the
// authority (AddMembers) decides which.
func (s *Server) addMembers(w http.ResponseWriter, r *http.Request, c *call, res botgate.Resource, ids string, level botgate.AccessLevel, exp *time.Time) error {
	var refs []string
	for _, ref := range strings.Split(ids, ",") {
		if ref = strings.TrimSpace(ref); ref != "" && !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return botgate.Invalid("user_id", "No users specified.")
	}
	if len(refs) > maxMembersAdded {
		return botgate.Invalid("user_id", "Too many users specified (limit is %d)", maxMembersAdded)
	}
	// Each ref's user, or why it has none; the authority decides the rest.
	type entry struct {
		name string
		err  error
	}
	entries := make([]entry, len(refs))
	var users []int64
	var at []int // entries index of each of users
	for i, ref := range refs {
		entries[i].name = ref
		if _, err := strconv.ParseInt(ref, 10, 64); err != nil {
			entries[i].err = botgate.Invalid("user_id", "user_id is invalid")
			continue
		}
		u, err := s.auth.UserByRef(r.Context(), ref)
		if err != nil {
			if k := botgate.KindOf(err); k != botgate.KindNotFound && k != botgate.KindInvalid {
				return err
			}
			entries[i].err = err
			continue
		}
		entries[i].name = u.Username
		users, at = append(users, u.ID), append(at, i)
	}
	errs, err := s.auth.AddMembers(r.Context(), c.actor, res, users, level, exp)
	if err != nil {
		return err
	}
	for j, err := range errs {
		entries[at[j]].err = err
	}
	var failed []string
	for _, en := range entries {
		if en.err != nil {
			failed = append(failed, en.name+": "+errorText(en.err))
		}
	}
	if len(failed) > 0 {
		return WriteJSON(w, http.StatusCreated, map[string]string{"status": "error", "message": strings.Join(failed, "; ")})
	}
	return WriteJSON(w, http.StatusCreated, map[string]string{"status": "success"})
}

// maxMembersAdded is GitLab's limit on users added at once
// (Members::CreateService::DEFAULT_INVITE_LIMIT).
const maxMembersAdded = 100

// errorText is an error's message as GitLab's member errors word it:
// without the status line.
func errorText(err error) string {
	if m := botgate.MessageOf(err); m != "" {
		return m
	}
	return "could not be added"
}
