package authority

import (
	"context"
	"strconv"
	"strings"
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

// canSee reports whether the actor may see a group or project with the
// visibility: administrators see everything, anyone authenticated sees
// internal and public ones, and members (direct or through a parent group)
// see private ones.
func (s *Service) canSee(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, vis botgate.Visibility) (bool, error) {
	if a.isAdmin() {
		return true, nil
	}
	if a.User == nil {
		return vis == botgate.Public, nil
	}
	if vis == botgate.Internal || vis == botgate.Public {
		return true, nil
	}
	have, err := s.accessOn(ctx, tx, a, r)
	return have > botgate.NoAccess, err
}

// viewer is the store filter for the groups and projects the actor may
// see (canSee's rule); nil for an administrator, who sees them all.
func (s *Service) viewer(a Actor) *botgate.Viewer {
	if a.isAdmin() {
		return nil
	}
	v := &botgate.Viewer{At: s.clock.Now()}
	if a.User != nil {
		v.UserID = a.User.ID
	}
	return v
}

// visibleResource checks that the actor may see r.
func (s *Service) visibleResource(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource) error {
	var vis botgate.Visibility
	switch r.Type {
	case botgate.ProjectResource:
		p, err := tx.Project(ctx, r.ID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return notFound(r)
		}
		if err != nil {
			return err
		}
		vis = p.Visibility
	case botgate.GroupResource:
		g, err := tx.Group(ctx, r.ID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return notFound(r)
		}
		if err != nil {
			return err
		}
		vis = g.Visibility
	default:
		return botgate.Invalid("resource", "unknown resource type %q", r.Type)
	}
	ok, err := s.canSee(ctx, tx, a, r, vis)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(r)
	}
	return nil
}

// Resource resolves a project or group reference (numeric ID or full path)
// the actor may see.
func (s *Service) Resource(ctx context.Context, a Actor, typ botgate.ResourceType, ref string) (botgate.Resource, error) {
	switch typ {
	case botgate.ProjectResource:
		p, err := s.Project(ctx, a, ref)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: p.ID}, nil
	case botgate.GroupResource:
		g, err := s.Group(ctx, a, ref)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: g.ID}, nil
	}
	return botgate.Resource{}, botgate.Invalid("resource", "unknown resource type %q", typ)
}

// refID reports whether ref is a numeric ID, and which.
func refID(ref string) (int64, bool) {
	if ref == "" || len(ref) > 19 {
		return 0, false
	}
	for _, c := range ref {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil && id > 0
}

// lookup says how the reads groups and projects share find one of them: its
// resource type, the noun of its not-found error, its store lookups by ID
// and by full path, and its ID and visibility.
type lookup[T any] struct {
	typ    botgate.ResourceType
	noun   string
	byID   func(botgate.Tx, context.Context, int64) (T, error)
	byPath func(botgate.Tx, context.Context, string) (T, error)
	attrs  func(T) (int64, botgate.Visibility)
}

// groupLookup and projectLookup are the lookups of groups and projects.
var (
	groupLookup = lookup[*botgate.Group]{
		typ: botgate.GroupResource, noun: "Group", byID: botgate.Tx.Group, byPath: botgate.Tx.GroupByPath,
		attrs: func(g *botgate.Group) (int64, botgate.Visibility) { return g.ID, g.Visibility },
	}
	projectLookup = lookup[*botgate.Project]{
		typ: botgate.ProjectResource, noun: "Project", byID: botgate.Tx.Project, byPath: botgate.Tx.ProjectByPath,
		attrs: func(p *botgate.Project) (int64, botgate.Visibility) { return p.ID, p.Visibility },
	}
)

// byRef returns the group or project with the numeric ID or full path ref;
// KindNotFound ("Group Not Found", "Project Not Found") if there is none.
func byRef[T any](ctx context.Context, tx botgate.Tx, l lookup[T], ref string) (T, error) {
	var v T
	var err error
	if id, ok := refID(ref); ok {
		v, err = l.byID(tx, ctx, id)
	} else {
		v, err = l.byPath(tx, ctx, strings.Trim(ref, "/"))
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		var zero T
		return zero, botgate.NotFound(l.noun)
	}
	return v, err
}

// visible returns the group or project ref if the actor may see it; one it
// may not see reads as not found, as a missing one does.
func visible[T any](ctx context.Context, s *Service, tx botgate.Tx, a Actor, l lookup[T], ref string) (T, error) {
	var zero T
	v, err := byRef(ctx, tx, l, ref)
	if err != nil {
		return zero, err
	}
	id, vis := l.attrs(v)
	ok, err := s.canSee(ctx, tx, a, botgate.Resource{Type: l.typ, ID: id}, vis)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, botgate.NotFound(l.noun)
	}
	return v, nil
}

// readVisible is visible in a read transaction of its own, with its error
// wrapped in op.
func readVisible[T any](ctx context.Context, s *Service, a Actor, l lookup[T], op, ref string) (T, error) {
	var v T
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		v, err = visible(ctx, s, tx, a, l, ref)
		return err
	})
	if err != nil {
		var zero T
		return zero, botgate.E(op, err)
	}
	return v, nil
}

func resourceExists(ctx context.Context, tx botgate.Tx, r botgate.Resource) error {
	var err error
	switch r.Type {
	case botgate.ProjectResource:
		_, err = tx.Project(ctx, r.ID)
	case botgate.GroupResource:
		_, err = tx.Group(ctx, r.ID)
	default:
		return botgate.Invalid("resource", "unknown resource type %q", r.Type)
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		return notFound(r)
	}
	return err
}

// checkRename checks the name and visibility an update of a group or
// project gives; nil leaves them as they are.
func checkRename(name *string, vis *botgate.Visibility) error {
	if name != nil {
		if err := botgate.ValidateName("name", *name); err != nil {
			return err
		}
	}
	if vis != nil {
		return checkVisibility(*vis)
	}
	return nil
}

// checkVisibility rejects a visibility that is not one of GitLab's three.
func checkVisibility(v botgate.Visibility) error {
	if !v.Valid() {
		return botgate.Invalid("visibility", "visibility does not have a valid value (private, internal or public)")
	}
	return nil
}
