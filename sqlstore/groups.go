package sqlstore

import (
	"context"
	"database/sql"

	"github.com/botgate/botgate"
)

const groupCols = `id, name, path, full_path, COALESCE(parent_id, 0), description, visibility, created_at`

func scanGroup(r scanner) (*botgate.Group, error) {
	var (
		g       botgate.Group
		created int64
	)
	if err := r.Scan(&g.ID, &g.Name, &g.Path, &g.FullPath, &g.ParentID, &g.Description, &g.Visibility, &created); err != nil {
		return nil, err
	}
	g.CreatedAt = fromMicro(created)
	return &g, nil
}

// CreateGroup inserts g and sets its ID.
func (t *Tx) CreateGroup(ctx context.Context, g *botgate.Group) error {
	const op = "CreateGroup"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&g.CreatedAt)
	id, err := t.insertID(ctx, `INSERT INTO groups (name, path, full_path, parent_id, description, visibility, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.Name, g.Path, g.FullPath, nullID(g.ParentID), g.Description, string(g.Visibility), toMicro(g.CreatedAt))
	if err != nil {
		return refError(t.dbError(op, err), "parent_id", "parent group does not exist")
	}
	g.ID = id
	return nil
}

// Group returns the group with the ID.
// GroupByIDQuery reads one group by id; a store may prepare it (a hot
// query of the membership walk).
const GroupByIDQuery = `SELECT ` + groupCols + ` FROM groups WHERE id = ?`

func (t *Tx) Group(ctx context.Context, id int64) (*botgate.Group, error) {
	const op = "Group"
	row := t.queryRow(ctx, GroupByIDQuery, id)
	g, err := scanGroup(row)
	if err != nil {
		return nil, t.notFound(op, "Group", err)
	}
	return g, nil
}

// GroupByPath returns the group with the full path, ignoring case.
func (t *Tx) GroupByPath(ctx context.Context, fullPath string) (*botgate.Group, error) {
	const op = "GroupByPath"
	row := t.queryRow(ctx, `SELECT `+groupCols+` FROM groups WHERE `+t.d.FoldEqual("full_path"), fullPath)
	g, err := scanGroup(row)
	if err != nil {
		return nil, t.notFound(op, "Group", err)
	}
	return g, nil
}

// FindGroups returns the groups matching f, ordered by ID, and their total.
func (t *Tx) FindGroups(ctx context.Context, f botgate.GroupFilter) ([]*botgate.Group, int, error) {
	w := t.where()
	in(&w, "id", f.IDs)
	if f.ParentID != nil {
		if *f.ParentID == 0 {
			w.add("parent_id IS NULL")
		} else {
			w.add("parent_id = ?", *f.ParentID)
		}
	}
	w.search(f.Search, "name", "full_path")
	if f.MemberID != 0 {
		w.add("id IN (SELECT group_id FROM members WHERE user_id = ? AND group_id IS NOT NULL)", f.MemberID)
	}
	if v := f.VisibleTo; v != nil {
		w.visibleTo(*v, "id IN ("+memberGroupsQuery+")", v.UserID, toMicro(v.At))
	}
	return find(ctx, t, "FindGroups", groupCols, "groups", &w, "id", f.Page, scanGroup)
}

// UpdateGroup writes every field of g but ID and CreatedAt.
func (t *Tx) UpdateGroup(ctx context.Context, g *botgate.Group) error {
	const op = "UpdateGroup"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `UPDATE groups SET name = ?, path = ?, full_path = ?, parent_id = ?, description = ?, visibility = ?
		WHERE id = ?`,
		g.Name, g.Path, g.FullPath, nullID(g.ParentID), g.Description, string(g.Visibility), g.ID)
	if err != nil {
		return refError(t.dbError(op, err), "parent_id", "parent group does not exist")
	}
	if n == 0 {
		return t.notFound(op, "Group", sql.ErrNoRows)
	}
	return nil
}

// DeleteGroup removes a group with no subgroups, projects or members.
func (t *Tx) DeleteGroup(ctx context.Context, id int64) error {
	const op = "DeleteGroup"
	if err := t.writable(op); err != nil {
		return err
	}
	var exists, children, projects, members bool
	row := t.queryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM groups WHERE id = ?1),
		EXISTS (SELECT 1 FROM groups WHERE parent_id = ?1),
		EXISTS (SELECT 1 FROM projects WHERE namespace_id = ?1),
		EXISTS (SELECT 1 FROM members WHERE group_id = ?1)`, id)
	if err := row.Scan(&exists, &children, &projects, &members); err != nil {
		return t.dbError(op, err)
	}
	switch {
	case !exists:
		return t.notFound(op, "Group", sql.ErrNoRows)
	case children || projects || members:
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict,
			Message: "group is not empty: remove its subgroups, projects and members first"}
	}
	if _, err := t.exec(ctx, `DELETE FROM groups WHERE id = ?`, id); err != nil {
		return t.dbError(op, err)
	}
	return nil
}

// memberCurrent is the condition on members that a membership counts at
// the time bound after the user's ID.
const memberCurrent = ` AND access_level > 0 AND (expires_at IS NULL OR expires_at > ?)`

// memberGroupsQuery selects the groups a user (the first argument) reaches
// through a membership current at a time (the second): the groups it is a
// member of and the groups below them, at most 31 levels down, as the
// membership walk goes at most 32 groups up.
const memberGroupsQuery = `WITH RECURSIVE reach(id, depth) AS (
	SELECT group_id, 0 FROM members WHERE user_id = ? AND group_id IS NOT NULL` + memberCurrent + `
	UNION
	SELECT g.id, r.depth + 1 FROM groups g JOIN reach r ON g.parent_id = r.id WHERE r.depth < 31
) SELECT id FROM reach`

// subgroupsQuery selects a group (its one argument) and every group below
// it, at most 32 levels down.
const subgroupsQuery = `WITH RECURSIVE below(id, depth) AS (
	SELECT CAST(? AS BIGINT), 0
	UNION
	SELECT g.id, b.depth + 1 FROM groups g JOIN below b ON g.parent_id = b.id WHERE b.depth < 31
) SELECT id FROM below`

// visibleTo adds the condition that v may see the group or project: it is
// public, or, for a signed-in viewer, internal or one the viewer is a member
// of, which the condition member selects with args.
func (w *where) visibleTo(v botgate.Viewer, member string, args ...any) {
	if v.UserID == 0 {
		w.add("visibility = ?", string(botgate.Public))
		return
	}
	w.add("(visibility IN (?, ?) OR "+member+")", append([]any{string(botgate.Internal), string(botgate.Public)}, args...)...)
}

// refError refines a KindInvalid foreign-key error with the field and a
// message a person can act on.
func refError(err error, field, msg string) error {
	if e, ok := err.(*botgate.Error); ok && e.Kind == botgate.KindInvalid {
		e.Field, e.Message = field, msg
	}
	return err
}
