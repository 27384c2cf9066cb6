// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by BOTGATE_TEST_POSTGRES_URL, so that runs and packages do not
// interfere, and skips them with a message naming the variable when it is
// not set.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that holds the test server's URL.
const EnvURL = "BOTGATE_TEST_POSTGRES_URL"

// URL returns the test server's URL, or skips the test, saying that the
// variable runs what.
func URL(t testing.TB, what string) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skip("set " + EnvURL + " to run " + what)
	}
	return u
}

// Schema creates an empty schema with a random name on the server at base,
// drops it when the test ends, and returns a URL whose connections use it.
func Schema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "botgate_test_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA on %s: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Main runs a package's tests (from its TestMain) and, when the variable
// env is not set, says first on standard error that the suite what is
// skipped and how to run it, so that the run's output tells a skipped
// suite from a passed one.
func Main(m *testing.M, env, what string) {
	if os.Getenv(env) == "" {
		fmt.Fprintf(os.Stderr, "SKIP %s: %s is not set; set it to a test server's URL to run it (see README.md, \"Tests\")\n", what, env)
	}
	os.Exit(m.Run())
}
