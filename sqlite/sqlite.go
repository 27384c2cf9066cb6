// Package sqlite is botgate's embedded Store: one SQLite database file,
// accessed through modernc.org/sqlite (pure Go, no cgo).
//
// The database runs in WAL mode with foreign keys on and synchronous=FULL,
// so that a transaction acknowledged by Update survives a crash of the
// process or the machine. Writes go through a dedicated pool of a single
// connection whose transactions start with BEGIN IMMEDIATE: they take the
// database's write lock up front, so two writers (in this process or in
// another process sharing the file) queue instead of failing half-way.
// Reads (View) use a separate pool of read-only connections that see a
// consistent snapshot and never block the writer.
//
// # Migrations
//
// The schema lives in migrations/NNNN_description.sql, embedded in the
// binary. Open applies, in one transaction and in version order, every
// migration the database has not recorded in its schema_migrations table,
// and refuses a database whose recorded version is newer than the newest
// migration this binary knows (it was written by a newer botgate).
//
// To change the schema, add the next file (numbers run 1, 2, 3, ... without
// gaps), e.g. migrations/0004_automations.sql, holding plain SQL statements;
// never edit a migration that has shipped. Nothing else needs registering:
// the file is picked up by its number. All pending migrations run in one
// transaction, so a failing one leaves the database as it was; for the same
// reason a migration must not use statements SQLite refuses inside a
// transaction (VACUUM, PRAGMA foreign_keys, PRAGMA journal_mode). Keep the
// storage conventions of 0001_init.sql: times as integer Unix microseconds
// in UTC, optional references as NULL, case-insensitive names with
// COLLATE NOCASE.
//
// # Errors
//
// SQLite errors become *botgate.Error values: a unique-constraint clash is
// KindConflict, a broken foreign key (or another constraint) KindInvalid,
// anything else KindInternal with the cause wrapped.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ botgate.Store = (*Store)(nil)

// Store is a botgate.Store kept in one SQLite database file. It is safe for
// concurrent use, also by several Store values (or processes) sharing the
// file.
type Store struct {
	writer *sql.DB // one connection; BEGIN IMMEDIATE
	reader *sql.DB // read-only connections for View
	log    *slog.Logger

	stmts map[stmtKey]*sql.Stmt // the hot queries, prepared per pool at Open; read-only after
}

type stmtKey struct {
	write bool
	query string
}

// Option configures Open.
type Option func(*options)

type options struct {
	readConns   int
	busyTimeout time.Duration
	log         *slog.Logger
	clock       botgate.Clock
}

// WithReadConns sets the number of connections serving View (default 4).
func WithReadConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.readConns = n
		}
	}
}

// WithBusyTimeout sets how long a transaction waits for the database's
// write lock held by another connection before it fails (default 10s).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.busyTimeout = d
		}
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithClock sets the clock that stamps applied migrations (default: the
// system clock).
func WithClock(c botgate.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// privateFiles creates the database file with mode 0600 if it does not
// exist, and takes the group's and others' permissions off it and its WAL
// and shared-memory files if it does. SQLite creates the WAL and the
// shared memory with the database file's permissions, so the three stay
// readable by the owner alone: the database holds token digests, the
// audit chain and sealed vault secrets.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("making %s private to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date. It fails with KindInvalid if the database was written
// by a newer botgate (a schema version this binary does not know).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	const op = "sqlite.Open"
	o := options{
		readConns:   4,
		busyTimeout: 10 * time.Second,
		log:         slog.New(slog.DiscardHandler),
		clock:       botgate.SystemClock{},
	}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, botgate.Invalid("path", "database path %q must name a file (not empty, not :memory:, no file: URI, no '?')", path)
	}
	if err := privateFiles(path); err != nil {
		return nil, botgate.E(op, botgate.KindInternal, err)
	}

	params := func(write bool) string {
		q := url.Values{}
		q.Set("_busy_timeout", strconv.FormatInt(o.busyTimeout.Milliseconds(), 10))
		q.Set("_foreign_keys", "on")
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		if write {
			q.Set("_txlock", "immediate")
		} else {
			q.Set("_query_only", "true")
		}
		return path + "?" + q.Encode()
	}

	writer, err := sql.Open("sqlite", params(true))
	if err != nil {
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &Store{writer: writer, log: o.log, stmts: make(map[stmtKey]*sql.Stmt)}
	ms, err := sqlstore.ReadMigrations(migrationFS)
	if err != nil {
		writer.Close()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	if err := s.migrate(ctx, o.clock, ms); err != nil {
		writer.Close()
		return nil, err
	}

	reader, err := sql.Open("sqlite", params(false))
	if err != nil {
		writer.Close()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	reader.SetMaxOpenConns(o.readConns)
	reader.SetMaxIdleConns(o.readConns)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	s.reader = reader
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	return s, nil
}

// Close closes the database. Transactions in flight fail.
func (s *Store) Close() error {
	for _, st := range s.stmts {
		st.Close()
	}
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return botgate.E("sqlite.Close", botgate.KindInternal, err)
	}
	return nil
}

// View runs fn in a read-only transaction on one snapshot of the database.
func (s *Store) View(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.run(ctx, "sqlite.View", false, fn)
}

// Update runs fn in a write transaction, committed if fn returns nil and
// rolled back otherwise. Updates are serialized, also across processes
// sharing the file; fn must not call Update or View itself (a nested Update
// would wait for the write lock its caller holds).
func (s *Store) Update(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.run(ctx, "sqlite.Update", true, fn)
}

func (s *Store) run(ctx context.Context, op string, write bool, fn func(botgate.Tx) error) error {
	db := s.reader
	if write {
		db = s.writer
	}
	sqlTx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: !write})
	if err != nil {
		return dbError(op, err)
	}
	done := false
	defer func() {
		if !done {
			sqlTx.Rollback() // fn failed or panicked: nothing is written
		}
	}()
	if err := fn(newTx(s, sqlTx, write)); err != nil {
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return dbError(op, err)
	}
	return nil
}

// hotQueries are prepared once per pool at Open. (Preparing lazily would
// need a connection of the pool while a transaction may hold the writer's
// only one.)
var hotQueries = []string{sqlstore.TokenByDigestQuery, sqlstore.TokenByIDQuery, sqlstore.UserByIDQuery,
	sqlstore.MemberOfProjectQuery, sqlstore.MemberOfGroupQuery, sqlstore.ProjectByIDQuery, sqlstore.GroupByIDQuery}

// prepare prepares the hot queries on both pools.
func (s *Store) prepare(ctx context.Context) error {
	for _, write := range []bool{true, false} {
		db := s.reader
		if write {
			db = s.writer
		}
		for _, q := range hotQueries {
			st, err := db.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			s.stmts[stmtKey{write, q}] = st
		}
	}
	return nil
}

// migrate applies the pending migrations of ms in one transaction: either
// all of them are applied, or none.
func (s *Store) migrate(ctx context.Context, clock botgate.Clock, ms []sqlstore.Migration) error {
	const op = "sqlite.Open"
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return dbError(op, err)
	}
	defer sqlTx.Rollback()

	if err := sqlstore.Migrate(ctx, op, newTx(s, sqlTx, true), ms, clock.Now(), s.log, dbError); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return dbError(op, err)
	}
	return nil
}

// dbError turns a database error into a *botgate.Error.
func dbError(op string, err error) error {
	var be *botgate.Error
	if errors.As(err, &be) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			field := constraintField(se.Error())
			msg := "already exists"
			if field != "" {
				msg = field + " has already been taken"
			}
			return &botgate.Error{Op: op, Kind: botgate.KindConflict, Field: field, Message: msg, Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &botgate.Error{Op: op, Kind: botgate.KindInvalid, Message: "a referenced record does not exist", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return &botgate.Error{Op: op, Kind: botgate.KindInvalid, Message: "the record breaks a constraint", Err: err}
		}
	}
	return botgate.E(op, botgate.KindInternal, err)
}

// constraintField extracts the column from SQLite's "UNIQUE constraint
// failed: users.username" message ("" if there are several or none).
func constraintField(msg string) string {
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return ""
	}
	cols := msg[i+len("constraint failed: "):]
	cols, _, _ = strings.Cut(cols, " (")
	if strings.Contains(cols, ",") {
		// A composite key such as projects.namespace_id, projects.path: name
		// the last column, the one a person chose.
		cols = cols[strings.LastIndex(cols, ",")+1:]
	}
	_, col, _ := strings.Cut(strings.TrimSpace(cols), ".")
	return col
}
