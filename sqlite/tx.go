package sqlite

import (
	"context"
	"database/sql"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

var _ botgate.Tx = (*tx)(nil)

// dialect is SQLite's SQL for the shared store code. Names compare without
// regard to case through their columns' COLLATE NOCASE, and LIKE is
// case-insensitive (for ASCII) already; text sorts by its bytes.
var dialect = sqlstore.Dialect{
	Name:      "sqlite",
	Error:     dbError,
	FoldEqual: func(col string) string { return col + " = ?" },
	Like:      func(col string) string { return col + ` LIKE ? ESCAPE '\'` },
	Bytewise:  func(col string) string { return col },
	NoLimit:   " LIMIT -1",
	// Under the single writer, as INTEGER PRIMARY KEY assigns it.
	NextTokenID: `SELECT COALESCE(MAX(id), 0) + 1 AS id FROM tokens`,
	True:        "1",
	False:       "0",
}

// tx is one View or Update transaction: the shared data methods of
// sqlstore.Tx, on this transaction as their sqlstore.Conn.
type tx struct {
	sqlstore.Tx
	s     *Store
	tx    *sql.Tx
	write bool
}

// newTx returns the transaction type over sqlTx.
func newTx(s *Store, sqlTx *sql.Tx, write bool) *tx {
	t := &tx{s: s, tx: sqlTx, write: write}
	t.Tx = sqlstore.New(t, &dialect, write)
	return t
}

// stmt returns the statement prepared at Open for query, if it is one of
// the hot ones, bound to this transaction.
func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.s.stmts[stmtKey{t.write, query}]; st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// QueryRow runs a query, through the statement prepared at Open if the
// query is one of the hot ones.
func (t *tx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// Query runs a query returning rows.
func (t *tx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// Exec runs a statement and returns the number of rows it changed.
func (t *tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return affected(res), nil
}

// ExecGuarded is Exec: in SQLite a failed statement undoes only itself.
func (t *tx) ExecGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	return t.Exec(ctx, query, args...)
}

// InsertID runs an INSERT and returns the new row's ID.
func (t *tx) InsertID(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// affected returns the number of rows res changed.
func affected(res sql.Result) int64 {
	n, err := res.RowsAffected()
	if err != nil {
		return 0
	}
	return n
}

// sqlRows adapts *sql.Rows to sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

// Close closes the rows; a failure shows in Err.
func (r sqlRows) Close() { r.Rows.Close() }
