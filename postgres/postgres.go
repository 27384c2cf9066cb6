// Package postgres is botgate's Store for several nodes: one PostgreSQL
// database shared by every botgate process, accessed through pgx (v5) and
// its connection pool. It passes the same conformance suite (storetest) as
// the embedded SQLite store and keeps the same tables, so the domain rules
// in authority/ behave identically on either.
//
// # Transactions and isolation
//
// View runs in a REPEATABLE READ, READ ONLY transaction: it sees one
// snapshot of the database, as SQLite's readers do, and never waits for a
// writer. Update runs at READ COMMITTED and first takes a
// transaction-scoped advisory lock (pg_advisory_xact_lock), the store's
// writer lock: Updates from every node run one at a time, exactly as
// SQLite's writers do (BEGIN IMMEDIATE), so the domain rules, written for
// serialized writers, hold unchanged, and two Updates cannot deadlock on
// row locks. UpdateShared (botgate.SharedUpdater) takes the same lock
// shared: the token writes run side by side, never beside an Update. The
// security state changes are single conditional writes (UPDATE tokens SET
// revoked = true … WHERE revoked = false, UPDATE … WHERE version = $n)
// whose rows-affected count says who won: two nodes rotating or revoking
// one token at the same time get exactly one winner and one KindConflict.
// The audit log is kept in lanes (see LockAuditLane): concurrent writers
// append to different lanes, each lane's row locked until its writer
// commits. A row read to be merged (RecordTokenUsage) is locked FOR
// UPDATE.
//
// A statement that fails on a constraint does not abort the transaction, as
// in SQLite: writes that can clash run inside a savepoint, so the caller may
// handle the error and carry on.
//
// # Migrations
//
// The schema lives in migrations/NNNN_description.sql, embedded in the
// binary, one file per file of the SQLite store's migrations (the same
// tables, in PostgreSQL types). Open applies, in one transaction and in
// version order, every migration the database has not recorded in its
// schema_migrations table, holding an advisory lock so that two nodes that
// start at once do not race; it refuses a database whose recorded version
// is newer than the newest migration this binary knows.
//
// The store lives in the connection's search_path (by default the public
// schema); add search_path=NAME to the URL to keep botgate in its own
// schema.
//
// # Fan-out
//
// Without Redis, Notifier carries the "token changed" invalidations between
// nodes over LISTEN/NOTIFY on a channel named for the schema; each node
// holds one extra connection for its LISTEN.
//
// # Errors
//
// PostgreSQL errors become *botgate.Error values, as the SQLite store's do:
// a unique violation is KindConflict, a broken foreign key, check or NOT
// NULL constraint KindInvalid, a serialization failure or deadlock
// KindConflict (a concurrent transaction won), anything else KindInternal
// with the cause wrapped. Connection strings, which may hold a password,
// never appear in errors or logs.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ botgate.Store = (*Store)(nil)

// Store is a botgate.Store kept in a PostgreSQL database. It is safe for
// concurrent use, also by several Store values (or processes, or nodes)
// sharing the database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	// writeLock and migrateLock are the advisory lock keys, derived from
	// the schema the store lives in, so that stores in different schemas
	// of one database do not serialize each other.
	writeLock   int64
	migrateLock int64

	rebind sqlstore.Rebinder // the shared code's ? placeholders as $n

	nextLane atomic.Uint32 // the audit lane to wait for when all are taken
}

// Option configures Open.
type Option func(*options)

type options struct {
	tracer   pgx.QueryTracer
	maxConns int32
	log      *slog.Logger
	clock    botgate.Clock
}

// WithMaxConns sets the size of the connection pool (default: pgxpool's,
// the larger of 4 and the number of CPUs, unless the URL sets
// pool_max_conns).
func WithMaxConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = int32(n)
		}
	}
}

// WithQueryTracer traces every statement the store's connections send
// (pgx's QueryTracer): a test counts a change's round trips with it.
func WithQueryTracer(t pgx.QueryTracer) Option {
	return func(o *options) { o.tracer = t }
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

// Open connects to the database named by url (postgres://user@host:port/db?
// sslmode=…, or a key=value connection string) and brings its schema up to
// date. It fails with KindInvalid if url cannot be parsed or the database was
// written by a newer botgate, and KindInternal if the database cannot be
// reached.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	const op = "postgres.Open"
	o := options{log: slog.New(slog.DiscardHandler), clock: botgate.SystemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the connection string, password
		// included: say only that it is malformed.
		return nil, &botgate.Error{Op: op, Kind: botgate.KindInvalid, Field: "store",
			Message: "the PostgreSQL connection string cannot be parsed"}
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if o.tracer != nil {
		cfg.ConnConfig.Tracer = o.tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, botgate.E(op, botgate.KindInternal, redact(err))
	}
	s := &Store{pool: pool, log: o.log}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT COALESCE(current_schema(), '')`).Scan(&schema); err != nil {
		pool.Close()
		return nil, dbError(op, redact(err))
	}
	if schema == "" {
		pool.Close()
		return nil, &botgate.Error{Op: op, Kind: botgate.KindInvalid, Field: "store",
			Message: "the connection's search_path names no existing schema: create the schema first"}
	}
	s.writeLock = lockKey(schema, "audit") // named so before the audit log had lanes
	s.migrateLock = lockKey(schema, "migrate")
	if err := s.migrate(ctx, o.clock); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// lockKey derives an advisory lock key from the schema and the lock's
// purpose.
func lockKey(schema, purpose string) int64 {
	h := fnv.New64a()
	h.Write([]byte("botgate\x00" + schema + "\x00" + purpose))
	return int64(h.Sum64())
}

// redact drops a connection error's detail that could name the server's
// address or user; it keeps the PostgreSQL error code and message.
func redact(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("cannot connect to PostgreSQL: %w", errors.Unwrap(ce))
	}
	return err
}

// Pool returns the store's connection pool, for the LISTEN/NOTIFY
// invalidation fan-out that shares the database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool. Transactions in flight fail.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// View runs fn in a read-only transaction on one snapshot of the database.
func (s *Store) View(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.run(ctx, "postgres.View", lockNone, fn)
}

// Update runs fn in a read-write transaction, committed if fn returns nil
// and rolled back otherwise. It holds the store's writer lock: no other
// Update or UpdateShared runs meanwhile, on any node.
func (s *Store) Update(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.run(ctx, "postgres.Update", lockExclusive, fn)
}

// UpdateShared is Update holding the writer lock shared: UpdateShared
// transactions run side by side (see botgate.SharedUpdater), and none runs
// while an Update does.
func (s *Store) UpdateShared(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.run(ctx, "postgres.Update", lockShared, fn)
}

// How a transaction holds the writer lock.
type lockMode int

const (
	lockNone lockMode = iota // a View
	lockExclusive
	lockShared
)

func (s *Store) run(ctx context.Context, op string, mode lockMode, fn func(botgate.Tx) error) error {
	write := mode != lockNone
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	if !write {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	pgTx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return dbError(op, redact(err))
	}
	done := false
	defer func() {
		if !done {
			// fn failed or panicked: nothing is written. The rollback must
			// run even if ctx is cancelled.
			pgTx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	switch mode {
	case lockExclusive:
		// One writer at a time across every node, as SQLite's BEGIN
		// IMMEDIATE has it: the domain rules were written for serialized
		// writers, and no two Updates can deadlock on row locks.
		if _, err := pgTx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.writeLock); err != nil {
			return dbError(op, err)
		}
	case lockShared:
		if _, err := pgTx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, s.writeLock); err != nil {
			return dbError(op, err)
		}
	}
	if err := fn(newTx(s, pgTx, write)); err != nil {
		return err
	}
	done = true
	if err := pgTx.Commit(ctx); err != nil {
		return dbError(op, err)
	}
	return nil
}

// migrate applies the pending migrations in one transaction, under an
// advisory lock: a second node starting at the same time waits, then finds
// the schema current.
func (s *Store) migrate(ctx context.Context, clock botgate.Clock) error {
	const op = "postgres.Open"
	ms, err := sqlstore.ReadMigrations(migrationFS)
	if err != nil {
		return botgate.E(op, botgate.KindInternal, err)
	}
	pgTx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbError(op, redact(err))
	}
	defer pgTx.Rollback(context.WithoutCancel(ctx))

	if _, err := pgTx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.migrateLock); err != nil {
		return dbError(op, err)
	}
	if err := sqlstore.Migrate(ctx, op, newTx(s, pgTx, true), ms, clock.Now(), s.log, dbError); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return dbError(op, err)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, dbError("postgres.SchemaVersion", err)
	}
	return v, nil
}

// PostgreSQL error codes botgate maps to kinds.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeNotNullViolation     = "23502"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeReadOnlyTransaction  = "25006"
)

// constraintFields names the column a person chose for each unique index,
// as the SQLite store names it.
var constraintFields = map[string]string{
	"users_username_key":                        "username",
	"users_email_key":                           "email",
	"groups_full_path_key":                      "full_path",
	"projects_path_with_namespace_key":          "path",
	"projects_namespace_path_key":               "path",
	"members_group_user_key":                    "user_id",
	"members_project_user_key":                  "user_id",
	"tokens_digest_key":                         "digest",
	"secrets_owner_name_key":                    "name",
	"upstream_credentials_owner_automation_key": "automation",
	"automations_name_key":                      "name",
}

// dbError turns a database error into a *botgate.Error.
func dbError(op string, err error) error {
	var be *botgate.Error
	if errors.As(err, &be) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// The cause names the constraint, never the row's values (a
		// unique violation's detail quotes them, a token digest included).
		cause := fmt.Errorf("PostgreSQL error %s on %s", pe.Code, pe.ConstraintName)
		switch pe.Code {
		case codeUniqueViolation:
			field := constraintFields[pe.ConstraintName]
			msg := "already exists"
			if field != "" {
				msg = field + " has already been taken"
			}
			return &botgate.Error{Op: op, Kind: botgate.KindConflict, Field: field, Message: msg, Err: cause}
		case codeForeignKeyViolation:
			return &botgate.Error{Op: op, Kind: botgate.KindInvalid, Message: "a referenced record does not exist", Err: cause}
		case codeCheckViolation, codeNotNullViolation:
			return &botgate.Error{Op: op, Kind: botgate.KindInvalid, Message: "the record breaks a constraint", Err: cause}
		case codeSerializationFailure, codeDeadlockDetected:
			return &botgate.Error{Op: op, Kind: botgate.KindConflict,
				Message: "a concurrent change won; try again", Err: err}
		case codeReadOnlyTransaction:
			return &botgate.Error{Op: op, Kind: botgate.KindInternal,
				Message: "write attempted in a read-only (View) transaction", Err: err}
		}
	}
	return botgate.E(op, botgate.KindInternal, err)
}
