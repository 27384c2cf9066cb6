package authority

import (
	"context"
	"time"

	"github.com/botgate/botgate"
)

// This file holds direct memberships of groups and projects.

// MemberInfo is a membership with its user.
type MemberInfo struct {
	*botgate.Member
	User *botgate.User
}

// AddMember gives a user an access level on a group or project. The actor
// needs the Maintainer role there, and only an Owner may grant Owner. A
// project or group bot belongs to its own resource only.
func (s *Service) AddMember(ctx context.Context, a Actor, r botgate.Resource, userID int64, level botgate.AccessLevel, expiresAt *time.Time) (*botgate.Member, error) {
	const op = "authority.AddMember"
	if !level.ValidMemberLevel() {
		return nil, botgate.E(op, botgate.Invalid("access_level", "access_level does not have a valid value (10, 15, 20, 30, 40 or 50)"))
	}
	if err := s.checkFutureDate("expires_at", expiresAt, false); err != nil {
		return nil, botgate.E(op, err)
	}
	var m *botgate.Member
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		have, err := s.require(ctx, tx, a, r, botgate.MaintainerAccess)
		if err != nil {
			return err
		}
		if level > have {
			return forbidden("you cannot grant a role above your own (%s)", have)
		}
		u, err := tx.User(ctx, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("User")
		}
		if err != nil {
			return err
		}
		if (u.Kind == botgate.ProjectBot || u.Kind == botgate.GroupBot) && u.Owner != r {
			return botgate.Invalid("user_id", "%s is a bot of another %s; give this %s its own access token instead", u.Username, u.Owner.Type, r.Type)
		}
		m = &botgate.Member{Resource: r, UserID: userID, AccessLevel: level, ExpiresAt: expiresAt, CreatedByID: a.userID(), CreatedAt: s.clock.Now()}
		if err := tx.CreateMember(ctx, m); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Errorf(botgate.KindConflict, "Member already exists")
			}
			return err
		}
		e := s.event(a, botgate.ActionMemberAdd, string(r.Type), r.ID, "")
		e.Details = details("user", u.Username, "access_level", itoa(int64(level)))
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return m, nil
}

// AddMembers adds several users to r at one level, as GitLab's
// Members::CreateService does for a comma-separated user_id. The actor's
// right to add members at that level is the request's, decided once before
// any is added: an error returned is the whole request's (as AddMember's
// would be for one user), and nothing was added. Otherwise each user is
// added on its own (AddMember), and errs[i] is userIDs[i]'s refusal (a
// missing user, an existing member, another resource's bot), nil if added.
func (s *Service) AddMembers(ctx context.Context, a Actor, r botgate.Resource, userIDs []int64, level botgate.AccessLevel, expiresAt *time.Time) (errs []error, err error) {
	const op = "authority.AddMembers"
	if !level.ValidMemberLevel() {
		return nil, botgate.E(op, botgate.Invalid("access_level", "access_level does not have a valid value (10, 15, 20, 30, 40 or 50)"))
	}
	if err := s.checkFutureDate("expires_at", expiresAt, false); err != nil {
		return nil, botgate.E(op, err)
	}
	err = s.store.View(ctx, func(tx botgate.Tx) error {
		if err := resourceExists(ctx, tx, r); err != nil {
			return err
		}
		have, err := s.require(ctx, tx, a, r, botgate.MaintainerAccess)
		if err != nil {
			return err
		}
		if level > have {
			return forbidden("you cannot grant a role above your own (%s)", have)
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	errs = make([]error, len(userIDs))
	for i, id := range userIDs {
		_, errs[i] = s.AddMember(ctx, a, r, id, level, expiresAt)
		switch botgate.KindOf(errs[i]) {
		case botgate.KindInternal, botgate.KindForbidden, botgate.KindUnauthenticated:
			// The actor's right changed since it was decided: stop.
			return errs, botgate.E(op, errs[i])
		}
	}
	return errs, nil
}

// Members lists the direct members of r, which the actor must be able to
// see, and their total.
func (s *Service) Members(ctx context.Context, a Actor, r botgate.Resource, p botgate.Page) ([]MemberInfo, int, error) {
	return s.findMembers(ctx, a, botgate.MemberFilter{Resource: &r, Page: p})
}

// AllMembers lists the members of r, which the actor must be able to see,
// with those it inherits from the groups above it: one per user, at the
// highest level, as GitLab's members/all. userID, if not zero, selects
// that user's.
func (s *Service) AllMembers(ctx context.Context, a Actor, r botgate.Resource, userID int64, p botgate.Page) ([]MemberInfo, int, error) {
	return s.findMembers(ctx, a, botgate.MemberFilter{Resource: &r, Inherited: true, UserID: userID, Page: p})
}

// findMembers lists the memberships f selects of a resource the actor
// must be able to see, with their users.
func (s *Service) findMembers(ctx context.Context, a Actor, f botgate.MemberFilter) ([]MemberInfo, int, error) {
	var out []MemberInfo
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.visibleResource(ctx, tx, a, *f.Resource); err != nil {
			return err
		}
		ms, n, err := tx.FindMembers(ctx, f)
		if err != nil {
			return err
		}
		total = n
		for _, m := range ms {
			u, err := tx.User(ctx, m.UserID)
			if err != nil {
				return err
			}
			out = append(out, MemberInfo{Member: m, User: u})
		}
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Members", err)
	}
	return out, total, nil
}

// Member returns one direct membership of r; KindNotFound ("Member Not
// Found") if there is none.
func (s *Service) Member(ctx context.Context, a Actor, r botgate.Resource, userID int64) (*MemberInfo, error) {
	var out *MemberInfo
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.visibleResource(ctx, tx, a, r); err != nil {
			return err
		}
		m, err := member(ctx, tx, r, userID)
		if err != nil {
			return err
		}
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		out = &MemberInfo{Member: m, User: u}
		return nil
	})
	if err != nil {
		return nil, botgate.E("authority.Member", err)
	}
	return out, nil
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
		m, err := member(ctx, tx, r, userID)
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

// RemoveMember removes a direct membership. The actor needs the Maintainer
// role (Owner to remove an Owner). A bot's own membership cannot be removed:
// revoke its token instead.
func (s *Service) RemoveMember(ctx context.Context, a Actor, r botgate.Resource, userID int64) error {
	const op = "authority.RemoveMember"
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		have, err := s.require(ctx, tx, a, r, botgate.MaintainerAccess)
		if err != nil {
			return err
		}
		m, err := member(ctx, tx, r, userID)
		if err != nil {
			return err
		}
		if m.AccessLevel > have {
			return forbidden("only an Owner may remove an Owner")
		}
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		if (u.Kind == botgate.ProjectBot || u.Kind == botgate.GroupBot) && u.Owner == r {
			return botgate.Invalid("user_id", "%s is this %s's bot; revoke its access token instead", u.Username, r.Type)
		}
		if err := tx.DeleteMember(ctx, r, userID); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionMemberRemove, string(r.Type), r.ID, "")
		e.Details = details("user", u.Username)
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed(nil)
	return nil
}

// member returns the direct membership of userID on r; KindNotFound
// ("Member Not Found") if there is none.
func member(ctx context.Context, tx botgate.Tx, r botgate.Resource, userID int64) (*botgate.Member, error) {
	m, err := tx.Member(ctx, r, userID)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Member")
	}
	return m, err
}
