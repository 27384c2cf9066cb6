package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

var _ botgate.Tx = (*tx)(nil)

// dialect is PostgreSQL's SQL for the shared store code. Names compare
// without regard to case through lower() (the unique indexes are on
// lower(…)), and text sorts by its bytes (COLLATE "C"), as SQLite sorts it,
// whatever the database's locale.
var dialect = sqlstore.Dialect{
	Name:      "postgres",
	Error:     dbError,
	FoldEqual: func(col string) string { return "lower(" + col + ") = lower(?)" },
	Like:      func(col string) string { return `COALESCE(` + col + `, '') ILIKE ? ESCAPE '\'` },
	Bytewise:  func(col string) string { return col + ` COLLATE "C"` },
	Arrays:    true,
	ForUpdate: " FOR UPDATE",
	True:      "true",
	False:     "false",
}

// tx is one View or Update transaction: the shared data methods of
// sqlstore.Tx, on this transaction as their sqlstore.Conn.
type tx struct {
	sqlstore.Tx
	s  *Store
	tx pgx.Tx
}

// newTx returns the transaction type over pgTx.
func newTx(s *Store, pgTx pgx.Tx, write bool) *tx {
	t := &tx{s: s, tx: pgTx}
	t.Tx = sqlstore.New(t, &dialect, write)
	return t
}

// QueryRow runs a query written with ? placeholders.
func (t *tx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return t.tx.QueryRow(ctx, t.s.rebind.Rebind(query), args...)
}

// Query runs a query written with ? placeholders.
func (t *tx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.tx.Query(ctx, t.s.rebind.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// Exec runs a statement written with ? placeholders and returns the number
// of rows it changed.
func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, t.s.rebind.Rebind(query), args...)
	return tag.RowsAffected(), err
}

// guarded runs fn inside a savepoint, so that a statement failing on a
// constraint leaves the transaction usable (as in SQLite, where a failed
// statement undoes only itself): the caller gets the error and may carry
// on. fn's error is returned unchanged.
func (t *tx) guarded(ctx context.Context, fn func(pgx.Tx) error) error {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return sp.Commit(ctx)
}

// ExecGuarded runs a statement inside a savepoint and returns the number of
// rows it changed.
func (t *tx) ExecGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.guarded(ctx, func(sp pgx.Tx) error {
		tag, err := sp.Exec(ctx, t.s.rebind.Rebind(query), args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// InsertID runs an INSERT … RETURNING id inside a savepoint.
func (t *tx) InsertID(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := t.guarded(ctx, func(sp pgx.Tx) error {
		return sp.QueryRow(ctx, t.s.rebind.Rebind(query+" RETURNING id"), args...).Scan(&id)
	})
	return id, err
}

// LockAuditHead takes the audit chain's transaction-scoped advisory lock,
// which every node's appends share, and returns the head of the chain: it
// cannot move before this transaction ends.
func (t *tx) LockAuditHead(ctx context.Context) (botgate.AuditHead, error) {
	const op = "LockAuditHead"
	if err := t.Writable(op); err != nil {
		return botgate.AuditHead{}, err
	}
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, t.s.auditLock); err != nil {
		return botgate.AuditHead{}, t.DBError(op, err)
	}
	return t.Tx.LockAuditHead(ctx)
}
