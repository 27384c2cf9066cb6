package sqlstore

import (
	"context"
	"database/sql"

	"github.com/botgate/botgate"
)

const projectCols = `id, name, path, path_with_namespace, namespace_id, description, visibility, default_branch, created_at`

func scanProject(r scanner) (*botgate.Project, error) {
	var (
		p       botgate.Project
		created int64
	)
	if err := r.Scan(&p.ID, &p.Name, &p.Path, &p.PathWithNamespace, &p.NamespaceID, &p.Description,
		&p.Visibility, &p.DefaultBranch, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicro(created)
	return &p, nil
}

// CreateProject inserts p and sets its ID.
func (t *Tx) CreateProject(ctx context.Context, p *botgate.Project) error {
	const op = "CreateProject"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&p.CreatedAt)
	id, err := t.insertID(ctx, `INSERT INTO projects (name, path, path_with_namespace, namespace_id, description, visibility, default_branch, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Name, p.Path, p.PathWithNamespace, p.NamespaceID, p.Description, string(p.Visibility), p.DefaultBranch, toMicro(p.CreatedAt))
	if err != nil {
		return projectError(t.dbError(op, err))
	}
	p.ID = id
	return nil
}

// projectError names the fields of a project's constraint errors.
func projectError(err error) error {
	e, ok := err.(*botgate.Error)
	if !ok {
		return err
	}
	switch e.Kind {
	case botgate.KindInvalid:
		e.Field, e.Message = "namespace_id", "namespace does not exist"
	case botgate.KindConflict:
		e.Field, e.Message = "path", "path has already been taken"
	}
	return err
}

// Project returns the project with the ID.
// ProjectByIDQuery reads one project by id; a store may prepare it (a hot
// query of the membership walk).
const ProjectByIDQuery = `SELECT ` + projectCols + ` FROM projects WHERE id = ?`

func (t *Tx) Project(ctx context.Context, id int64) (*botgate.Project, error) {
	const op = "Project"
	row := t.queryRow(ctx, ProjectByIDQuery, id)
	p, err := scanProject(row)
	if err != nil {
		return nil, t.notFound(op, "Project", err)
	}
	return p, nil
}

// ProjectByPath returns the project with the path with namespace, ignoring
// case.
func (t *Tx) ProjectByPath(ctx context.Context, fullPath string) (*botgate.Project, error) {
	const op = "ProjectByPath"
	row := t.queryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE `+t.d.FoldEqual("path_with_namespace"), fullPath)
	p, err := scanProject(row)
	if err != nil {
		return nil, t.notFound(op, "Project", err)
	}
	return p, nil
}

// FindProjects returns the projects matching f, ordered by ID, and their
// total.
func (t *Tx) FindProjects(ctx context.Context, f botgate.ProjectFilter) ([]*botgate.Project, int, error) {
	w := t.where()
	in(&w, "id", f.IDs)
	switch {
	case f.NamespaceID != 0 && f.IncludeSubgroups:
		w.add("namespace_id IN ("+subgroupsQuery+")", f.NamespaceID)
	case f.NamespaceID != 0:
		w.add("namespace_id = ?", f.NamespaceID)
	}
	w.search(f.Search, "name", "path_with_namespace")
	if f.MemberID != 0 {
		w.add("id IN (SELECT project_id FROM members WHERE user_id = ? AND project_id IS NOT NULL)", f.MemberID)
	}
	if v := f.VisibleTo; v != nil {
		at := toMicro(v.At)
		w.visibleTo(*v, "id IN (SELECT project_id FROM members WHERE user_id = ? AND project_id IS NOT NULL"+memberCurrent+
			") OR namespace_id IN ("+memberGroupsQuery+")", v.UserID, at, v.UserID, at)
	}
	if f.IDAfter != 0 {
		w.add("id > ?", f.IDAfter)
	}
	if f.IDBefore != 0 {
		w.add("id < ?", f.IDBefore)
	}
	order, err := orderBy(f.Order, map[string]string{"name": "name", "path": "path", "created_at": "created_at"})
	if err != nil {
		return nil, 0, err
	}
	return find(ctx, t, "FindProjects", projectCols, "projects", &w, order, f.Page, scanProject)
}

// UpdateProject writes every field of p but ID and CreatedAt.
func (t *Tx) UpdateProject(ctx context.Context, p *botgate.Project) error {
	const op = "UpdateProject"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `UPDATE projects SET name = ?, path = ?, path_with_namespace = ?, namespace_id = ?,
		description = ?, visibility = ?, default_branch = ? WHERE id = ?`,
		p.Name, p.Path, p.PathWithNamespace, p.NamespaceID, p.Description, string(p.Visibility), p.DefaultBranch, p.ID)
	if err != nil {
		return projectError(t.dbError(op, err))
	}
	if n == 0 {
		return t.notFound(op, "Project", sql.ErrNoRows)
	}
	return nil
}

// DeleteProject removes a project with no members.
func (t *Tx) DeleteProject(ctx context.Context, id int64) error {
	const op = "DeleteProject"
	if err := t.writable(op); err != nil {
		return err
	}
	var exists, members bool
	row := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE id = ?1),
		EXISTS (SELECT 1 FROM members WHERE project_id = ?1)`, id)
	if err := row.Scan(&exists, &members); err != nil {
		return t.dbError(op, err)
	}
	switch {
	case !exists:
		return t.notFound(op, "Project", sql.ErrNoRows)
	case members:
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: "project still has members: remove them first"}
	}
	if _, err := t.exec(ctx, `DELETE FROM projects WHERE id = ?`, id); err != nil {
		return t.dbError(op, err)
	}
	return nil
}
