// Package sqlstore is the SQL both of botgate's database stores share: the
// implementation of every botgate.Tx data method, written once with ?
// placeholders against Conn, a small interface over one open transaction.
//
// A backend (sqlite, postgres) keeps what is its own: opening the database,
// its pools and transactions, its migrations, its prepared hot statements,
// its fan-out. It adapts its transaction to Conn, describes its SQL in a
// Dialect (case-insensitive comparison, byte-wise ordering, list binding,
// error classification, …), and embeds the Tx that New returns in its own
// transaction type, overriding the few methods whose SQL has no common form.
//
// The backends keep the same tables and storage conventions: times are
// integer Unix microseconds in UTC, optional references and unique values
// are NULL when unset, lists of strings are JSON arrays.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
)

// Conn is one open transaction of a backend. Queries are written with ?
// placeholders (?N for a numbered one); the backend rewrites them as its
// driver needs.
type Conn interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// ExecGuarded is Exec for a statement that may fail on a constraint:
	// the failure must leave the transaction usable, as it does in SQLite.
	ExecGuarded(ctx context.Context, query string, args ...any) (int64, error)
	// InsertID runs an INSERT (without a RETURNING clause), guarded as
	// ExecGuarded is, and returns the ID of the row it inserted.
	InsertID(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns an error matching sql.ErrNoRows (errors.Is) if there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a query returning rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Row is the result of Conn.QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the result of Conn.Query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Dialect describes what differs between the backends' SQL.
type Dialect struct {
	// Name prefixes the Op of every error ("sqlite", "postgres").
	Name string
	// Error turns a driver error into a *botgate.Error (passing a
	// *botgate.Error through unchanged).
	Error func(op string, err error) error
	// FoldEqual returns a condition comparing col to one ? parameter
	// without regard to case.
	FoldEqual func(col string) string
	// Like returns a condition matching col against one ? LIKE pattern,
	// case-insensitively, with \ as the escape character.
	Like func(col string) string
	// Bytewise returns col as an ORDER BY term sorting by bytes.
	Bytewise func(col string) string
	// Arrays binds a list as one array parameter (col = ANY(?)) instead of
	// one parameter per value.
	Arrays bool
	// NoLimit is the LIMIT clause that precedes an OFFSET without a limit
	// (" LIMIT -1" in SQLite, "" where OFFSET may stand alone).
	NoLimit string
	// ForUpdate is appended to a SELECT of a row about to be merged and
	// written back, to lock it ("" where the writer lock suffices).
	ForUpdate string
	// NextTokenID is a query whose one row's id column is the ID a new
	// token gets.
	NextTokenID string
	// True and False are the boolean literals.
	True, False string
}

// Tx implements the data methods of botgate.Tx on a Conn, all but
// RecordRouteUsage. A backend embeds it in its transaction type.
type Tx struct {
	c     Conn
	d     *Dialect
	write bool
}

// New returns the Tx of one transaction: write says whether it is an
// Update (writes in a View fail).
func New(c Conn, d *Dialect, write bool) Tx {
	return Tx{c: c, d: d, write: write}
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) Row {
	return t.c.QueryRow(ctx, query, args...)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (Rows, error) {
	return t.c.Query(ctx, query, args...)
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return t.c.Exec(ctx, query, args...)
}

func (t *Tx) execGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	return t.c.ExecGuarded(ctx, query, args...)
}

func (t *Tx) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	return t.c.InsertID(ctx, query, args...)
}

// op returns the full name of the operation name, for errors.
func (t *Tx) op(name string) string { return t.d.Name + "." + name }

// Writable fails unless the transaction is an Update; op names the
// operation without the backend's prefix.
func (t *Tx) Writable(op string) error {
	if !t.write {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindInternal, Message: "write attempted in a read-only (View) transaction"}
	}
	return nil
}

func (t *Tx) writable(op string) error { return t.Writable(op) }

// DBError turns a database error of the operation op (named without the
// backend's prefix) into a *botgate.Error.
func (t *Tx) DBError(op string, err error) error { return t.d.Error(t.op(op), err) }

func (t *Tx) dbError(op string, err error) error { return t.DBError(op, err) }

// notFound maps sql.ErrNoRows to a KindNotFound error about thing.
func (t *Tx) notFound(op, thing string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		e := botgate.NotFound(thing)
		e.Op = t.op(op)
		return e
	}
	return t.dbError(op, err)
}

// Rebinder rewrites ? placeholders as PostgreSQL's $1, $2, …, remembering
// the result for each distinct query string (up to a bound, since paged
// queries carry their LIMIT in the text). The zero value is ready; it is
// safe for concurrent use.
type Rebinder struct {
	cache sync.Map // query → rebound query
	size  atomic.Int64
}

// maxRebound bounds the number of query strings a Rebinder remembers.
const maxRebound = 4096

// Rebind returns query with its placeholders rewritten (see Rebind).
func (r *Rebinder) Rebind(query string) string {
	if v, ok := r.cache.Load(query); ok {
		return v.(string)
	}
	out := Rebind(query)
	if r.size.Load() < maxRebound {
		if _, loaded := r.cache.LoadOrStore(query, out); !loaded {
			r.size.Add(1)
		}
	}
	return out
}

// Rebind turns the ? placeholders of query into PostgreSQL's $1, $2, …; a
// numbered ?N becomes $N. Quoted literals and identifiers are left alone.
func Rebind(query string) string {
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

// nullInt64 returns v's value, or nil for NULL.
func nullInt64(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return v.Int64
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
	d     *Dialect
	conds []string
	args  []any
}

func (t *Tx) where() where { return where{d: t.d} }

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col IN (...)"; an empty list adds nothing. With Dialect.Arrays
// the list is one array parameter; otherwise long lists travel as one JSON
// array parameter, so that no list exceeds SQLite's limit on bound
// parameters.
func in[T any](w *where, col string, vals []T) {
	switch {
	case len(vals) == 0:
		return
	case w.d.Arrays:
		w.add(col+" = ANY(?)", vals)
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
		parts[i] = w.d.Like(c)
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
func (t *Tx) limit(p botgate.Page) (string, error) {
	if p.Offset < 0 || p.Limit < 0 {
		return "", botgate.Invalid("page", "offset and limit must not be negative")
	}
	switch {
	case p.Limit > 0:
		return " LIMIT " + itoa(p.Limit) + " OFFSET " + itoa(p.Offset), nil
	case p.Offset > 0:
		return t.d.NoLimit + " OFFSET " + itoa(p.Offset), nil
	}
	return "", nil
}

// find runs a filtered, paged query and its count: from is the table
// expression, order the ORDER BY clause.
func find[T any](ctx context.Context, t *Tx, op, cols, from string, w *where, order string, p botgate.Page,
	scan func(scanner) (*T, error)) ([]*T, int, error) {
	lim, err := t.limit(p)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM "+from+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, t.dbError(op, err)
	}
	if total == 0 || (p.Offset >= total) {
		return nil, total, nil
	}
	rows, err := t.query(ctx, "SELECT "+cols+" FROM "+from+w.String()+" ORDER BY "+order+lim, w.args...)
	if err != nil {
		return nil, 0, t.dbError(op, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, 0, t.dbError(op, err)
	}
	return out, total, nil
}

// scanner is a Row or Rows.
type scanner interface{ Scan(dest ...any) error }

func collect[T any](rows Rows, scan func(scanner) (*T, error)) ([]*T, error) {
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

// orderBy returns the ORDER BY list for o over the columns cols allows
// (field name to column), ties broken by id in the same direction. An
// unknown field is KindInvalid.
func orderBy(o botgate.OrderBy, cols map[string]string) (string, error) {
	dir := ""
	if o.Desc {
		dir = " DESC"
	}
	if o.Field == "" || o.Field == "id" {
		return "id" + dir, nil
	}
	col, ok := cols[o.Field]
	if !ok {
		return "", botgate.Invalid("order_by", "order_by does not have a valid value")
	}
	return col + dir + ", id" + dir, nil
}
