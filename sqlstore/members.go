package sqlstore

import (
	"context"
	"database/sql"

	"github.com/botgate/botgate"
)

// A membership row names its resource in group_id or project_id.
const memberCols = `CASE WHEN group_id IS NOT NULL THEN 'group' ELSE 'project' END,
	COALESCE(group_id, project_id), user_id, access_level, expires_at, created_by_id, created_at`

// memberOrder orders memberships by resource (groups, then projects, each
// by ID), then by user ID.
const memberOrder = `group_id IS NULL, COALESCE(group_id, project_id), user_id`

func scanMember(r scanner) (*botgate.Member, error) {
	var (
		m       botgate.Member
		typ     string
		expires sql.NullInt64
		created int64
	)
	if err := r.Scan(&typ, &m.Resource.ID, &m.UserID, &m.AccessLevel, &expires, &m.CreatedByID, &created); err != nil {
		return nil, err
	}
	m.Resource.Type = botgate.ResourceType(typ)
	m.ExpiresAt = fromMicroPtr(expires)
	m.CreatedAt = fromMicro(created)
	return &m, nil
}

// resourceCol returns the column that references r's type.
func (t *Tx) resourceCol(op string, r botgate.Resource) (string, error) {
	switch r.Type {
	case botgate.GroupResource:
		return "group_id", nil
	case botgate.ProjectResource:
		return "project_id", nil
	}
	return "", &botgate.Error{Op: t.op(op), Kind: botgate.KindInvalid, Field: "resource",
		Message: "resource type " + string(r.Type) + " is neither group nor project"}
}

// CreateMember inserts m.
func (t *Tx) CreateMember(ctx context.Context, m *botgate.Member) error {
	const op = "CreateMember"
	if err := t.writable(op); err != nil {
		return err
	}
	col, err := t.resourceCol(op, m.Resource)
	if err != nil {
		return err
	}
	truncate(&m.CreatedAt)
	m.ExpiresAt = truncatePtr(m.ExpiresAt)
	_, err = t.execGuarded(ctx, `INSERT INTO members (`+col+`, user_id, access_level, expires_at, created_by_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		m.Resource.ID, m.UserID, int(m.AccessLevel), toMicroPtr(m.ExpiresAt), m.CreatedByID, toMicro(m.CreatedAt))
	if err != nil {
		err = t.dbError(op, err)
		if e, ok := err.(*botgate.Error); ok {
			switch e.Kind {
			case botgate.KindConflict:
				e.Field, e.Message = "user_id", "Member already exists"
			case botgate.KindInvalid:
				e.Message = "user or " + string(m.Resource.Type) + " does not exist"
			}
		}
		return err
	}
	return nil
}

// Member returns the user's direct membership of r.
// MemberOfProjectQuery and MemberOfGroupQuery read one membership; a store
// may prepare them (the hot queries of the membership walk, run for every
// gateway decision that is not cached).
const (
	MemberOfProjectQuery = `SELECT ` + memberCols + ` FROM members WHERE project_id = ? AND user_id = ?`
	MemberOfGroupQuery   = `SELECT ` + memberCols + ` FROM members WHERE group_id = ? AND user_id = ?`
)

func (t *Tx) Member(ctx context.Context, r botgate.Resource, userID int64) (*botgate.Member, error) {
	const op = "Member"
	q := MemberOfProjectQuery
	switch r.Type {
	case botgate.GroupResource:
		q = MemberOfGroupQuery
	case botgate.ProjectResource:
	default:
		_, err := t.resourceCol(op, r)
		return nil, err
	}
	row := t.queryRow(ctx, q, r.ID, userID)
	m, err := scanMember(row)
	if err != nil {
		return nil, t.notFound(op, "Member", err)
	}
	return m, nil
}

// FindMembers returns the memberships matching f, ordered by resource then
// user ID, and their total.
func (t *Tx) FindMembers(ctx context.Context, f botgate.MemberFilter) ([]*botgate.Member, int, error) {
	const op = "FindMembers"
	w := t.where()
	from, order := "members", memberOrder
	if f.Resource != nil {
		col, err := t.resourceCol(op, *f.Resource)
		if err != nil {
			return nil, 0, err
		}
		if f.Inherited {
			// The subquery's arguments come first in the statement.
			from, order = inheritedMembersFrom(f.Resource.Type), "user_id"
			w.args = append(w.args, f.Resource.ID, f.Resource.ID)
		} else {
			w.add(col+" = ?", f.Resource.ID)
		}
	}
	if f.UserID != 0 {
		w.add("user_id = ?", f.UserID)
	}
	if f.ActiveAt != nil {
		w.add("(expires_at IS NULL OR expires_at > ?)", toMicro(*f.ActiveAt))
	}
	return find(ctx, t, op, memberCols, from, &w, order, f.Page, scanMember)
}

// inheritedMembersFrom is the FROM of an inherited listing of a resource
// of type typ: the resource's own memberships and those of every group
// above it, ranked per user by access level (highest first), then by
// distance (nearest first), and the first of each user kept. It takes the
// resource's ID twice.
func inheritedMembersFrom(typ botgate.ResourceType) string {
	start := `SELECT CAST(? AS BIGINT), 0`
	own := `WHERE group_id = ? AND 1 = 0` // a group's own rows come through up
	if typ == botgate.ProjectResource {
		start = `SELECT namespace_id, 1 FROM projects WHERE id = ?`
		own = `WHERE project_id = ?`
	}
	return `(WITH RECURSIVE up(id, depth) AS (
		` + start + `
		UNION
		SELECT g.parent_id, up.depth + 1 FROM groups g JOIN up ON g.id = up.id WHERE g.parent_id IS NOT NULL AND up.depth < 31
	), cand AS (
		SELECT group_id, project_id, user_id, access_level, expires_at, created_by_id, created_at, 0 AS depth FROM members ` + own + `
		UNION ALL
		SELECT m.group_id, m.project_id, m.user_id, m.access_level, m.expires_at, m.created_by_id, m.created_at, up.depth
		FROM members m JOIN up ON m.group_id = up.id
	), ranked AS (
		SELECT cand.*, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY access_level DESC, depth) AS rn FROM cand
	) SELECT group_id, project_id, user_id, access_level, expires_at, created_by_id, created_at FROM ranked WHERE rn = 1) members`
}

// UpdateMember writes m's AccessLevel and ExpiresAt.
func (t *Tx) UpdateMember(ctx context.Context, m *botgate.Member) error {
	const op = "UpdateMember"
	if err := t.writable(op); err != nil {
		return err
	}
	col, err := t.resourceCol(op, m.Resource)
	if err != nil {
		return err
	}
	m.ExpiresAt = truncatePtr(m.ExpiresAt)
	n, err := t.exec(ctx, `UPDATE members SET access_level = ?, expires_at = ? WHERE `+col+` = ? AND user_id = ?`,
		int(m.AccessLevel), toMicroPtr(m.ExpiresAt), m.Resource.ID, m.UserID)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "Member", sql.ErrNoRows)
	}
	return nil
}

// DeleteMember removes the user's direct membership of r.
func (t *Tx) DeleteMember(ctx context.Context, r botgate.Resource, userID int64) error {
	const op = "DeleteMember"
	if err := t.writable(op); err != nil {
		return err
	}
	col, err := t.resourceCol(op, r)
	if err != nil {
		return err
	}
	n, err := t.exec(ctx, `DELETE FROM members WHERE `+col+` = ? AND user_id = ?`, r.ID, userID)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "Member", sql.ErrNoRows)
	}
	return nil
}
