package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

var _ botgate.Tx = (*tx)(nil)

// tx is one View or Update transaction.
type tx struct {
	s     *Store
	tx    *sql.Tx
	write bool
}

// writable fails unless the transaction is an Update.
func (t *tx) writable(op string) error {
	if !t.write {
		return &botgate.Error{Op: op, Kind: botgate.KindInternal, Message: "write attempted in a read-only (View) transaction"}
	}
	return nil
}

// queryRow runs a query, through the statement prepared at Open if the
// query is one of the hot ones.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.s.stmts[stmtKey{t.write, query}]; st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// exec runs a statement, through the statement prepared at Open if it is
// one of the hot ones.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.s.stmts[stmtKey{t.write, query}]; st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// affected returns the number of rows res changed.
func affected(res sql.Result) int64 {
	n, err := res.RowsAffected()
	if err != nil {
		return 0
	}
	return n
}

// notFound maps sql.ErrNoRows to a KindNotFound error about thing.
func notFound(op, thing string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		e := botgate.NotFound(thing)
		e.Op = op
		return e
	}
	return dbError(op, err)
}

// Times are stored as integer Unix microseconds in UTC.

func toMicro(t time.Time) int64 { return t.UTC().UnixMicro() }

func toMicroPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().UnixMicro()
}

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromMicroPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

// truncate normalizes t in place to what the store keeps.
func truncate(t *time.Time) {
	*t = t.UTC().Truncate(time.Microsecond)
}

func truncatePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullString stores "" as NULL, for optional unique values.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// where builds a WHERE clause.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col IN (...)"; an empty list adds nothing. Long lists travel as
// one JSON array parameter, so that no list exceeds SQLite's limit on bound
// parameters.
func in[T any](w *where, col string, vals []T) {
	switch {
	case len(vals) == 0:
		return
	case len(vals) > maxInlineList:
		b, err := json.Marshal(vals)
		if err == nil {
			w.add(col+" IN (SELECT value FROM json_each(?))", string(b))
			return
		}
	}
	w.add(col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")", anys(vals)...)
}

// maxInlineList is the longest list bound as one parameter per value.
const maxInlineList = 64

func anys[T any](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// search adds a case-insensitive substring match on any of cols.
func (w *where) search(s string, cols ...string) {
	if s == "" {
		return
	}
	pat := "%" + likeEscaper.Replace(s) + "%"
	parts := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		parts[i] = c + ` LIKE ? ESCAPE '\'`
		args[i] = pat
	}
	w.add("("+strings.Join(parts, " OR ")+")", args...)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limit renders p as a LIMIT clause.
func limit(p botgate.Page) (string, error) {
	if p.Offset < 0 || p.Limit < 0 {
		return "", botgate.Invalid("page", "offset and limit must not be negative")
	}
	switch {
	case p.Limit > 0:
		return " LIMIT " + itoa(p.Limit) + " OFFSET " + itoa(p.Offset), nil
	case p.Offset > 0:
		return " LIMIT -1 OFFSET " + itoa(p.Offset), nil
	}
	return "", nil
}

// find runs a filtered, paged query and its count: from is the table
// expression, order the ORDER BY clause.
func find[T any](ctx context.Context, t *tx, op, cols, from string, w *where, order string, p botgate.Page,
	scan func(scanner) (*T, error)) ([]*T, int, error) {
	lim, err := limit(p)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := t.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, dbError(op, err)
	}
	if total == 0 || (p.Offset >= total) {
		return nil, total, nil
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT "+cols+" FROM "+from+w.String()+" ORDER BY "+order+lim, w.args...)
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	return out, total, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func collect[T any](rows *sql.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func itoa(n int) string { return strconv.Itoa(n) }
