package authority

import (
	"context"
	"strings"

	"github.com/botgate/botgate"
)

// This file holds projects: their creation, reads, lists, updates and
// deletion.

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

// Project returns the project with the numeric ID or path-with-namespace
// ref, if the actor may see it; KindNotFound ("Project Not Found")
// otherwise.
func (s *Service) Project(ctx context.Context, a Actor, ref string) (*botgate.Project, error) {
	return readVisible(ctx, s, a, projectLookup, "authority.Project", ref)
}

// Projects lists the projects matching f that the actor may see, and their
// total.
func (s *Service) Projects(ctx context.Context, a Actor, f botgate.ProjectFilter) ([]*botgate.Project, int, error) {
	f.VisibleTo = s.viewer(a)
	var out []*botgate.Project
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		out, total, err = tx.FindProjects(ctx, f)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Projects", err)
	}
	return out, total, nil
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
	if err := checkRename(in.Name, in.Visibility); err != nil {
		return nil, botgate.E(op, err)
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
		return s.recordChanged(ctx, tx, s.event(a, botgate.ActionProjectUpdate, "project", p.ID, p.PathWithNamespace), changed)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return p, nil
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
