package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// Migration is one versioned schema change, read from NNNN_description.sql.
type Migration struct {
	Version int
	Name    string // the file name without .sql
	SQL     string
}

// ReadMigrations reads migrations/*.sql from fsys in version order, and
// checks that the versions run 1, 2, 3, … without a gap.
func ReadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s is not named NNNN_description.sql", base)
		}
		body, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(base, ".sql"), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := range ms {
		if ms[i].Version != i+1 {
			return nil, fmt.Errorf("migration versions must be 1, 2, 3, ...: found %s at position %d", ms[i].Name, i+1)
		}
	}
	return ms, nil
}

// Pending returns the migrations after current, or a KindInvalid error if
// the database is newer than this binary knows.
func Pending(op string, ms []Migration, current int) ([]Migration, error) {
	if current > len(ms) {
		return nil, &botgate.Error{Op: op, Kind: botgate.KindInvalid, Message: fmt.Sprintf(
			"database schema version %d is newer than this botgate supports (%d): it was written by a newer botgate; upgrade botgate",
			current, len(ms))}
	}
	return ms[current:], nil
}

// Migrate applies the migrations of ms that c's database lacks, in c's
// transaction, recording each in schema_migrations at now; the caller
// commits. dbError turns a driver error into the backend's error.
func Migrate(ctx context.Context, op string, c Conn, ms []Migration, now time.Time, log *slog.Logger, dbError func(op string, err error) error) error {
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return dbError(op, err)
	}
	var current int
	if err := c.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return dbError(op, err)
	}
	pending, err := Pending(op, ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if _, err := c.Exec(ctx, m.SQL); err != nil {
			return botgate.E(op, botgate.KindInternal, fmt.Errorf("migration %s: %w", m.Name, err))
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, now.UTC().UnixMicro()); err != nil {
			return dbError(op, err)
		}
		log.Info("applied database migration", "migration", m.Name)
	}
	return nil
}
