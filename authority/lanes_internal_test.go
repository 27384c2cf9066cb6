package authority

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/sqlstore"
)

// legacyChain is an audit log as botgate wrote it before the log had
// lanes (schema version 6): one chain, the first hash form, its signed
// head and the authentication revision in the settings.
func legacyChain(t *testing.T, key []byte, exec func(query string, args ...any)) {
	t.Helper()
	var head botgate.AuditHead
	for i := range 5 {
		e := &botgate.AuditEvent{Seq: int64(i + 1), Time: time.Date(2026, 11, 1, 0, i, 0, 0, time.UTC), ActorID: 1, ActorName: "root",
			Action: botgate.ActionTokenCreate, TargetType: "token", TargetID: int64(i + 1), PrevHash: head.Hash}
		e.Hash = botgate.ChainHash(key, head.Hash, e)
		exec(`INSERT INTO audit_events (seq, "time", actor_id, actor_name, token_id, action, target_type, target_id, target_name,
			ip, user_agent, details, prev_hash, hash) VALUES ($1, $2, $3, $4, 0, $5, $6, $7, '', '', '', NULL, $8, $9)`,
			e.Seq, e.Time.UnixMicro(), e.ActorID, e.ActorName, e.Action, e.TargetType, e.TargetID, e.PrevHash, e.Hash)
		head = botgate.AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	exec(`INSERT INTO settings (key, value) VALUES ('audit_head', $1), ('auth_revision', '3')`, signHead(key, headUseRecorded, head))
}

// schemaAt applies the store's migrations up to version 6 with exec, as
// a botgate of that version left the database.
func schemaAt6(t *testing.T, dir string, exec func(query string, args ...any)) {
	t.Helper()
	ms, err := sqlstore.ReadMigrations(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	for _, m := range ms[:6] {
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.Version, m.Name)
	}
}

// TestLegacyChainVerifiesAfterMigration: a log written before lanes keeps
// verifying once migration 0009 ran, and the next events continue it, on
// either store.
func TestLegacyChainVerifiesAfterMigration(t *testing.T) {
	pepper := []byte(strings.Repeat("legacy-chain-pep", 2))
	key := AuditKey(pepper)
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := raw.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		schemaAt6(t, "../sqlite", exec)
		legacyChain(t, key, exec)
		raw.Close()
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		checkMigratedChain(t, s, pepper)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Schema(t, pgtest.URL(t, "the PostgreSQL migration of the audit log"))
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := conn.Exec(t.Context(), q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		schemaAt6(t, "../postgres", exec)
		legacyChain(t, key, exec)
		conn.Close(t.Context())
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		checkMigratedChain(t, s, pepper)
	})
}

func checkMigratedChain(t *testing.T, s botgate.Store, pepper []byte) {
	ctx := context.Background()
	key := AuditKey(pepper)
	res, err := VerifyAudit(ctx, s, key)
	if err != nil || !res.OK() || res.Events != 5 || res.Head.Seq != 5 {
		t.Fatalf("the legacy log after migration: %+v %v", res, err)
	}
	if rev, err := Revision(ctx, s); err != nil || rev != "3" {
		t.Errorf("revision after migration: %q %v, want the legacy 3", rev, err)
	}
	if ok, err := Initialized(ctx, s); err != nil || !ok {
		t.Errorf("Initialized after migration: %v %v", ok, err)
	}
	if h, err := RecordedAuditHead(ctx, s, key); err != nil || h != res.Head {
		t.Errorf("RecordedAuditHead: %+v %v, want %+v", h, err, res.Head)
	}
	svc, err := New(Config{Store: s, Pepper: pepper, RevisionPoll: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	u := botgate.User{Username: "ann", Kind: botgate.HumanUser, State: botgate.UserActive}
	if err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, &u) }); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreatePersonalToken(ctx, SystemActor(), u.ID, NewToken{Name: "after", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeToken(ctx, SystemActor(), c.Token.ID); err != nil {
		t.Fatal(err)
	}
	res, err = VerifyAudit(ctx, s, key)
	if err != nil || !res.OK() || res.Events != 7 || res.Head.Seq != 7 {
		t.Fatalf("the log continued after migration: %+v %v", res, err)
	}
	if rev, err := Revision(ctx, s); err != nil || rev == "3" {
		t.Errorf("revision after a revocation: %q %v, want it moved", rev, err)
	}
}
