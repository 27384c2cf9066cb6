package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/botgate/botgate"
)

var _ botgate.Tx = (*tx)(nil)

// tx is one View or Update transaction.
type tx struct {
	s     *Store
	tx    pgx.Tx
	write bool
}

// writable fails unless the transaction is an Update.
func (t *tx) writable(op string) error {
	if !t.write {
		return &botgate.Error{Op: op, Kind: botgate.KindInternal, Message: "write attempted in a read-only (View) transaction"}
	}
	return nil
}

// queryRow runs a query written with ? placeholders.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) pgx.Row {
	return t.tx.QueryRow(ctx, rebind(query), args...)
}

// query runs a query written with ? placeholders.
func (t *tx) query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	return t.tx.Query(ctx, rebind(query), args...)
}

// exec runs a statement written with ? placeholders.
func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(ctx, rebind(query), args...)
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

// execGuarded runs a statement inside a savepoint and returns the number of
// rows it changed.
func (t *tx) execGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.guarded(ctx, func(sp pgx.Tx) error {
		tag, err := sp.Exec(ctx, rebind(query), args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// insertID runs an INSERT … RETURNING id inside a savepoint.
func (t *tx) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := t.guarded(ctx, func(sp pgx.Tx) error {
		return sp.QueryRow(ctx, rebind(query), args...).Scan(&id)
	})
	return id, err
}

// rebind turns the ? placeholders of query into PostgreSQL's $1, $2, …; a
// numbered ?N becomes $N. Quoted literals and identifiers are left alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
				i = j - 1
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// notFound maps pgx.ErrNoRows to a KindNotFound error about thing.
func notFound(op, thing string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
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

func fromMicroPtr(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMicro(*v)
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

// where builds a WHERE clause with ? placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col = ANY(?)"; an empty list adds nothing.
func in[T any](w *where, col string, vals []T) {
	if len(vals) == 0 {
		return
	}
	w.add(col+" = ANY(?)", vals)
}

// search adds a case-insensitive substring match on any of cols, with '%'
// and '_' taken literally.
func (w *where) search(s string, cols ...string) {
	if s == "" {
		return
	}
	pat := "%" + likeEscaper.Replace(s) + "%"
	parts := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		parts[i] = `COALESCE(` + c + `, '') ILIKE ? ESCAPE '\'`
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
		return " OFFSET " + itoa(p.Offset), nil
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
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM "+from+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, dbError(op, err)
	}
	if total == 0 || (p.Offset >= total) {
		return nil, total, nil
	}
	rows, err := t.query(ctx, "SELECT "+cols+" FROM "+from+w.String()+" ORDER BY "+order+lim, w.args...)
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	return out, total, nil
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

func collect[T any](rows pgx.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
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
