package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

func TestMigrationFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"embedded set", nil, ""},
		{"in order", []string{"0001_a.sql", "0002_b.sql", "0003_c.sql"}, ""},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "must be 1, 2, 3"},
		{"duplicate version", []string{"0001_a.sql", "0001_b.sql"}, "must be 1, 2, 3"},
		{"bad name", []string{"0001_a.sql", "second.sql"}, "NNNN_description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []sqlstore.Migration
			var err error
			if tt.files == nil {
				ms, err = sqlstore.ReadMigrations(migrationFS)
			} else {
				fsys := fstest.MapFS{}
				for _, f := range tt.files {
					fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
				}
				ms, err = sqlstore.ReadMigrations(fsys)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				for i, m := range ms {
					if m.Version != i+1 || m.SQL == "" {
						t.Errorf("migration %d: %+v", i, m)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// A migration that fails leaves the database as it was: the migrations
// before it in the same run are rolled back too.
func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := t.Context()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	current, err := sqlstore.ReadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	n := len(current)
	next := append(current[:n:n],
		sqlstore.Migration{Version: n + 1, Name: "good", SQL: "CREATE TABLE good_table (id INTEGER PRIMARY KEY);"},
		sqlstore.Migration{Version: n + 2, Name: "bad", SQL: "CREATE TABLE bad_table (id INTEGER PRIMARY KEY); THIS IS NOT SQL;"},
	)
	err = s.migrate(ctx, botgate.SystemClock{}, next)
	if err == nil {
		t.Fatal("a broken migration applied")
	}
	if !strings.Contains(err.Error(), "bad") {
		t.Errorf("error %v does not name the failed migration", err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables, version int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('good_table', 'bad_table')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if tables != 0 || version != n {
		t.Errorf("after a failed run: %d new tables, version %d; want 0 and %d", tables, version, n)
	}
	// The store still works.
	if err := s.Update(ctx, func(tx botgate.Tx) error { return tx.PutSetting(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
}
