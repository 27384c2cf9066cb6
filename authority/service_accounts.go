package authority

import (
	"cmp"
	"context"
	"strings"

	"github.com/botgate/botgate"
)

// This file holds service accounts and their tokens.

// NewServiceAccount describes a service account to create.
type NewServiceAccount struct {
	Name     string
	Username string // optional; generated when empty
	Email    string // optional; generated when empty
}

// CreateServiceAccount creates a service account owned by a team (a group),
// a project, or, with owner zero, the instance. A group's service account
// needs the Owner role on the group, a project's the Maintainer role, an
// instance one an administrator.
func (s *Service) CreateServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, in NewServiceAccount) (*botgate.User, error) {
	const op = "authority.CreateServiceAccount"
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	if in.Username != "" {
		if err := botgate.ValidateUsername(in.Username); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	var u *botgate.User
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		prefix := "service_account_"
		switch owner.Type {
		case "":
			if !a.isAdmin() {
				return forbidden("only administrators may create instance service accounts")
			}
		case botgate.GroupResource:
			if _, err := s.requireExisting(ctx, tx, a, owner, botgate.OwnerAccess); err != nil {
				return err
			}
			prefix += "group_" + itoa(owner.ID) + "_"
		case botgate.ProjectResource:
			if _, err := s.requireExisting(ctx, tx, a, owner, botgate.MaintainerAccess); err != nil {
				return err
			}
			prefix += "project_" + itoa(owner.ID) + "_"
		}
		username := in.Username
		if username == "" {
			hex, err := s.randomHex(16)
			if err != nil {
				return err
			}
			username = prefix + hex
		}
		name := in.Name
		if strings.TrimSpace(name) == "" {
			name = "Service account user"
		}
		email := in.Email
		if email == "" {
			email = username + "@noreply." + s.host
		}
		u = &botgate.User{
			Username: username, Name: name, Email: email, Kind: botgate.ServiceAccount, State: botgate.UserActive,
			Owner: owner, CreatedByID: a.userID(), CreatedAt: s.clock.Now(),
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Invalid("username", "Username or email has already been taken")
			}
			return err
		}
		e := s.event(a, botgate.ActionUserCreate, "user", u.ID, u.Username)
		e.Details = details("kind", string(u.Kind), "owner", owner.String())
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return u, nil
}

// CreateServiceAccountToken creates a personal access token for a service
// account. Only the owning team's Maintainers and Owners (the project's, for
// a project service account) and administrators may, never the account
// itself; and only someone who holds at least each of the account's roles
// (see checkMint).
func (s *Service) CreateServiceAccountToken(ctx context.Context, a Actor, saID int64, in NewToken) (*Created, error) {
	const op = "authority.CreateServiceAccountToken"
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	scopes, exp, err := s.validateNew(in, false)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	var out Created
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
		u, err := tx.User(ctx, saID)
		if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && u.Kind != botgate.ServiceAccount) {
			return botgate.NotFound("Service account")
		}
		if err != nil {
			return err
		}
		if err := s.canManageUser(ctx, tx, a, u); err != nil {
			return err
		}
		if !u.Active() {
			return botgate.Invalid("user_id", "service account %s is %s", u.Username, u.State)
		}
		t := &botgate.Token{
			Kind: botgate.ServiceAccountToken, Name: in.Name, Description: in.Description, Scopes: scopes, ExpiresAt: exp, Automation: in.Automation,
		}
		if err := s.checkMint(ctx, tx, a, u, t, false); err != nil {
			return err
		}
		out.User = u
		out.Token, out.Secret, err = s.insertToken(ctx, tx, a, u, t)
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return &out, nil
}

// ServiceAccountQuery selects service accounts.
type ServiceAccountQuery struct {
	// Owner is the group or project that owns them; zero for the
	// instance's own.
	Owner   botgate.Resource
	OrderBy string // "id" (default) or "username"
	Sort    string // "desc" (default) or "asc"
	Page    botgate.Page
}

// ServiceAccounts lists service accounts. Instance ones need an
// administrator; a group's or project's need the Maintainer role there.
func (s *Service) ServiceAccounts(ctx context.Context, a Actor, q ServiceAccountQuery) ([]*botgate.User, int, error) {
	const op = "authority.ServiceAccounts"
	switch q.OrderBy {
	case "", "id", "username":
	default:
		return nil, 0, botgate.E(op, botgate.Invalid("order_by", "order_by does not have a valid value"))
	}
	switch q.Sort {
	case "", "asc", "desc":
	default:
		return nil, 0, botgate.E(op, botgate.Invalid("sort", "sort does not have a valid value"))
	}
	var out []*botgate.User
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.canListServiceAccounts(ctx, tx, a, q.Owner); err != nil {
			return err
		}
		owner := q.Owner
		order := botgate.OrderBy{Field: cmp.Or(q.OrderBy, "id"), Desc: q.Sort != "asc"}
		var err error
		out, total, err = tx.FindUsers(ctx, botgate.UserFilter{Kinds: []botgate.UserKind{botgate.ServiceAccount}, Owner: &owner, Order: order, Page: q.Page})
		return err
	})
	if err != nil {
		return nil, 0, botgate.E(op, err)
	}
	return out, total, nil
}

func (s *Service) canListServiceAccounts(ctx context.Context, tx botgate.Tx, a Actor, owner botgate.Resource) error {
	if owner.IsZero() {
		if !a.isAdmin() {
			return botgate.E(botgate.KindForbidden)
		}
		return nil
	}
	_, err := s.requireExisting(ctx, tx, a, owner, botgate.MaintainerAccess)
	return err
}

// serviceAccount returns the service account id owned by owner (zero for
// the instance) if the actor may manage it.
func (s *Service) serviceAccount(ctx context.Context, tx botgate.Tx, a Actor, owner botgate.Resource, id int64) (*botgate.User, error) {
	if err := s.canListServiceAccounts(ctx, tx, a, owner); err != nil {
		return nil, err
	}
	u, err := tx.User(ctx, id)
	if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && (u.Kind != botgate.ServiceAccount || u.Owner != owner)) {
		return nil, botgate.NotFound("User")
	}
	return u, err
}

// ServiceAccount returns the service account id of owner (zero for the
// instance), if the actor may manage it.
func (s *Service) ServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, id int64) (*botgate.User, error) {
	var u *botgate.User
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		u, err = s.serviceAccount(ctx, tx, a, owner, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.ServiceAccount", err)
	}
	return u, nil
}

// ServiceAccountTokens lists the personal access tokens of the service
// account saID owned by owner.
func (s *Service) ServiceAccountTokens(ctx context.Context, a Actor, owner botgate.Resource, saID int64, q TokenQuery) ([]*botgate.Token, int, error) {
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		u, err := s.serviceAccount(ctx, tx, a, owner, saID)
		if err != nil {
			return err
		}
		q.UserID = u.ID
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.ServiceAccountTokens", err)
	}
	return out, total, nil
}

// CheckServiceAccountToken checks that tokenID belongs to the service
// account saID owned by owner, and that the actor may manage it, before a
// rotation or revocation through the service account's routes.
func (s *Service) CheckServiceAccountToken(ctx context.Context, a Actor, owner botgate.Resource, saID, tokenID int64) error {
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := s.serviceAccount(ctx, tx, a, owner, saID); err != nil {
			return err
		}
		t, err := tx.Token(ctx, tokenID)
		if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && t.UserID != saID) {
			return botgate.NotFound("Token")
		}
		return err
	})
	if err != nil {
		return botgate.E("authority.CheckServiceAccountToken", err)
	}
	return nil
}

// ServiceAccountUpdate lists the service account fields to change.
type ServiceAccountUpdate struct {
	Name     *string
	Username *string
	Email    *string
}

// UpdateServiceAccount changes a service account owned by owner (zero for
// the instance).
func (s *Service) UpdateServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, id int64, in ServiceAccountUpdate) (*botgate.User, error) {
	const op = "authority.UpdateServiceAccount"
	if in.Username != nil {
		if err := botgate.ValidateUsername(*in.Username); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		return nil, botgate.E(op, botgate.Invalid("name", "name is empty"))
	}
	if in.Email != nil && (!strings.Contains(*in.Email, "@") || strings.ContainsAny(*in.Email, "<> \r\n")) {
		return nil, botgate.E(op, botgate.Invalid("email", "email is invalid"))
	}
	var u *botgate.User
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		var err error
		if u, err = s.serviceAccount(ctx, tx, a, owner, id); err != nil {
			return err
		}
		// Renaming an account is managing it: the role that creates and
		// deletes it (Owner of a group), not the one that lists it.
		if !owner.IsZero() {
			if _, err := s.require(ctx, tx, a, owner, ownerManageLevel(owner)); err != nil {
				return err
			}
		}
		var changed []string
		changed = setField(changed, "name", &u.Name, in.Name)
		changed = setField(changed, "username", &u.Username, in.Username)
		changed = setField(changed, "email", &u.Email, in.Email)
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Invalid("username", "Username or email has already been taken")
			}
			return err
		}
		return s.recordChanged(ctx, tx, s.event(a, botgate.ActionUserUpdate, "user", u.ID, u.Username), changed)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return u, nil
}

// DeleteServiceAccount retires a service account owned by owner: its
// tokens are revoked and it is deactivated, its memberships removed. The
// record stays, so that the audit trail keeps its name.
func (s *Service) DeleteServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, id int64) error {
	const op = "authority.DeleteServiceAccount"
	var revoked []int64
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		u, err := s.serviceAccount(ctx, tx, a, owner, id)
		if err != nil {
			return err
		}
		if !owner.IsZero() {
			if _, err := s.require(ctx, tx, a, owner, ownerManageLevel(owner)); err != nil {
				return err
			}
		}
		if revoked, err = tx.RevokeUserTokens(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
		ms, _, err := tx.FindMembers(ctx, botgate.MemberFilter{UserID: u.ID, Page: botgate.Page{Limit: maxScan}})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := tx.DeleteMember(ctx, m.Resource, u.ID); err != nil {
				return err
			}
		}
		if err := s.deactivate(ctx, tx, a, u, "service account deleted"); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionUserDelete, "user", u.ID, u.Username)
		e.Details = details("kind", string(u.Kind), "owner", owner.String(), "revoked_tokens", itoa(int64(len(revoked))))
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed(revoked)
	return nil
}

// ownerManageLevel is the role that creates and deletes an owner's service
// accounts: Owner of a group, Maintainer of a project.
func ownerManageLevel(owner botgate.Resource) botgate.AccessLevel {
	if owner.Type == botgate.GroupResource {
		return botgate.OwnerAccess
	}
	return botgate.MaintainerAccess
}
