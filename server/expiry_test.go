package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/notify"
	"github.com/botgate/botgate/ratelimit"
)

// TestRunSendsExpiryNoticesOnceAcrossRestarts runs the server with the
// demo automations and a team webhook: Run starts the expiry job, which
// tells the team at 30 days; a new server on the same data directory then
// sends the 7-day notice but never the 30-day one again.
func TestRunSendsExpiryNoticesOnceAcrossRestarts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{} // "token/threshold" -> posts
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.ExpiryWebhook
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[fmt.Sprintf("%d/%d", n.TokenID, n.ThresholdDays)]++
		mu.Unlock()
	}))
	defer hook.Close()
	posts := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[key]
	}

	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	dataDir := filepath.Join(t.TempDir(), "data")
	change := func(c *Config) {
		c.DataDir, c.Clock, c.Demo = dataDir, clock, true
		c.Expiry = notify.ExpirySettings{Interval: 20 * time.Millisecond}
	}
	s := newTestServerWith(t, change)
	// Every demo team sits under gitlab-org: its destination serves them
	// all.
	var first *botgate.Token
	err := s.in.Store.View(t.Context(), func(tx botgate.Tx) error {
		ts, _, err := tx.FindTokens(t.Context(), botgate.TokenFilter{Revoked: new(bool), Sort: "expires_asc"})
		for _, tk := range ts {
			if tk.Automation != "" && tk.ExpiresAt != nil {
				first = tk
				break
			}
		}
		return err
	})
	if err != nil || first == nil {
		t.Fatalf("no demo token with an expiry: %v", err)
	}
	gitlabOrg, err := s.in.Authority.Resource(t.Context(), authority.SystemActor(), botgate.GroupResource, "gitlab-org")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.in.Authority.SetTeamNotify(t.Context(), authority.SystemActor(), gitlabOrg.ID, hook.URL+"/hooks/secret", nil); err != nil {
		t.Fatal(err)
	}

	// runUntil runs a server until the notice key has been posted, and a
	// few more of the job's runs after it.
	runUntil := func(s *Server, key string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := runServer(ctx, s)
		deadline := time.Now().Add(20 * time.Second)
		for posts(key) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // about five more runs
		cancel()
		if err := wait(t, done); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	exp := *first.ExpiresAt
	clock.Set(exp.Add(-30*24*time.Hour + time.Hour))
	runUntil(s, fmt.Sprintf("%d/30", first.ID))

	clock.Set(exp.Add(-7*24*time.Hour + time.Hour))
	s2, err := New(context.Background(), func() Config {
		cfg := Config{Getenv: func(string) string { return "" }, Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0",
			Gateway: GatewayConfig{Upstream: "http://127.0.0.1:1"}}
		change(&cfg)
		cfg.Demo = false
		return cfg
	}(), nil)
	if err != nil {
		t.Fatal(err)
	}
	runUntil(s2, fmt.Sprintf("%d/7", first.ID))

	mu.Lock()
	defer mu.Unlock()
	for key, n := range seen {
		if n != 1 {
			t.Errorf("notice %s posted %d times, want once", key, n)
		}
	}
	if seen[fmt.Sprintf("%d/30", first.ID)] != 1 || seen[fmt.Sprintf("%d/7", first.ID)] != 1 {
		t.Errorf("notices %v: want the first token's 30- and 7-day notices", seen)
	}
}

// TestReissueAPI calls POST /api/botgate/v1/tokens/reissue on a running
// demo server: an administrator's dry run lists the due tokens, a user
// without rights is refused with the authority's reason.
func TestReissueAPI(t *testing.T) {
	s := newTestServerWith(t, func(c *Config) { c.Demo = true })
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := runServer(ctx, s)
	defer func() {
		cancel()
		wait(t, done)
	}()
	sys := authority.SystemActor()
	admin, err := s.in.Authority.CreateUser(t.Context(), sys, authority.NewUser{Username: "ops-admin", Name: "Ops", Email: "ops@example.com", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := s.in.Authority.CreateUser(t.Context(), sys, authority.NewUser{Username: "nobody", Name: "Nobody", Email: "nobody@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tokenOf := func(u *botgate.User) string {
		c, err := s.in.Authority.CreatePersonalToken(t.Context(), sys, u.ID, authority.NewToken{Name: "cli", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		return c.Secret
	}
	call := func(token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr().String()+"/api/botgate/v1/tokens/reissue", strings.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := call(tokenOf(admin), `{"expiring_within": "365d", "dry_run": true}`)
	if toks, _ := out["tokens"].([]any); code != http.StatusOK || len(toks) == 0 || out["dry_run"] != true {
		t.Errorf("admin dry run: %d %v, want 200 listing the demo's tokens", code, out)
	}
	code, out = call(tokenOf(nobody), `{"expiring_within": "365d"}`)
	if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(out), "administrator") {
		t.Errorf("a user without rights: %d %v, want 403 saying why", code, out)
	}
	if code, _ := call(tokenOf(admin), `{"expiring_within": "soon"}`); code != http.StatusBadRequest {
		t.Errorf("a bad duration: %d, want 400", code)
	}
}
