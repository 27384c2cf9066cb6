package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// status is one answer: its code and body, or the error.
type status struct {
	code int
	body string
	err  error
}

func getAsync(url string) <-chan status {
	c := make(chan status, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
		if err != nil {
			c <- status{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		c <- status{code: resp.StatusCode, body: string(b)}
	}()
	return c
}

func await(t *testing.T, what string, c <-chan status) status {
	t.Helper()
	select {
	case s := <-c:
		if s.err != nil {
			t.Fatalf("%s: %v", what, s.err)
		}
		return s
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer within 30s", what)
		return status{}
	}
}

// pending fails the test if c has an answer already.
func pending(t *testing.T, what string, c <-chan status) {
	t.Helper()
	select {
	case s := <-c:
		t.Fatalf("%s was answered (%d %q) before the API was built", what, s.code, s.body)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestHealthAnswersWhileTheServerIsBuilt: once serve has bound its
// listeners, /-/health answers, /-/readiness says the server is starting,
// and an API request waits for the API and is answered by it.
func TestHealthAnswersWhileTheServerIsBuilt(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0", Gateway: GatewayConfig{Upstream: "http://127.0.0.1:1"}}
	ls, err := Bind(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ls.start()
	base := "http://" + ls.Addr().String()
	if s := await(t, "/-/health before the data directory is initialised", getAsync(base+"/-/health")); s.code != http.StatusOK {
		t.Errorf("/-/health while starting: %d %q, want 200", s.code, s.body)
	}
	if s := await(t, "/-/readiness while starting", getAsync(base+"/-/readiness")); s.code != http.StatusServiceUnavailable ||
		!strings.Contains(s.body, "botgate is starting") {
		t.Errorf("/-/readiness while starting: %d %q, want 503 saying it is starting", s.code, s.body)
	}
	held := getAsync(base + "/api/v4/user")
	pending(t, "GET /api/v4/user", held)

	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test"}, log); err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = ls
	srv, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pending(t, "GET /api/v4/user", held)
	rctx, cancel := context.WithCancel(ctx)
	done := runServer(rctx, srv)
	// The API's own answer: no token, 401 in GitLab's shape.
	if s := await(t, "the held GET /api/v4/user", held); s.code != http.StatusUnauthorized || !strings.Contains(s.body, "401 Unauthorized") {
		t.Errorf("held GET /api/v4/user once the API runs: %d %q, want the API's 401", s.code, s.body)
	}
	if s := await(t, "/-/readiness once running", getAsync(base+"/-/readiness")); s.code != http.StatusOK {
		t.Errorf("/-/readiness once running: %d %q, want 200", s.code, s.body)
	}
	cancel()
	if err := wait(t, done); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestHeldRequestsRefusedWhenTheServerDoesNotStart: a server that fails
// to build (here: no initialised data directory) refuses the requests
// that waited for it instead of leaving them hanging.
func TestHeldRequestsRefusedWhenTheServerDoesNotStart(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0"}
	ls, err := Bind(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ls.start()
	held := getAsync("http://" + ls.Addr().String() + "/api/v4/user")
	pending(t, "GET /api/v4/user", held)
	cfg.Listeners = ls
	if srv, err := New(context.Background(), cfg, log); err == nil {
		srv.Close()
		t.Fatal("New on an uninitialised data directory succeeded")
	}
	s := <-held
	if s.err == nil && (s.code != http.StatusServiceUnavailable || !strings.Contains(s.body, "botgate did not start")) {
		t.Errorf("held request after a failed start: %d %q, want 503 saying botgate did not start", s.code, s.body)
	}
	if s.err != nil {
		t.Errorf("held request after a failed start: %v, want a 503 answer", s.err)
	}
}

// TestServeStoppedWhileInitialisingFinishesTheInitialisation: serve
// stopped during a first start (a supervisor that saw /-/health and moved
// on, an impatient ^C) still writes the administrator's token; a data
// directory must never count as initialised with no token written.
func TestServeStoppedWhileInitialisingFinishesTheInitialisation(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" }, Listen: "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tokenFile := filepath.Join(dir, "admin.token")
	var notes strings.Builder
	if err := Serve(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test", TokenFile: tokenFile},
		slog.New(slog.DiscardHandler), &notes); err != nil {
		t.Fatalf("Serve stopped while initialising: %v", err)
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil || len(strings.TrimSpace(string(token))) == 0 {
		t.Fatalf("admin token after a stopped first start: %q, %v; want the token written", token, err)
	}
	// The directory serves, and the token written is an administrator's.
	srv, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rctx, stop := context.WithCancel(context.Background())
	done := runServer(rctx, srv)
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.Addr().String()+"/api/v4/user", nil)
	req.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"is_admin":true`) {
		t.Errorf("GET /api/v4/user with the written token: %d %s, want the administrator", resp.StatusCode, body)
	}
	stop()
	if err := wait(t, done); err != nil {
		t.Errorf("Run: %v", err)
	}
}
