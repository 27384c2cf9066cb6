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
	Name:        "postgres",
	Error:       dbError,
	FoldEqual:   func(col string) string { return "lower(" + col + ") = lower(?)" },
	Like:        func(col string) string { return `COALESCE(` + col + `, '') ILIKE ? ESCAPE '\'` },
	Bytewise:    func(col string) string { return col + ` COLLATE "C"` },
	Arrays:      true,
	ForUpdate:   " FOR UPDATE",
	NextTokenID: `SELECT nextval(pg_get_serial_sequence('tokens', 'id')) AS id`,
	True:        "true",
	False:       "false",
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

// LockAuditLane takes a lane of the audit chain that no other
// transaction holds, the lowest free one (so that a single writer keeps to
// lane 0), by locking its row (FOR UPDATE SKIP LOCKED), and takes n values
// of the log's sequence in the same statement. When every lane is taken it
// waits for one, chosen in turn. The row lock holds the lane until the
// transaction ends: concurrent writers on every node append to different
// lanes instead of waiting for one head.
//
// The values are drawn once the lane is locked, never before (see
// lockLaneSQL): the writer that takes a lane after another committed to it
// then draws later values than that writer did, so each lane's order is
// the log's order, which verification reads and requires.
func (t *tx) LockAuditLane(ctx context.Context, n int) (botgate.AuditHead, []int64, error) {
	const op = "LockAuditLane"
	if err := t.Writable(op); err != nil {
		return botgate.AuditHead{}, nil, err
	}
	var h botgate.AuditHead
	var seqs []int64
	err := t.tx.QueryRow(ctx, lockLaneSQL("ORDER BY lane LIMIT 1 FOR UPDATE SKIP LOCKED"), n).Scan(&h.Lane, &h.Seq, &h.Hash, &seqs)
	if errors.Is(err, pgx.ErrNoRows) {
		lane := int(t.s.nextLane.Add(1) % botgate.AuditLanes)
		err = t.tx.QueryRow(ctx, lockLaneSQL("WHERE lane = $2 FOR UPDATE"), n, lane).Scan(&h.Lane, &h.Seq, &h.Hash, &seqs)
	}
	if err != nil {
		return botgate.AuditHead{}, nil, t.DBError(op, err)
	}
	return h, seqs, nil
}

// lockLaneSQL is the statement that locks the lane audit_lanes' lock
// clause picks and returns its head with $1 values of the log's sequence.
// The values must be drawn after the row lock is held. An uncorrelated
// subquery beside FOR UPDATE is an InitPlan that PostgreSQL evaluates in
// the scan, below the row locking: a writer could draw its values, be
// overtaken by one that draws later values, takes the lane and commits,
// then take the lane itself and append after it with earlier values — the
// lane out of the log's order, reported as an event missing. So the lane
// is locked in a materialized CTE, and the values come from a subquery
// correlated with the locked row, evaluated only for the row the CTE
// returns.
func lockLaneSQL(lock string) string {
	return `WITH l AS MATERIALIZED (SELECT lane, seq, hash FROM audit_lanes ` + lock + `)
		SELECT lane, seq, hash, ARRAY(SELECT nextval('audit_events_seq') FROM generate_series(l.lane + 1, l.lane + $1::int))
		FROM l`
}
