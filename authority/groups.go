package authority

import (
	"context"

	"github.com/botgate/botgate"
)

// NewGroup describes a group to create.
type NewGroup struct {
	Name        string
	Path        string
	ParentID    int64
	Description string
	Visibility  botgate.Visibility
}

// CreateGroup creates a group. Any active human may create a top-level
// group; a subgroup needs the Maintainer role on its parent. The creator
// becomes the group's Owner.
func (s *Service) CreateGroup(ctx context.Context, a Actor, in NewGroup) (*botgate.Group, error) {
	const op = "authority.CreateGroup"
	if err := botgate.ValidateName("name", in.Name); err != nil {
		return nil, botgate.E(op, err)
	}
	if err := botgate.ValidatePath("path", in.Path); err != nil {
		return nil, botgate.E(op, err)
	}
	if in.Visibility == "" {
		in.Visibility = botgate.Private
	}
	if err := checkVisibility(in.Visibility); err != nil {
		return nil, botgate.E(op, err)
	}
	if !a.isAdmin() && (a.User == nil || a.User.Kind != botgate.HumanUser) {
		return nil, botgate.E(op, forbidden("bots cannot create groups"))
	}
	var g *botgate.Group
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		full := in.Path
		if in.ParentID != 0 {
			parent, err := tx.Group(ctx, in.ParentID)
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("Parent Group")
			}
			if err != nil {
				return err
			}
			if _, err := s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: parent.ID}, botgate.MaintainerAccess); err != nil {
				return err
			}
			full = parent.FullPath + "/" + in.Path
		}
		g = &botgate.Group{
			Name: in.Name, Path: in.Path, FullPath: full, ParentID: in.ParentID,
			Description: in.Description, Visibility: in.Visibility, CreatedAt: s.clock.Now(),
		}
		if err := tx.CreateGroup(ctx, g); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Invalid("path", "Failed to save group {:path=>[\"has already been taken\"]}")
			}
			return err
		}
		events := []*botgate.AuditEvent{s.event(a, botgate.ActionGroupCreate, "group", g.ID, g.FullPath)}
		if a.User != nil && !a.System {
			m := &botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, UserID: a.User.ID,
				AccessLevel: botgate.OwnerAccess, CreatedByID: a.User.ID, CreatedAt: s.clock.Now()}
			if err := tx.CreateMember(ctx, m); err != nil {
				return err
			}
			e := s.event(a, botgate.ActionMemberAdd, "group", g.ID, g.FullPath)
			e.Details = details("user", a.User.Username, "access_level", itoa(int64(m.AccessLevel)))
			events = append(events, e)
		}
		return s.record(ctx, tx, events...)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return g, nil
}

// Group returns the group with the numeric ID or full path ref, if the
// actor may see it; KindNotFound ("Group Not Found") otherwise.
func (s *Service) Group(ctx context.Context, a Actor, ref string) (*botgate.Group, error) {
	return readVisible(ctx, s, a, groupLookup, "authority.Group", ref)
}

// Groups lists the groups matching f that the actor may see, and their
// total.
func (s *Service) Groups(ctx context.Context, a Actor, f botgate.GroupFilter) ([]*botgate.Group, int, error) {
	f.VisibleTo = s.viewer(a)
	var out []*botgate.Group
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		out, total, err = tx.FindGroups(ctx, f)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Groups", err)
	}
	return out, total, nil
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
	if err := checkRename(in.Name, in.Visibility); err != nil {
		return nil, botgate.E(op, err)
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
		return s.recordChanged(ctx, tx, s.event(a, botgate.ActionGroupUpdate, "group", g.ID, g.FullPath), changed)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return g, nil
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

// GroupAncestry returns the groups with the IDs and all their ancestors,
// by ID. It checks no permission: the HTTP edge uses it only to name the
// namespaces of groups and projects the actor may already see (GitLab's
// full_name and namespace fields).
func (s *Service) GroupAncestry(ctx context.Context, ids []int64) (map[int64]*botgate.Group, error) {
	out := make(map[int64]*botgate.Group)
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		for _, id := range ids {
			for depth := 0; id != 0 && depth < 32; depth++ {
				if _, ok := out[id]; ok {
					break
				}
				g, err := tx.Group(ctx, id)
				if botgate.IsKind(err, botgate.KindNotFound) {
					break
				}
				if err != nil {
					return err
				}
				out[id] = g
				id = g.ParentID
			}
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E("authority.GroupAncestry", err)
	}
	return out, nil
}
