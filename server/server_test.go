package server

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/pgtest"
)

// newTestServer initialises a data directory and builds a server on it
// with both listeners on free ports.
func newTestServer(t *testing.T) *Server {
	t.Helper()
	return newTestServerWith(t, nil)
}

// newTestServerWith is newTestServer with change applied to the
// configuration first.
func newTestServerWith(t *testing.T, change func(*Config)) *Server {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0", Gateway: GatewayConfig{Upstream: "http://127.0.0.1:1"}}
	if change != nil {
		change(&cfg)
	}
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test", TokenFile: filepath.Join(t.TempDir(), "admin.token")}, log); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runServer runs s in the background; the channel receives Run's error.
func runServer(ctx context.Context, s *Server) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s")
		return nil
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	s := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := runServer(ctx, s)
	tests := []struct {
		name, url string
		header    http.Header
		want      int
	}{
		{"health", "http://" + s.Addr().String() + "/-/health", nil, http.StatusOK},
		{"readiness", "http://" + s.Addr().String() + "/-/readiness", nil, http.StatusOK},
		{"metrics need an administrator", "http://" + s.Addr().String() + "/metrics", nil, http.StatusUnauthorized},
		{"forward-auth without a token", "http://" + s.Addr().String() + "/-/auth",
			http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/api/v4/user"}}, http.StatusUnauthorized},
		{"proxy without a token", "http://" + s.ProxyAddr().String() + "/api/v4/user", nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	cancel()
	if err := wait(t, done); err != nil {
		t.Errorf("Run: %v, want nil once its context ends", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRunStopsWhenAListenerFails(t *testing.T) {
	s := newTestServer(t)
	defer s.Close()
	done := runServer(context.Background(), s)
	// The proxy's listener goes away under it.
	s.proxyLn.Close()
	err := wait(t, done)
	if err == nil {
		t.Fatal("Run returned nil after its proxy listener failed")
	}
	if !strings.Contains(err.Error(), "proxy listener") {
		t.Errorf("Run: %v, want the proxy listener's failure", err)
	}
}

func TestOpenWithoutServing(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Getenv: func(string) string { return "" }}
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test"}, log); err != nil {
		t.Fatal(err)
	}
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test"}, log); err == nil {
		t.Error("a second Initialize of the same data directory succeeded")
	}
	in, err := Open(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	v, err := in.OpenVault(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	v.Keyring().Destroy()
	ok, err := authority.Initialized(ctx, in.Store)
	if err != nil || !ok {
		t.Errorf("Initialized = %v, %v; want true", ok, err)
	}
}

// TestTwoNodesOnPostgres: a second node with an empty data directory is
// refused initialisation of a store another node initialised, and nodes
// with the first node's data directory serve the installation one after the
// other.
func TestTwoNodesOnPostgres(t *testing.T) {
	store := pgtest.Schema(t, pgtest.URL(t, "the server on PostgreSQL"))
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	noEnv := func(string) string { return "" }
	a := Config{DataDir: filepath.Join(t.TempDir(), "a"), Store: store, Getenv: noEnv, Listen: "127.0.0.1:0"}
	if _, err := Initialize(ctx, a, Admin{Username: "root", Email: "root@botgate.test"}, log); err != nil {
		t.Fatal(err)
	}
	b := a
	b.DataDir = filepath.Join(t.TempDir(), "b")
	if _, err := Initialize(ctx, b, Admin{Username: "root", Email: "root@botgate.test"}, log); err == nil ||
		!strings.Contains(err.Error(), "already holds a botgate installation") {
		t.Fatalf("Initialize of a second node: %v, want a refusal", err)
	}
	b.DataDir = a.DataDir
	for _, cfg := range []Config{a, b} {
		s, err := New(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := runServer(rctx, s)
		resp, err := http.Get("http://" + s.Addr().String() + "/-/readiness")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("readiness: %d", resp.StatusCode)
		}
		cancel()
		if err := wait(t, done); err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}
