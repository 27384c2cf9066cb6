package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/outage"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/storetest"
)

// testURL returns the database the suite runs against, or skips the test.
func TestMain(m *testing.M) { pgtest.Main(m, pgtest.EnvURL, "the PostgreSQL suite") }

func testURL(t *testing.T) string { return pgtest.URL(t, "the PostgreSQL suite") }

// freshSchema gives the test a schema of its own and returns its URL.
func freshSchema(t *testing.T) string { return pgtest.Schema(t, testURL(t)) }

// withParam adds a query parameter to a postgres:// URL.
func withParam(t *testing.T, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("BOTGATE_TEST_POSTGRES_URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.WithMaxConns(8))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Exercise(t, func(t *testing.T) botgate.Store { return open(t, freshSchema(t)) })
}

func TestConformanceTwoStores(t *testing.T) {
	testURL(t)
	storetest.ExerciseTwo(t, func(t *testing.T) (botgate.Store, botgate.Store) {
		u := freshSchema(t)
		return open(t, u), open(t, u)
	})
}

func TestRouteUsageConformance(t *testing.T) {
	testURL(t)
	storetest.ExerciseRouteUsage(t, func(t *testing.T) botgate.Store { return open(t, freshSchema(t)) })
}

func TestMigrations(t *testing.T) {
	t.Run("concurrent opens apply each migration once", func(t *testing.T) {
		u := freshSchema(t)
		const n = 4
		errs := make(chan error, n)
		stores := make(chan *postgres.Store, n)
		for range n {
			go func() {
				s, err := postgres.Open(t.Context(), u)
				errs <- err
				stores <- s
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("Open: %v", err)
			}
			s := <-stores
			t.Cleanup(func() { s.Close() })
		}
		s := open(t, u)
		v, err := s.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir("migrations")
		if err != nil {
			t.Fatal(err)
		}
		if v != len(entries) {
			t.Errorf("SchemaVersion = %d, want %d (one per file in migrations/)", v, len(entries))
		}
		var rows int
		if err := s.Pool().QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != len(entries) {
			t.Errorf("schema_migrations has %d rows, want %d", rows, len(entries))
		}
	})
	t.Run("newer database refused", func(t *testing.T) {
		u := freshSchema(t)
		s := open(t, u)
		if _, err := s.Pool().Exec(t.Context(),
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)`); err != nil {
			t.Fatal(err)
		}
		_, err := postgres.Open(t.Context(), u)
		if botgate.KindOf(err) != botgate.KindInvalid || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("Open of a newer database: %v, want KindInvalid naming a newer schema", err)
		}
	})
	t.Run("same tables and columns as sqlite", func(t *testing.T) {
		// The SQLite store migrates its file; read its schema back.
		path := filepath.Join(t.TempDir(), "botgate.db")
		sq, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		sq.Close()
		want := map[string]bool{}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.QueryContext(t.Context(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			want[table+"."+col] = true
		}
		rows.Close()
		if len(want) == 0 {
			t.Fatal("no SQLite columns found")
		}
		pg := open(t, freshSchema(t))
		got := map[string]bool{}
		prow, err := pg.Pool().Query(t.Context(), `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		for prow.Next() {
			var table, col string
			if err := prow.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			got[table+"."+col] = true
		}
		prow.Close()
		for c := range want {
			if !got[c] {
				t.Errorf("PostgreSQL lacks SQLite's column %s: port the migration", c)
			}
		}
		for c := range got {
			if !want[c] {
				t.Errorf("PostgreSQL has column %s that SQLite lacks", c)
			}
		}
	})
	t.Run("same migration files as sqlite", func(t *testing.T) {
		// Every SQLite migration has its PostgreSQL twin, by file name.
		sq, err := os.ReadDir("../sqlite/migrations")
		if err != nil {
			t.Fatal(err)
		}
		pg, err := os.ReadDir("migrations")
		if err != nil {
			t.Fatal(err)
		}
		var a, b []string
		for _, e := range sq {
			a = append(a, e.Name())
		}
		for _, e := range pg {
			b = append(b, e.Name())
		}
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", a, b)
		}
	})
}

func TestOpenMissingSchema(t *testing.T) {
	u := withParam(t, testURL(t), "search_path", "botgate_no_such_schema")
	_, err := postgres.Open(t.Context(), u)
	if botgate.KindOf(err) != botgate.KindInvalid || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("Open with a missing schema: %v, want KindInvalid naming the schema", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		kind botgate.Kind
	}{
		{"malformed", "postgres://user:s3cret@[::1", botgate.KindInvalid},
		{"unreachable", "postgres://user:s3cret@127.0.0.1:1/db?connect_timeout=1", botgate.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), tt.url)
			if botgate.KindOf(err) != tt.kind {
				t.Fatalf("Open(%s) = %v, want kind %v", tt.name, err, tt.kind)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error quotes the password: %v", err)
			}
		})
	}
}

func TestFailedStatementLeavesTransactionUsable(t *testing.T) {
	s := open(t, freshSchema(t))
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := s.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "alice", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		tk := &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "a", Digest: []byte("secret-digest-bytes"), CreatedAt: now}
		if err := tx.CreateToken(ctx, tk); err != nil {
			return err
		}
		clash := *tk
		err := tx.CreateToken(ctx, &clash)
		if botgate.KindOf(err) != botgate.KindConflict {
			t.Errorf("CreateToken with a taken digest: %v, want KindConflict", err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-digest") {
			t.Errorf("error quotes the digest: %v", err)
		}
		dup := &botgate.User{Username: "ALICE", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now}
		if err := tx.CreateUser(ctx, dup); botgate.KindOf(err) != botgate.KindConflict {
			t.Errorf("CreateUser with a taken username: %v, want KindConflict", err)
		}
		// The transaction goes on after both failures, as in SQLite.
		return tx.CreateUser(ctx, &botgate.User{Username: "bob", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = s.View(ctx, func(tx botgate.Tx) error {
		_, total, err := tx.FindUsers(ctx, botgate.UserFilter{})
		if total != 2 {
			t.Errorf("users after the transaction: %d, want 2", total)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNotifier(t *testing.T) {
	u := freshSchema(t)
	a, b := open(t, u), open(t, u)
	na, err := a.Notifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.Notifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	type got struct {
		node string
		ids  []int64
	}
	events := make(chan got, 16)
	done := make(chan struct{}, 2)
	for _, n := range []*postgres.Notifier{na, nb} {
		ready := make(chan struct{})
		go func() {
			n.Subscribe(ctx, func(ids []int64) { events <- got{n.Node(), ids} }, ready)
			done <- struct{}{}
		}()
		<-ready
		if e := <-events; e.ids != nil {
			t.Fatalf("first purge: %v, want everything (nil)", e.ids)
		}
	}
	na.Publish(ctx, []int64{7})
	select {
	case e := <-events:
		if e.node != nb.Node() || len(e.ids) != 1 || e.ids[0] != 7 {
			t.Errorf("received %+v, want token 7 on node b", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node b did not receive the invalidation")
	}
	select {
	case e := <-events:
		t.Errorf("unexpected delivery %+v: the sender must not purge on its own message", e)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	<-done
	<-done
}

// TestNotifierRelistens cuts the listening node's connections: when the
// database is reachable again it purges everything and hears new
// notifications.
func TestNotifierRelistens(t *testing.T) {
	direct := freshSchema(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	p := outage.New(t, u.Host)
	viaProxy := *u
	viaProxy.Host = p.Addr()
	a, b := open(t, viaProxy.String()), open(t, direct)
	na, err := a.Notifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.Notifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	purges := make(chan []int64, 64)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		na.Subscribe(ctx, func(ids []int64) { purges <- ids }, ready)
	}()
	defer func() { cancel(); <-done }()
	<-ready
	<-purges

	p.Cut()
	nb.Publish(ctx, []int64{1}) // lost: node a is away
	time.Sleep(100 * time.Millisecond)
	p.Restore()

	select {
	case ids := <-purges:
		if ids != nil {
			t.Fatalf("got %v on coming back, want a purge of everything first", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no purge after the LISTEN came back")
	}
	deadline := time.After(10 * time.Second)
	for {
		nb.Publish(ctx, []int64{2})
		select {
		case ids := <-purges:
			if len(ids) == 1 && ids[0] == 2 {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification after the LISTEN came back")
		}
	}
}

// TestNameOrderIgnoresLocale gives the names a linguistic collation, as a
// database created with a locale such as en_US has: sorting by name still
// follows the bytes, as in SQLite ("B" before "a").
func TestNameOrderIgnoresLocale(t *testing.T) {
	s := open(t, freshSchema(t))
	ctx := t.Context()
	if _, err := s.Pool().Exec(ctx, `ALTER TABLE tokens ALTER COLUMN name TYPE TEXT COLLATE "en-x-icu"`); err != nil {
		t.Skipf("no ICU collation to test with: %v", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []int64
	err := s.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "u", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for _, name := range []string{"a", "B", "c"} {
			tk := &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: name, Digest: []byte("digest-" + name), CreatedAt: now}
			if err := tx.CreateToken(ctx, tk); err != nil {
				return err
			}
			ids = append(ids, tk.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sort string
		want []string
	}{
		{"name_asc", []string{"B", "a", "c"}},
		{"name_desc", []string{"c", "a", "B"}},
	}
	for _, tt := range tests {
		t.Run(tt.sort, func(t *testing.T) {
			var got []string
			err := s.View(ctx, func(tx botgate.Tx) error {
				ts, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Sort: tt.sort})
				for _, tk := range ts {
					got = append(got, tk.Name)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("FindTokens(%s) = %v, want %v", tt.sort, got, tt.want)
			}
		})
	}
}
