package authority

import (
	"context"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// This file holds updates and deletions of groups, projects, members and
// service accounts, and revocation by secret.

// checkSecret rejects a malformed token with a not-found error, before any
// store access.
func checkSecret(secret, prefix string) error {
	if strings.TrimSpace(secret) == "" {
		return botgate.Invalid("token", "token is missing")
	}
	if err := tokenfmt.Check(secret, prefix); err != nil {
		return botgate.NotFound("Token")
	}
	return nil
}

// setField sets *field to *v when v is given and differs from it, and then
// returns changed with name appended; otherwise it returns changed as is.
func setField[T comparable](changed []string, name string, field, v *T) []string {
	if v == nil || *v == *field {
		return changed
	}
	*field = *v
	return append(changed, name)
}

// GroupUpdate lists the group fields to change; nil leaves a field as is.
type GroupUpdate struct {
	Name        *string
	Description *string
	Visibility  *botgate.Visibility
}

// UpdateGroup changes a group's name, description or visibility. The actor
// needs the Owner role. The path cannot change (it would move every
// project under it).
func (s *Service) UpdateGroup(ctx context.Context, a Actor, id int64, in GroupUpdate) (*botgate.Group, error) {
	const op = "authority.UpdateGroup"
	if in.Name != nil {
		if err := botgate.ValidateName("name", *in.Name); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	if in.Visibility != nil {
		if err := checkVisibility(*in.Visibility); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	var g *botgate.Group
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		r := botgate.Resource{Type: botgate.GroupResource, ID: id}
		if _, err := s.requireExisting(ctx, tx, a, r, botgate.OwnerAccess); err != nil {
			return err
		}
		var err error
		if g, err = tx.Group(ctx, id); err != nil {
			return err
		}
		var changed []string
		changed = setField(changed, "name", &g.Name, in.Name)
		changed = setField(changed, "description", &g.Description, in.Description)
		changed = setField(changed, "visibility", &g.Visibility, in.Visibility)
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionGroupUpdate, "group", g.ID, g.FullPath)
		e.Details = details("changed", strings.Join(changed, ","))
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return g, nil
}

// ProjectUpdate lists the project fields to change; nil leaves a field as
// is.
type ProjectUpdate struct {
	Name          *string
	Description   *string
	Visibility    *botgate.Visibility
	DefaultBranch *string
}

// UpdateProject changes a project's name, description, visibility or
// default branch. The actor needs the Maintainer role (Owner to change the
// visibility).
func (s *Service) UpdateProject(ctx context.Context, a Actor, id int64, in ProjectUpdate) (*botgate.Project, error) {
	const op = "authority.UpdateProject"
	if in.Name != nil {
		if err := botgate.ValidateName("name", *in.Name); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	if in.Visibility != nil {
		if err := checkVisibility(*in.Visibility); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	if in.DefaultBranch != nil && strings.TrimSpace(*in.DefaultBranch) == "" {
		return nil, botgate.E(op, botgate.Invalid("default_branch", "default_branch is empty"))
	}
	var p *botgate.Project
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		r := botgate.Resource{Type: botgate.ProjectResource, ID: id}
		need := botgate.MaintainerAccess
		if in.Visibility != nil {
			need = botgate.OwnerAccess
		}
		if _, err := s.requireExisting(ctx, tx, a, r, need); err != nil {
			return err
		}
		var err error
		if p, err = tx.Project(ctx, id); err != nil {
			return err
		}
		var changed []string
		changed = setField(changed, "name", &p.Name, in.Name)
		changed = setField(changed, "description", &p.Description, in.Description)
		changed = setField(changed, "visibility", &p.Visibility, in.Visibility)
		changed = setField(changed, "default_branch", &p.DefaultBranch, in.DefaultBranch)
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateProject(ctx, p); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionProjectUpdate, "project", p.ID, p.PathWithNamespace)
		e.Details = details("changed", strings.Join(changed, ","))
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return p, nil
}

// retire revokes every token of the resource's bots and service accounts,
// deactivates them, and removes every direct membership of r, so that r
// can be deleted. It returns the revoked token IDs.
func (s *Service) retire(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, why string) ([]int64, error) {
	var revoked []int64
	owned, _, err := tx.FindUsers(ctx, botgate.UserFilter{Owner: &r, Page: botgate.Page{Limit: maxScan}})
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for _, u := range owned {
		ids, err := tx.RevokeUserTokens(ctx, u.ID, now)
		if err != nil {
			return nil, err
		}
		revoked = append(revoked, ids...)
		if err := s.deactivate(ctx, tx, a, u, why); err != nil {
			return nil, err
		}
	}
	members, _, err := tx.FindMembers(ctx, botgate.MemberFilter{Resource: &r, Page: botgate.Page{Limit: maxScan}})
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if err := tx.DeleteMember(ctx, r, m.UserID); err != nil {
			return nil, err
		}
	}
	if len(revoked) > 0 {
		e := s.event(a, botgate.ActionTokenRevoke, string(r.Type), r.ID, "")
		e.Details = details("reason", why, "revoked_ids", joinIDs(revoked))
		if err := s.record(ctx, tx, e); err != nil {
			return nil, err
		}
	}
	return revoked, nil
}

// DeleteGroup deletes a group that has no subgroups or projects left. The
// actor needs the Owner role. The group's memberships go, and its bots and
// service accounts are deactivated with their tokens revoked.
func (s *Service) DeleteGroup(ctx context.Context, a Actor, id int64) error {
	const op = "authority.DeleteGroup"
	var revoked []int64
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		r := botgate.Resource{Type: botgate.GroupResource, ID: id}
		if _, err := s.requireExisting(ctx, tx, a, r, botgate.OwnerAccess); err != nil {
			return err
		}
		g, err := tx.Group(ctx, id)
		if err != nil {
			return err
		}
		parent := id
		if _, n, err := tx.FindGroups(ctx, botgate.GroupFilter{ParentID: &parent, Page: botgate.Page{Limit: 1}}); err != nil {
			return err
		} else if n > 0 {
			return notEmpty("the group still has %d subgroups; delete them first", n)
		}
		if _, n, err := tx.FindProjects(ctx, botgate.ProjectFilter{NamespaceID: id, Page: botgate.Page{Limit: 1}}); err != nil {
			return err
		} else if n > 0 {
			return notEmpty("the group still has %d projects; delete them first", n)
		}
		if revoked, err = s.retire(ctx, tx, a, r, "group "+g.FullPath+" deleted"); err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, s.event(a, botgate.ActionGroupDelete, "group", g.ID, g.FullPath))
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed(revoked)
	return nil
}

// DeleteProject deletes a project. The actor needs the Owner role. Its
// memberships go, and its bots and service accounts are deactivated with
// their tokens revoked.
func (s *Service) DeleteProject(ctx context.Context, a Actor, id int64) error {
	const op = "authority.DeleteProject"
	var revoked []int64
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		r := botgate.Resource{Type: botgate.ProjectResource, ID: id}
		if _, err := s.requireExisting(ctx, tx, a, r, botgate.OwnerAccess); err != nil {
			return err
		}
		p, err := tx.Project(ctx, id)
		if err != nil {
			return err
		}
		if revoked, err = s.retire(ctx, tx, a, r, "project "+p.PathWithNamespace+" deleted"); err != nil {
			return err
		}
		if err := tx.DeleteProject(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, s.event(a, botgate.ActionProjectDelete, "project", p.ID, p.PathWithNamespace))
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed(revoked)
	return nil
}

// MemberUpdate lists the membership fields to change.
type MemberUpdate struct {
	AccessLevel botgate.AccessLevel // 0 leaves it
	ExpiresAt   *time.Time          // with SetExpiry: nil clears it
	SetExpiry   bool
}

// UpdateMember changes a direct membership's access level or expiry. The
// actor needs the Maintainer role; nobody may grant, or change the
// membership of someone holding, a role above their own. A bot's own
// membership follows its token and cannot be changed here.
func (s *Service) UpdateMember(ctx context.Context, a Actor, r botgate.Resource, userID int64, in MemberUpdate) (*MemberInfo, error) {
	const op = "authority.UpdateMember"
	if in.AccessLevel != 0 && !in.AccessLevel.ValidMemberLevel() {
		return nil, botgate.E(op, botgate.Invalid("access_level", "access_level does not have a valid value (10, 15, 20, 30, 40 or 50)"))
	}
	if in.SetExpiry {
		if err := s.checkFutureDate("expires_at", in.ExpiresAt, false); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	var out *MemberInfo
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		have, err := s.requireExisting(ctx, tx, a, r, botgate.MaintainerAccess)
		if err != nil {
			return err
		}
		m, err := tx.Member(ctx, r, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Member")
		}
		if err != nil {
			return err
		}
		if m.AccessLevel > have || in.AccessLevel > have {
			return forbidden("you cannot change a role above your own (%s)", have)
		}
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		if (u.Kind == botgate.ProjectBot || u.Kind == botgate.GroupBot) && u.Owner == r {
			return botgate.Invalid("user_id", "%s is this %s's bot; its role follows its access token", u.Username, r.Type)
		}
		if in.AccessLevel != 0 {
			m.AccessLevel = in.AccessLevel
		}
		if in.SetExpiry {
			m.ExpiresAt = in.ExpiresAt
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionMemberUpdate, string(r.Type), r.ID, "")
		e.Details = details("user", u.Username, "access_level", itoa(int64(m.AccessLevel)), "expires_at", dateStr(m.ExpiresAt))
		out = &MemberInfo{Member: m, User: u}
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	s.changed(nil)
	return out, nil
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
		e := s.event(a, botgate.ActionUserUpdate, "user", u.ID, u.Username)
		e.Details = details("changed", strings.Join(changed, ","))
		return s.record(ctx, tx, e)
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

// RevokeTokenBySecret revokes the token whose secret is presented, for an
// administrator (DELETE /admin/token).
func (s *Service) RevokeTokenBySecret(ctx context.Context, a Actor, secret string) error {
	t, err := s.LookupToken(ctx, a, secret)
	if err != nil {
		return err
	}
	return s.RevokeToken(ctx, a, t.ID)
}

// ActionTokenAutomation is the audit action for a change of a token's
// automation label.
const ActionTokenAutomation = "token.automation"

// MaxAutomationLength bounds an automation label.
const MaxAutomationLength = 255

// SetAutomation labels a token with the automation it serves ("" clears
// the label). The label carries policy (the automation's routes and rate
// limit), so only those who manage the token's user may set it: the
// person for their own tokens, the owning team's Maintainers and Owners
// for a bot's or service account's, administrators; never the token
// itself, nor a bot or service account on its own tokens. The label stays
// with the token's rotation family only for tokens rotated afterwards.
func (s *Service) SetAutomation(ctx context.Context, a Actor, id int64, automation string) (*botgate.Token, error) {
	const op = "authority.SetAutomation"
	automation = strings.TrimSpace(automation)
	if len(automation) > MaxAutomationLength {
		return nil, botgate.E(op, botgate.Invalid("automation", "automation is too long (maximum is %d characters)", MaxAutomationLength))
	}
	if strings.ContainsFunc(automation, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, botgate.E(op, botgate.Invalid("automation", "automation is invalid: it must not contain control characters"))
	}
	var t *botgate.Token
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		var err error
		if t, err = s.manageableToken(ctx, tx, a, id); err != nil {
			return err
		}
		if err := s.mayLabel(ctx, tx, a, t); err != nil {
			return err
		}
		if t.Automation == automation {
			return nil
		}
		if err := tx.SetTokenAutomation(ctx, id, automation); err != nil {
			return err
		}
		e := s.event(a, ActionTokenAutomation, "token", t.ID, t.Name)
		e.Details = details("from", t.Automation, "to", automation)
		t.Automation = automation
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	s.changed([]int64{id})
	return t, nil
}

// mayLabel checks that the actor may change t's automation label. A token
// may read and rotate itself, but not shed its own policy.
func (s *Service) mayLabel(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token) error {
	if a.isAdmin() {
		return nil
	}
	if a.Token != nil && a.Token.ID == t.ID {
		return forbidden("a token cannot change its own automation label; the owning team's Maintainers and Owners can")
	}
	if a.User != nil && a.User.Kind.Bot() && a.User.ID == t.UserID {
		return forbidden("a %s cannot change the automation label of its own tokens; the owning team's Maintainers and Owners can", kindWords(a.User.Kind))
	}
	u, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	return s.canManageUser(ctx, tx, a, u)
}
