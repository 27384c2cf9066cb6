package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
)

// schemaVersions reads the versions recorded in schema_migrations.
func schemaVersions(t *testing.T, path string) []int {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "botgate.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := &botgate.User{Username: "keeper", Kind: botgate.HumanUser, State: botgate.UserActive}
	if err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	first := schemaVersions(t, path)
	if len(first) == 0 {
		t.Fatal("no migration recorded")
	}
	for i, v := range first {
		if v != i+1 {
			t.Fatalf("recorded versions %v, want 1..%d", first, len(first))
		}
	}

	for range 2 {
		s := openTemp(t, path)
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.UserByUsername(ctx, "keeper")
			if err != nil || got.ID != u.ID {
				t.Errorf("user after reopening: %+v, %v", got, err)
			}
			return nil
		})
	}
	if again := schemaVersions(t, path); len(again) != len(first) {
		t.Errorf("reopening changed the recorded versions from %v to %v", first, again)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "botgate.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_from_the_future', 0)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	s, err = sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database written by a newer schema")
	}
	if botgate.KindOf(err) != botgate.KindInvalid {
		t.Errorf("kind %v, want invalid: %v", botgate.KindOf(err), err)
	}
	if msg := botgate.MessageOf(err); !strings.Contains(msg, "9999") || !strings.Contains(msg, "newer") {
		t.Errorf("message %q does not say the schema is newer", msg)
	}
}

func TestOpenBadPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		kind botgate.Kind
	}{
		{"empty", "", botgate.KindInvalid},
		{"memory", ":memory:", botgate.KindInvalid},
		{"URI", "file:x.db", botgate.KindInvalid},
		{"query string", filepath.Join(t.TempDir(), "x.db?mode=ro"), botgate.KindInvalid},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), botgate.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if k := botgate.KindOf(err); k != tt.kind {
				t.Errorf("kind %v, want %v: %v", k, tt.kind, err)
			}
		})
	}
}

func TestViewRefusesWrites(t *testing.T) {
	s := openTemp(t, "")
	ctx := t.Context()
	err := s.View(ctx, func(tx botgate.Tx) error {
		return tx.CreateUser(ctx, &botgate.User{Username: "sneaky", Kind: botgate.HumanUser, State: botgate.UserActive})
	})
	if err == nil {
		t.Fatal("a View wrote")
	}
	err = s.View(ctx, func(tx botgate.Tx) error {
		_, _, err := tx.LockAuditLane(ctx, 1)
		return err
	})
	if err == nil {
		t.Error("LockAuditLane worked in a View")
	}
	view(t, s, func(tx botgate.Tx) error {
		_, err := tx.UserByUsername(ctx, "sneaky")
		if botgate.KindOf(err) != botgate.KindNotFound {
			t.Errorf("user written by a View: %v", err)
		}
		return nil
	})
}
