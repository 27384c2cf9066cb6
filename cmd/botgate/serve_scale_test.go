package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/server"
)

// scaleEnv returns the PostgreSQL and Redis URLs of the multi-node test, or
// skips it.
func scaleEnv(t *testing.T) (pgURL, redisURL string) {
	t.Helper()
	pgURL, redisURL = os.Getenv("BOTGATE_TEST_POSTGRES_URL"), os.Getenv("BOTGATE_TEST_REDIS_URL")
	if pgURL == "" || redisURL == "" {
		t.Skip("set BOTGATE_TEST_POSTGRES_URL and BOTGATE_TEST_REDIS_URL to run the multi-node test")
	}
	return pgURL, redisURL
}

// joinNode copies the secrets a node shares with the first one (pepper,
// vault master key) into a new data directory.
func joinNode(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{datadir.PepperFile, datadir.MasterKeyFile} {
		b, err := datadir.ReadSecretFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := datadir.WriteSecretFile(filepath.Join(to, name), b); err != nil {
			t.Fatal(err)
		}
	}
}

// node is one running botgate serve.
type node struct {
	name, base string
}

// scaleClient talks to the nodes.
type scaleClient struct {
	t     *testing.T
	admin string
	http  *http.Client
}

func (c *scaleClient) do(method, u, token string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// auth asks the node's forward-auth endpoint about a read of /api/v4/user.
func (c *scaleClient) auth(n node, token string) int {
	c.t.Helper()
	return c.authURI(n, token, "/api/v4/user")
}

// authURI asks the node's forward-auth endpoint about a read of uri.
func (c *scaleClient) authURI(n node, token, uri string) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.base+"/-/auth", nil)
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("X-Original-URI", uri)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("forward-auth on %s: %v", n.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

type createdPAT struct {
	ID    int64  `json:"id"`
	Token string `json:"token"`
}

// newPAT creates a personal access token for the admin on n.
func (c *scaleClient) newPAT(n node, userID int64, name string) createdPAT {
	c.t.Helper()
	code, b := c.do(http.MethodPost, fmt.Sprintf("%s/api/v4/users/%d/personal_access_tokens", n.base, userID), c.admin,
		map[string]any{"name": name, "scopes": []string{"api"}})
	if code != http.StatusCreated {
		c.t.Fatalf("creating a token on %s: %d %s", n.name, code, b)
	}
	var p createdPAT
	if err := json.Unmarshal(b, &p); err != nil || p.Token == "" {
		c.t.Fatalf("creating a token: %v %s", err, b)
	}
	return p
}

// TestScaleOut runs two botgate serve nodes on one PostgreSQL and one
// Redis, as two nodes behind a load balancer.
func TestScaleOut(t *testing.T) {
	pgURL, redisURL := scaleEnv(t)
	store := pgtest.Schema(t, pgURL)
	var b [6]byte
	rand.Read(b[:])
	prefix := "botgate-scale-" + hex.EncodeToString(b[:]) + ":"
	dir := t.TempDir()
	const burst, loopThreshold = 30, 40
	cfg := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(
		"limits: {default: {rate: %d, period: 1m, burst: %d}}\nloop: {threshold: %d, refusal_delay: 0s}\n", burst, burst, loopThreshold)), 0o600); err != nil {
		t.Fatal(err)
	}
	dirA, dirB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	tokenFile := filepath.Join(dir, "admin.token")
	// The cache lifetime is an hour, so that only the fan-out can make
	// node B refuse a token revoked on node A in time.
	common := []string{"--gateway-config", cfg, "--auth-cache-ttl", "1h"}

	// Node A is configured by flags and initialises the shared store.
	baseA, _, logA := serveWith(t, nil, append([]string{"--data-dir", dirA, "--admin-token-file", tokenFile,
		"--store", store, "--redis", redisURL, "--redis-prefix", prefix}, common...)...)
	if baseA == "" {
		t.Fatalf("node A did not start:\n%s", logA.String())
	}
	adminB, err := datadir.ReadSecretFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(adminB))

	t.Run("a new node refuses to initialise the shared store again", func(t *testing.T) {
		base, stop, logs := serveWith(t, nil, append([]string{"--data-dir", filepath.Join(dir, "c"),
			"--store", store}, common...)...)
		err := stop()
		if base != "" || err == nil || !strings.Contains(err.Error(), "already holds a botgate installation") {
			t.Fatalf("serve on an initialised store with an empty data directory: base %q, err %v\n%s", base, err, logs.String())
		}
		if strings.Contains(err.Error(), "postgres://") {
			t.Errorf("the error quotes the store URL: %v", err)
		}
	})

	// Node B joins with a copy of A's secrets and is configured by the
	// environment.
	joinNode(t, dirA, dirB)
	baseB, _, logB := serveWith(t, map[string]string{"BOTGATE_STORE": store, "BOTGATE_REDIS": redisURL,
		"BOTGATE_REDIS_PREFIX": prefix}, append([]string{"--data-dir", dirB}, common...)...)
	if baseB == "" {
		t.Fatalf("node B did not start:\n%s", logB.String())
	}
	a, bn := node{"A", baseA}, node{"B", baseB}
	c := &scaleClient{t: t, admin: admin, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	code, body := c.do(http.MethodGet, baseA+"/api/v4/user", admin, nil)
	var me struct{ ID int64 }
	if code != http.StatusOK || json.Unmarshal(body, &me) != nil {
		t.Fatalf("GET /api/v4/user on A: %d %s", code, body)
	}

	t.Run("readiness reports shared limits", func(t *testing.T) {
		for _, n := range []node{a, bn} {
			resp, err := c.http.Get(n.base + "/-/readiness")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Botgate-Redis") != "ok" {
				t.Errorf("node %s readiness: %d, Botgate-Redis %q", n.name, resp.StatusCode, resp.Header.Get("Botgate-Redis"))
			}
		}
	})

	t.Run("a token's limit is one budget across nodes", func(t *testing.T) {
		p := c.newPAT(a, me.ID, "shared-limit")
		const perNode = 2 * burst
		var mu sync.Mutex
		counts := map[string]map[int]int{}
		var wg sync.WaitGroup
		for _, n := range []node{a, bn} {
			counts[n.name] = map[int]int{}
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perNode / 4 {
						// Distinct requests: the loop breaker stays out of it.
						code := c.authURI(n, p.Token, fmt.Sprintf("/api/v4/user?n=%s%d", n.name, i))
						mu.Lock()
						counts[n.name][code]++
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		allowed := counts["A"][http.StatusOK] + counts["B"][http.StatusOK]
		limited := counts["A"][http.StatusTooManyRequests] + counts["B"][http.StatusTooManyRequests]
		t.Logf("shared limit: %d allowed (A %d, B %d), %d refused with 429, budget %d", allowed,
			counts["A"][http.StatusOK], counts["B"][http.StatusOK], limited, burst)
		if allowed+limited != 2*perNode {
			t.Fatalf("unexpected answers: %v", counts)
		}
		// The budget refills at one request per 2 s: a few more may pass
		// while the test runs, never a second budget.
		if allowed < burst || allowed > burst+3 {
			t.Errorf("%d requests allowed across two nodes, want one budget of %d", allowed, burst)
		}
	})

	t.Run("a revocation on A is refused on B", func(t *testing.T) {
		n := 200
		if testing.Short() {
			n = 20
		}
		lat := make([]time.Duration, 0, n)
		for i := range n {
			p := c.newPAT(a, me.ID, fmt.Sprintf("revoke-%d", i))
			if code := c.auth(bn, p.Token); code != http.StatusOK {
				t.Fatalf("token %d on B before revocation: %d", i, code)
			}
			if code, b := c.do(http.MethodDelete, fmt.Sprintf("%s/api/v4/personal_access_tokens/%d", a.base, p.ID), admin, nil); code != http.StatusNoContent {
				t.Fatalf("revoking on A: %d %s", code, b)
			}
			revoked := time.Now()
			if code := c.auth(a, p.Token); code != http.StatusUnauthorized {
				t.Fatalf("token %d on A right after its revocation: %d", i, code)
			}
			for {
				code := c.auth(bn, p.Token)
				if code == http.StatusUnauthorized {
					lat = append(lat, time.Since(revoked))
					break
				}
				// 200 or 429: B still takes the token for a valid one.
				if code != http.StatusOK && code != http.StatusTooManyRequests {
					t.Fatalf("token %d on B: %d", i, code)
				}
				// The cache lifetime is an hour: only the fan-out gets here.
				if time.Since(revoked) > 10*time.Second {
					t.Fatalf("token %d still accepted on B 10s after its revocation on A", i)
				}
				time.Sleep(time.Millisecond)
			}
		}
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		t.Logf("revocation on A refused on B, %d revocations: p50 %s, p90 %s, p99 %s, max %s",
			len(lat), q(0.50), q(0.90), q(0.99), lat[len(lat)-1])
	})

	t.Run("audit verify checks the shared store's chain", func(t *testing.T) {
		out, err := runCmd(t, "audit", "verify", "--data-dir", dirA, "--store", store, "--output", "json")
		var res map[string]any
		if err != nil || json.Unmarshal([]byte(out), &res) != nil || res["ok"] != true || res["events"].(float64) < 3 {
			t.Fatalf("audit verify --store: %v\n%s", err, out)
		}
		if strings.Contains(out, "postgres://") {
			t.Fatalf("audit verify quotes the store URL:\n%s", out)
		}
		out, err = runCmd(t, "vault", "status", "--data-dir", dirA, "--store", store)
		if err != nil {
			t.Fatalf("vault status --store: %v\n%s", err, out)
		}
	})

	t.Run("a revocation by a command on the store alone reaches the servers", func(t *testing.T) {
		p := c.newPAT(a, me.ID, "revoked-offline")
		for _, n := range []node{a, bn} {
			if code := c.auth(n, p.Token); code != http.StatusOK {
				t.Fatalf("on %s before: %d", n.name, code)
			}
		}
		// As 'botgate apply --store …' opens it: no Redis, no listening.
		in, err := server.Open(t.Context(), server.Config{DataDir: dirA, Store: store}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		err = in.Authority.RevokeToken(t.Context(), authority.SystemActor(), p.ID)
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		for _, n := range []node{a, bn} {
			for c.auth(n, p.Token) != http.StatusUnauthorized {
				if time.Since(revoked) > 10*time.Second {
					t.Fatalf("node %s still accepts the token 10s after its revocation", n.name)
				}
				time.Sleep(time.Millisecond)
			}
		}
		t.Logf("a revocation from a store-only command was refused on both nodes after %s", time.Since(revoked))
	})

	t.Run("a loop across nodes trips once", func(t *testing.T) {
		p := c.newPAT(a, me.ID, "looping")
		const n = 60
		var wg sync.WaitGroup
		for _, nd := range []node{a, bn} {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n / 6 {
						if code := c.authURI(nd, p.Token, "/api/v4/projects?loop=1"); code != http.StatusOK && code != http.StatusTooManyRequests {
							t.Errorf("looping request on %s: %d", nd.name, code)
						}
					}
				}()
			}
		}
		wg.Wait()
		code, body := c.do(http.MethodGet, fmt.Sprintf("%s/api/botgate/v1/audit/events?action=gateway.loop_tripped&token_id=%d", bn.base, p.ID), admin, nil)
		var events []struct {
			Action  string            `json:"action"`
			Details map[string]string `json:"details"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &events) != nil {
			t.Fatalf("audit events: %d %s", code, body)
		}
		if len(events) != 1 {
			t.Fatalf("%d loop trips recorded for %d identical requests over two nodes, want exactly 1: %s", len(events), n, body)
		}
		if got := events[0].Details["count"]; got != fmt.Sprint(loopThreshold+1) {
			t.Errorf("the trip was recorded at count %s, want %d", got, loopThreshold+1)
		}
	})

	t.Run("concurrent rotation from both nodes has one winner", func(t *testing.T) {
		losers := map[int]int{}
		defer func() { t.Logf("rotation races: the losers' answers %v", losers) }()
		for i := range 10 {
			p := c.newPAT(a, me.ID, fmt.Sprintf("rotate-%d", i))
			start := make(chan struct{})
			codes := make([]int, 2)
			bodies := make([][]byte, 2)
			var wg sync.WaitGroup
			for j, n := range []node{a, bn} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[j], bodies[j] = c.do(http.MethodPost,
						fmt.Sprintf("%s/api/v4/personal_access_tokens/%d/rotate", n.base, p.ID), admin, nil)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			var fresh createdPAT
			for j, code := range codes {
				if code == http.StatusOK {
					won++
					json.Unmarshal(bodies[j], &fresh)
				} else if code < 400 || code >= 500 {
					t.Errorf("round %d: the loser got %d %s, want a 4xx refusal", i, code, bodies[j])
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d rotations succeeded (%v), want exactly one", i, won, codes)
			}
			for _, n := range []node{a, bn} {
				if code := c.auth(n, p.Token); code != http.StatusUnauthorized {
					t.Errorf("round %d: the rotated-away token on %s: %d, want 401", i, n.name, code)
				}
				if code := c.auth(n, fresh.Token); code != http.StatusOK {
					t.Errorf("round %d: the winner's new token on %s: %d, want 200", i, n.name, code)
				}
			}
			losers[codes[0]+codes[1]-http.StatusOK]++
		}
	})
}

// TestServeRedisUnreachable starts a node whose Redis cannot be reached
// (no server on the port) in either fail mode: fail open serves with its
// own limits and stays ready, saying so; fail closed refuses and is not
// ready.
func TestServeRedisUnreachable(t *testing.T) {
	tests := []struct {
		mode      string
		ready     int
		auth      int
		retryHint bool
	}{
		{"open", http.StatusOK, http.StatusOK, false},
		{"closed", http.StatusServiceUnavailable, http.StatusTooManyRequests, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "admin.token")
			base, _, logs := serveWith(t, nil, "--data-dir", filepath.Join(dir, "data"), "--admin-token-file", tokenFile,
				"--redis", "redis://127.0.0.1:1/0", "--redis-fail", tt.mode)
			if base == "" {
				t.Fatalf("serve did not start:\n%s", logs.String())
			}
			resp, err := http.Get(base + "/-/readiness")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.ready {
				t.Errorf("readiness: %d, want %d", resp.StatusCode, tt.ready)
			}
			if got, want := resp.Header.Get("Botgate-Redis"), "degraded; fail "+tt.mode; got != want {
				t.Errorf("Botgate-Redis: %q, want %q", got, want)
			}
			admin, err := datadir.ReadSecretFile(tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/-/auth", nil)
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Original-URI", "/api/v4/user")
			req.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(admin)))
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.auth {
				t.Errorf("forward-auth: %d, want %d", resp.StatusCode, tt.auth)
			}
			if tt.retryHint && resp.Header.Get("Retry-After") == "" {
				t.Errorf("a refusal without Retry-After")
			}
			req, _ = http.NewRequest(http.MethodGet, base+"/metrics", nil)
			req.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(admin)))
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{"botgate_redis_degraded 1",
				`botgate_redis_fallback_decisions_total{component="limiter",mode="` + tt.mode + `"} 1`} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			if n := strings.Count(logs.String(), `msg="Redis is unreachable:`); n != 1 {
				t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}
