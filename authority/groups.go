package authority

import (
	"context"
	"time"

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

// NewProject describes a project to create.
type NewProject struct {
	Name          string
	Path          string
	NamespaceID   int64
	Description   string
	Visibility    botgate.Visibility
	DefaultBranch string
}

// CreateProject creates a project in a group; it needs the Maintainer role
// on the group.
func (s *Service) CreateProject(ctx context.Context, a Actor, in NewProject) (*botgate.Project, error) {
	const op = "authority.CreateProject"
	if in.Path == "" && in.Name != "" {
		in.Path = pathFromName(in.Name)
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	if err := botgate.ValidateName("name", in.Name); err != nil {
		return nil, botgate.E(op, err)
	}
	if err := botgate.ValidatePath("path", in.Path); err != nil {
		return nil, botgate.E(op, err)
	}
	if in.NamespaceID == 0 {
		return nil, botgate.E(op, botgate.Invalid("namespace_id", "namespace_id is missing: botgate projects live in a group"))
	}
	if in.Visibility == "" {
		in.Visibility = botgate.Private
	}
	if err := checkVisibility(in.Visibility); err != nil {
		return nil, botgate.E(op, err)
	}
	if in.DefaultBranch == "" {
		in.DefaultBranch = "main"
	}
	var p *botgate.Project
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		g, err := tx.Group(ctx, in.NamespaceID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Namespace")
		}
		if err != nil {
			return err
		}
		if _, err := s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, botgate.MaintainerAccess); err != nil {
			return err
		}
		p = &botgate.Project{
			Name: in.Name, Path: in.Path, PathWithNamespace: g.FullPath + "/" + in.Path, NamespaceID: g.ID,
			Description: in.Description, Visibility: in.Visibility, DefaultBranch: in.DefaultBranch, CreatedAt: s.clock.Now(),
		}
		if err := tx.CreateProject(ctx, p); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Invalid("path", "path has already been taken")
			}
			return err
		}
		return s.record(ctx, tx, s.event(a, botgate.ActionProjectCreate, "project", p.ID, p.PathWithNamespace))
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return p, nil
}

func pathFromName(name string) string {
	b := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		default:
			if len(b) > 0 && b[len(b)-1] != '-' {
				b = append(b, '-')
			}
		}
	}
	for len(b) > 0 && (b[len(b)-1] == '-' || b[len(b)-1] == '.') {
		b = b[:len(b)-1]
	}
	return string(b)
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
		m, err := tx.Member(ctx, r, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Member")
		}
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

// checkVisibility rejects a visibility that is not one of GitLab's three.
func checkVisibility(v botgate.Visibility) error {
	if !v.Valid() {
		return botgate.Invalid("visibility", "visibility does not have a valid value (private, internal or public)")
	}
	return nil
}
