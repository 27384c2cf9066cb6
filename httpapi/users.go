package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// userJSON is GitLab's user entity (the fields clients read). Email and
// is_admin are shown to administrators and to the user itself.
type userJSON struct {
	ID               int64   `json:"id"`
	Username         string  `json:"username"`
	Name             string  `json:"name"`
	State            string  `json:"state"`
	Locked           bool    `json:"locked"`
	AvatarURL        *string `json:"avatar_url"`
	WebURL           string  `json:"web_url"`
	CreatedAt        string  `json:"created_at"`
	Bio              string  `json:"bio"`
	Bot              bool    `json:"bot"`
	Email            string  `json:"email,omitempty"`
	PublicEmail      *string `json:"public_email"`
	IsAdmin          *bool   `json:"is_admin,omitempty"`
	External         bool    `json:"external"`
	CanCreateGroup   bool    `json:"can_create_group"`
	CanCreateProject bool    `json:"can_create_project"`
	TwoFactorEnabled bool    `json:"two_factor_enabled"`
	PrivateProfile   bool    `json:"private_profile"`
	// Profile fields botgate does not keep: empty, as GitLab shows an
	// unfilled profile.
	Location     string  `json:"location"`
	Skype        string  `json:"skype"`
	Linkedin     string  `json:"linkedin"`
	Twitter      string  `json:"twitter"`
	Discord      string  `json:"discord"`
	WebsiteURL   string  `json:"website_url"`
	Organization string  `json:"organization"`
	JobTitle     string  `json:"job_title"`
	Pronouns     *string `json:"pronouns"`
	// LastActivityOn is the day the user last used a token; shown where
	// GitLab shows it (to the user itself and to administrators), for one
	// user at a time.
	LastActivityOn any `json:"last_activity_on,omitempty"` // a date, or null
}

func (s *Server) userEntity(r *http.Request, u *botgate.User, viewer *botgate.User) userJSON {
	j := userJSON{
		ID: u.ID, Username: u.Username, Name: u.Name, State: string(u.State),
		WebURL: s.requestBase(r) + consoleUsers + u.Username, CreatedAt: ts(u.CreatedAt),
		Bot: u.Kind.Bot(), CanCreateGroup: u.Kind == botgate.HumanUser, CanCreateProject: u.Kind == botgate.HumanUser,
	}
	if viewer != nil && (viewer.Admin || viewer.ID == u.ID) {
		j.Email = u.Email
		admin := u.Admin
		j.IsAdmin = &admin
	}
	return j
}

// viewer is the user whose eyes a response is rendered for.
func (c *call) viewer() *botgate.User { return c.actor.User }

func (s *Server) handleCurrentUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.writeUser(w, r, c.actor.User, c.actor.User)
}

// writeUser writes one user's entity, with last_activity_on for the user
// itself and administrators (GitLab's UserPublic and UserWithAdmin).
func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, u, viewer *botgate.User) error {
	j := s.userEntity(r, u, viewer)
	if viewer != nil && (viewer.Admin || viewer.ID == u.ID) {
		day, err := s.auth.LastActivityOn(r.Context(), u.ID)
		if err != nil {
			return err
		}
		j.LastActivityOn = json.RawMessage("null")
		if day != nil {
			j.LastActivityOn = day.Format(botgate.DateFormat)
		}
	}
	return WriteJSON(w, http.StatusOK, j)
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "User")
	if err != nil {
		return err
	}
	u, err := s.auth.User(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, u, c.viewer())
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	f := botgate.UserFilter{Username: p.str("username"), Search: p.str("search"), Page: pg.storePage()}
	if f.Order, err = usersOrder.read(p); err != nil {
		return err
	}
	if p.has("active") {
		f.State = botgate.UserActive
	}
	switch {
	case p.str("humans") == "true":
		f.Kinds = []botgate.UserKind{botgate.HumanUser}
	case p.str("exclude_humans") == "true":
		f.Kinds = []botgate.UserKind{botgate.ProjectBot, botgate.GroupBot, botgate.ServiceAccount}
	}
	if p.str("admins") == "true" {
		yes := true
		f.Admin = &yes
	}
	users, total, err := s.auth.Users(r.Context(), c.actor, f)
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = s.userEntity(r, u, c.viewer())
	}
	return s.writeList(w, r, pg, total, out)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("email", "username", "name"); err != nil {
		return err
	}
	admin, err := p.boolPtr("admin")
	if err != nil {
		return err
	}
	in := authority.NewUser{Username: p.str("username"), Name: p.str("name"), Email: p.str("email")}
	if admin != nil {
		in.Admin = *admin
	}
	u, err := s.auth.CreateUser(r.Context(), c.actor, in)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, s.userEntity(r, u, c.viewer()))
}
