package governance_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/vault"
)

// env is a real botgate instance: a SQLite file, the authority, and
// (optionally) a vault with a fresh master key, governed as botgate itself.
type env struct {
	t     testing.TB
	store botgate.Store
	auth  *authority.Service
	clock *ratelimit.ManualClock
	vault *authority.Vault
	kr    *vault.Keyring
	gov   *governance.Governor
}

func newEnv(t testing.TB, withVault bool) *env {
	return newEnvOn(t, "sqlite", withVault)
}

// backends are the stores the end-to-end test runs on: SQLite always,
// PostgreSQL when BOTGATE_TEST_POSTGRES_URL names a server.
func backends() []string {
	if os.Getenv("BOTGATE_TEST_POSTGRES_URL") != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// newEnvOn is newEnv on the named backend; a PostgreSQL instance gets a
// schema of its own, dropped at the end.
func newEnvOn(t testing.TB, backend string, withVault bool) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{t: t, clock: ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))}
	var (
		st  botgate.Store
		err error
	)
	switch backend {
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.Schema(t, pgtest.URL(t, "the governance tests on PostgreSQL")))
	default:
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "botgate.db"))
	}
	if err != nil {
		t.Fatalf("opening the %s store: %v", backend, err)
	}
	e.store = st
	e.auth, err = authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte("k"), 32), Clock: e.clock,
		UsageFlushInterval: time.Hour})
	if err != nil {
		t.Fatalf("authority.New: %v", err)
	}
	t.Cleanup(func() {
		e.auth.Close()
		st.Close()
	})
	cfg := governance.Config{Authority: e.auth, Store: st}
	if withVault {
		raw := make([]byte, vault.KeySize)
		rand.Read(raw)
		key, err := vault.NewMasterKey(raw)
		if err != nil {
			t.Fatalf("NewMasterKey: %v", err)
		}
		if e.kr, err = vault.NewKeyring(rand.Reader, key); err != nil {
			t.Fatalf("NewKeyring: %v", err)
		}
		e.vault = e.auth.Vault(e.kr)
		cfg.Vault = e.vault
	}
	if e.gov, err = governance.New(cfg); err != nil {
		t.Fatalf("governance.New: %v", err)
	}
	return e
}

// example parses the embedded example manifest.
func example(t testing.TB) *manifest.Manifest {
	t.Helper()
	m, err := governance.ExampleManifest()
	if err != nil {
		t.Fatalf("ExampleManifest: %v", err)
	}
	return m
}

// parse parses a manifest written in the test.
func parse(t *testing.T, src string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.ParseNamed("test.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

// plan plans m against the instance and fails the test on error.
func (e *env) plan(m *manifest.Manifest) *manifest.Changes {
	e.t.Helper()
	ch, err := e.gov.Plan(e.t.Context(), m)
	if err != nil {
		e.t.Fatalf("Plan: %v", err)
	}
	return ch
}

// apply plans and applies m and fails the test on error.
func (e *env) apply(m *manifest.Manifest, o governance.ApplyOptions) *governance.ApplyResult {
	e.t.Helper()
	res, err := e.gov.Apply(e.t.Context(), e.plan(m), o)
	if err != nil {
		e.t.Fatalf("Apply: %v", err)
	}
	return res
}

// activeTokens returns the unrevoked tokens by automation name.
func (e *env) activeTokens() map[string][]*botgate.Token {
	e.t.Helper()
	out := map[string][]*botgate.Token{}
	err := e.store.View(e.t.Context(), func(tx botgate.Tx) error {
		ts, _, err := tx.FindTokens(e.t.Context(), botgate.TokenFilter{Revoked: new(bool)})
		for _, tk := range ts {
			out[tk.Automation] = append(out[tk.Automation], tk)
		}
		return err
	})
	if err != nil {
		e.t.Fatalf("FindTokens: %v", err)
	}
	return out
}

// ops lists a plan's operations, for messages.
func ops(ch *manifest.Changes) []string {
	var out []string
	for _, a := range ch.Actions {
		out = append(out, string(a.Op)+" "+a.Title())
	}
	return out
}
