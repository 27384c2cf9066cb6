package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
