package sqlstore

import (
	"context"
	"database/sql"

	"github.com/botgate/botgate"
)

const userCols = `id, username, name, email, kind, admin, state, owner_type, owner_id, created_by_id, created_at`

// UserByIDQuery is the hot query of User (see TokenByDigestQuery).
const UserByIDQuery = `SELECT ` + userCols + ` FROM users WHERE id = ?`

func scanUser(r scanner) (*botgate.User, error) {
	var (
		u       botgate.User
		email   sql.NullString
		owner   string
		created int64
	)
	if err := r.Scan(&u.ID, &u.Username, &u.Name, &email, &u.Kind, &u.Admin, &u.State,
		&owner, &u.Owner.ID, &u.CreatedByID, &created); err != nil {
		return nil, err
	}
	u.Email = email.String
	u.Owner.Type = botgate.ResourceType(owner)
	u.CreatedAt = fromMicro(created)
	return &u, nil
}

// CreateUser inserts u and sets its ID.
func (t *Tx) CreateUser(ctx context.Context, u *botgate.User) error {
	const op = "CreateUser"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&u.CreatedAt)
	id, err := t.insertID(ctx, `INSERT INTO users (username, name, email, kind, admin, state, owner_type, owner_id, created_by_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Username, u.Name, nullString(u.Email), string(u.Kind), u.Admin, string(u.State),
		string(u.Owner.Type), u.Owner.ID, u.CreatedByID, toMicro(u.CreatedAt))
	if err != nil {
		return t.dbError(op, err)
	}
	u.ID = id
	return nil
}

// User returns the user with the ID.
func (t *Tx) User(ctx context.Context, id int64) (*botgate.User, error) {
	const op = "User"
	row := t.queryRow(ctx, UserByIDQuery, id)
	u, err := scanUser(row)
	if err != nil {
		return nil, t.notFound(op, "User", err)
	}
	return u, nil
}

// UserByUsername returns the user with the username, ignoring case.
func (t *Tx) UserByUsername(ctx context.Context, username string) (*botgate.User, error) {
	const op = "UserByUsername"
	row := t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+t.d.FoldEqual("username"), username)
	u, err := scanUser(row)
	if err != nil {
		return nil, t.notFound(op, "User", err)
	}
	return u, nil
}

// FindUsers returns the users matching f, in f.Order order, and their total.
func (t *Tx) FindUsers(ctx context.Context, f botgate.UserFilter) ([]*botgate.User, int, error) {
	const op = "FindUsers"
	w := t.where()
	in(&w, "id", f.IDs)
	if f.Username != "" {
		w.add(t.d.FoldEqual("username"), f.Username)
	}
	w.search(f.Search, "username", "name", "email")
	w.search(f.NameSearch, "username", "name")
	in(&w, "kind", f.Kinds)
	if f.Owner != nil {
		w.add("owner_type = ? AND owner_id = ?", string(f.Owner.Type), f.Owner.ID)
	}
	if f.Admin != nil {
		w.add("admin = ?", *f.Admin)
	}
	if f.State != "" {
		w.add("state = ?", string(f.State))
	}
	order, err := orderBy(f.Order, map[string]string{"name": t.d.Bytewise("name"), "username": t.d.Bytewise("username"), "created_at": "created_at"})
	if err != nil {
		return nil, 0, err
	}
	return find(ctx, t, op, userCols, "users", &w, order, f.Page, scanUser)
}

// UpdateUser writes every field of u but ID and CreatedAt.
func (t *Tx) UpdateUser(ctx context.Context, u *botgate.User) error {
	const op = "UpdateUser"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `UPDATE users SET username = ?, name = ?, email = ?, kind = ?, admin = ?, state = ?,
		owner_type = ?, owner_id = ?, created_by_id = ? WHERE id = ?`,
		u.Username, u.Name, nullString(u.Email), string(u.Kind), u.Admin, string(u.State),
		string(u.Owner.Type), u.Owner.ID, u.CreatedByID, u.ID)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "User", sql.ErrNoRows)
	}
	return nil
}
