package authority

import (
	"context"
	"time"

	"github.com/botgate/botgate"
)

// AccessOn returns the user's effective access level on r at now: the
// highest of its direct membership and its memberships of the groups above
// r. Expired memberships do not count.
func AccessOn(ctx context.Context, tx botgate.Tx, userID int64, r botgate.Resource, now time.Time) (botgate.AccessLevel, error) {
	best := botgate.NoAccess
	consider := func(r botgate.Resource) error {
		m, err := tx.Member(ctx, r, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.ExpiresAt != nil && !now.Before(*m.ExpiresAt) {
			return nil
		}
		best = max(best, m.AccessLevel)
		return nil
	}
	groupID := r.ID
	if r.Type == botgate.ProjectResource {
		if err := consider(r); err != nil {
			return 0, err
		}
		p, err := tx.Project(ctx, r.ID)
		if err != nil {
			return 0, err
		}
		groupID = p.NamespaceID
	}
	// Walk up the group tree; depth is bounded to guard against cycles.
	for depth := 0; groupID != 0 && depth < 32; depth++ {
		if err := consider(botgate.Resource{Type: botgate.GroupResource, ID: groupID}); err != nil {
			return 0, err
		}
		g, err := tx.Group(ctx, groupID)
		if err != nil {
			return 0, err
		}
		groupID = g.ParentID
	}
	return best, nil
}

// accessOn is AccessOn for the actor at the service's time; admins and the
// system have Owner access everywhere.
func (s *Service) accessOn(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource) (botgate.AccessLevel, error) {
	if a.isAdmin() {
		return botgate.OwnerAccess, nil
	}
	if a.User == nil {
		return botgate.NoAccess, nil
	}
	return AccessOn(ctx, tx, a.User.ID, r, s.clock.Now())
}

// require checks that the actor has at least level on r. A resource the
// actor cannot see at all reads as not found, as GitLab answers.
func (s *Service) require(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, level botgate.AccessLevel) (botgate.AccessLevel, error) {
	have, err := s.accessOn(ctx, tx, a, r)
	if err != nil {
		return 0, err
	}
	if have >= level {
		return have, nil
	}
	if have == botgate.NoAccess {
		return 0, notFound(r)
	}
	return have, forbidden("requires the %s role on this %s; you have %s", level, r.Type, have)
}

// requireExisting is require on a project or group that must exist: a
// missing one reads as not found, to administrators too.
func (s *Service) requireExisting(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, level botgate.AccessLevel) (botgate.AccessLevel, error) {
	if err := resourceExists(ctx, tx, r); err != nil {
		return 0, err
	}
	return s.require(ctx, tx, a, r, level)
}

func notFound(r botgate.Resource) error {
	switch r.Type {
	case botgate.ProjectResource:
		return botgate.NotFound("Project")
	case botgate.GroupResource:
		return botgate.NotFound("Group")
	}
	return botgate.NotFound("Resource")
}

// MayReadMetrics reports whether the actor may read the server's metrics
// (/metrics): an administrator. Metrics name automations, routes and
// outcomes, which is more than an ordinary user may see.
func MayReadMetrics(a Actor) bool { return a.isAdmin() }
