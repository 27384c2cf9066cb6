package authority

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// NewUser describes a human user to create.
type NewUser struct {
	Username string
	Name     string
	Email    string
	Admin    bool
}

// Bootstrap creates the first administrator and a personal access token for
// it, on an empty instance. KindConflict if users already exist.
func (s *Service) Bootstrap(ctx context.Context, in NewUser) (*botgate.User, *botgate.Token, string, error) {
	const op = "authority.Bootstrap"
	in.Admin = true
	var u *botgate.User
	var t *botgate.Token
	var secret string
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		_, total, err := tx.FindUsers(ctx, botgate.UserFilter{Page: botgate.Page{Limit: 1}})
		if err != nil {
			return err
		}
		if total > 0 {
			return botgate.Errorf(botgate.KindConflict, "the instance is already initialised")
		}
		a := SystemActor()
		if u, err = s.createHuman(ctx, tx, a, in); err != nil {
			return err
		}
		scopes := botgate.Scopes{botgate.ScopeAPI, botgate.ScopeReadAPI, botgate.ScopeReadUser, botgate.ScopeSudo, botgate.ScopeAdminMode}
		t, secret, err = s.insertToken(ctx, tx, a, u, &botgate.Token{
			Kind:        botgate.PersonalToken,
			Name:        "bootstrap admin token",
			Description: "created by botgate init",
			Scopes:      botgate.NormalizeScopes(scopes),
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, s.event(a, botgate.ActionInit, "user", u.ID, u.Username))
	})
	if err != nil {
		return nil, nil, "", botgate.E(op, err)
	}
	return u, t, secret, nil
}

// CreateUser creates a human user. Only administrators may.
func (s *Service) CreateUser(ctx context.Context, a Actor, in NewUser) (*botgate.User, error) {
	const op = "authority.CreateUser"
	if !a.isAdmin() {
		return nil, botgate.E(op, forbidden("only administrators may create users"))
	}
	var u *botgate.User
	err := s.store.Update(ctx, func(tx botgate.Tx) (err error) {
		u, err = s.createHuman(ctx, tx, a, in)
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return u, nil
}

func (s *Service) createHuman(ctx context.Context, tx botgate.Tx, a Actor, in NewUser) (*botgate.User, error) {
	if err := botgate.ValidateUsername(in.Username); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" {
		in.Name = in.Username
	}
	if in.Email == "" {
		return nil, botgate.Invalid("email", "email is missing")
	}
	if _, err := mail.ParseAddress(in.Email); err != nil || strings.ContainsAny(in.Email, "<> ") {
		return nil, botgate.Invalid("email", "email %q is not a valid address", in.Email)
	}
	u := &botgate.User{
		Username:    in.Username,
		Name:        in.Name,
		Email:       in.Email,
		Kind:        botgate.HumanUser,
		Admin:       in.Admin,
		State:       botgate.UserActive,
		CreatedByID: a.userID(),
		CreatedAt:   s.clock.Now(),
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		if botgate.IsKind(err, botgate.KindConflict) {
			return nil, botgate.Errorf(botgate.KindConflict, "Username or email has already been taken")
		}
		return nil, err
	}
	e := s.event(a, botgate.ActionUserCreate, "user", u.ID, u.Username)
	e.Details = details("kind", string(u.Kind), "admin", boolStr(u.Admin))
	return u, s.record(ctx, tx, e)
}

// User returns a user by ID. Every authenticated actor may read users, as
// GitLab's public user API allows.
func (s *Service) User(ctx context.Context, id int64) (*botgate.User, error) {
	var u *botgate.User
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		u, err = tx.User(ctx, id)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("User")
	}
	return u, err
}

// DeactivateUser deactivates a user: it can no longer authenticate, and
// its tokens stop working at once. Administrators only; service accounts
// may also be deactivated by their team's Owners.
func (s *Service) DeactivateUser(ctx context.Context, a Actor, id int64) error {
	const op = "authority.DeactivateUser"
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		u, err := tx.User(ctx, id)
		if err != nil {
			return err
		}
		if !a.isAdmin() {
			if u.Kind != botgate.ServiceAccount || u.Owner.IsZero() {
				return forbidden("only administrators may deactivate this user")
			}
			if _, err := s.require(ctx, tx, a, u.Owner, botgate.OwnerAccess); err != nil {
				return err
			}
		}
		return s.deactivate(ctx, tx, a, u, "")
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed(nil)
	return nil
}

func (s *Service) deactivate(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User, reason string) error {
	if u.State == botgate.UserDeactivated {
		return nil
	}
	u.State = botgate.UserDeactivated
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	e := s.event(a, botgate.ActionUserDeactivate, "user", u.ID, u.Username)
	e.Details = details("kind", string(u.Kind), "reason", reason)
	return s.record(ctx, tx, e)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Users lists users matching f. Every authenticated actor may list users,
// as GitLab allows; only administrators search by e-mail address, and the
// HTTP edge shows addresses to administrators only.
func (s *Service) Users(ctx context.Context, a Actor, f botgate.UserFilter) ([]*botgate.User, int, error) {
	if a.User == nil && !a.System {
		return nil, 0, botgate.E("authority.Users", botgate.KindUnauthenticated)
	}
	if !a.isAdmin() {
		// The store's Search covers e-mail addresses, which only
		// administrators may search by.
		f.Search, f.NameSearch = "", f.Search
	}
	var out []*botgate.User
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		out, total, err = tx.FindUsers(ctx, f)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Users", err)
	}
	return out, total, nil
}

// UserByRef returns the user with the numeric ID or username ref.
func (s *Service) UserByRef(ctx context.Context, ref string) (*botgate.User, error) {
	var u *botgate.User
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		if id, ok := refID(ref); ok {
			u, err = tx.User(ctx, id)
		} else {
			u, err = tx.UserByUsername(ctx, ref)
		}
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("User")
	}
	if err != nil {
		return nil, botgate.E("authority.UserByRef", err)
	}
	return u, nil
}

// canManageUser reports whether the actor may manage the user's tokens:
// the user itself (humans), a service account's team Maintainers, or an
// administrator.
func (s *Service) canManageUser(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User) error {
	if a.isAdmin() {
		return nil
	}
	switch u.Kind {
	case botgate.HumanUser:
		if a.userID() == u.ID {
			return nil
		}
		return forbidden("only the user and administrators may manage these tokens")
	case botgate.ServiceAccount:
		if u.Owner.IsZero() {
			return forbidden("instance service accounts are managed by administrators")
		}
		_, err := s.require(ctx, tx, a, u.Owner, botgate.MaintainerAccess)
		return err
	default:
		need := botgate.MaintainerAccess
		if u.Owner.Type == botgate.GroupResource {
			need = botgate.OwnerAccess
		}
		_, err := s.require(ctx, tx, a, u.Owner, need)
		return err
	}
}

// RecoverAdmin mints a new personal access token, with the first
// administrator's scopes, for the active administrator named username (the
// oldest active administrator when username is empty). It is for someone
// who holds the data directory (its pepper) but lost every administrator
// token, so it takes no actor: the caller's access to the data directory
// is the authorisation. The token and an admin.recover event are written
// in one transaction. KindNotFound without such an administrator.
func (s *Service) RecoverAdmin(ctx context.Context, username string) (*botgate.User, *botgate.Token, string, error) {
	const op = "authority.RecoverAdmin"
	var u *botgate.User
	var t *botgate.Token
	var secret string
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		if username != "" {
			var err error
			u, err = tx.UserByUsername(ctx, username)
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.Errorf(botgate.KindNotFound, "no user %q", username)
			}
			if err != nil {
				return err
			}
		} else {
			admin := true
			users, _, err := tx.FindUsers(ctx, botgate.UserFilter{Admin: &admin, State: botgate.UserActive, Kinds: []botgate.UserKind{botgate.HumanUser}, Page: botgate.Page{Limit: 1}})
			if err != nil {
				return err
			}
			if len(users) == 0 {
				return botgate.Errorf(botgate.KindNotFound, "there is no active administrator: name one with --username")
			}
			u = users[0]
		}
		if !u.Admin || !u.Active() || u.Kind != botgate.HumanUser {
			return botgate.Invalid("username", "%s is not an active administrator", u.Username)
		}
		a := SystemActor()
		var err error
		t, secret, err = s.insertToken(ctx, tx, a, u, &botgate.Token{
			Kind:        botgate.PersonalToken,
			Name:        "recovered admin token",
			Description: "minted by botgate admin recover with access to the data directory",
			Scopes:      botgate.NormalizeScopes(botgate.Scopes{botgate.ScopeAPI, botgate.ScopeReadAPI, botgate.ScopeReadUser, botgate.ScopeSudo, botgate.ScopeAdminMode}),
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, s.event(a, botgate.ActionAdminRecover, "token", t.ID, u.Username))
	})
	if err != nil {
		return nil, nil, "", botgate.E(op, err)
	}
	return u, t, secret, nil
}

// LastActivityOn returns the day the user last used one of its tokens
// (GitLab's last_activity_on), or nil if it never did.
func (s *Service) LastActivityOn(ctx context.Context, userID int64) (*time.Time, error) {
	var out *time.Time
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		since := time.Unix(0, 0).UTC()
		ts, _, err := tx.FindTokens(ctx, botgate.TokenFilter{UserID: userID, LastUsedAfter: &since, Sort: "last_used_desc", Page: botgate.Page{Limit: 1}})
		if err != nil || len(ts) == 0 || ts[0].LastUsedAt == nil {
			return err
		}
		d := botgate.Date(*ts[0].LastUsedAt)
		out = &d
		return nil
	})
	if err != nil {
		return nil, botgate.E("authority.LastActivityOn", err)
	}
	return out, nil
}
