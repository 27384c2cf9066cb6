package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
)

func TestRateLimit(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
limits:
  default: {rate: 100, period: 1m}
  automations: {pipeline-poller: {rate: 5, period: 1m}}
  tokens: {{{ID:proj-api}}: {rate: 3, period: 1m}}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	uri := func(i int) string { return fmt.Sprintf("/api/v4/projects/%d/issues?page=%d", f.proj.ID, i) }
	cases := []struct {
		name, token string
		allowed     int
		limit       string
	}{
		{"TokenOverride", "proj-api", 3, "3"},
		{"AutomationOverride", "proj-read", 5, "5"},
		{"Default", "group-api", 100, "100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < tc.allowed; i++ {
				resp, body := do(t, f.nginxReq("GET", uri(i), tc.token))
				if resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d %s", i+1, resp.StatusCode, body)
				}
				if got, want := resp.Header.Get("RateLimit-Remaining"), strconv.Itoa(tc.allowed-i-1); got != want {
					t.Errorf("request %d: RateLimit-Remaining %s, want %s", i+1, got, want)
				}
				if resp.Header.Get("RateLimit-Limit") != tc.limit {
					t.Errorf("RateLimit-Limit %s, want %s", resp.Header.Get("RateLimit-Limit"), tc.limit)
				}
			}
			resp, body := do(t, f.proxyReq("GET", uri(999), tc.token, ""))
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request over the limit: status %d %s, want 429", resp.StatusCode, body)
			}
			m := jsonBody(t, body)
			if msg, _ := m["message"].(map[string]any); msg == nil || !strings.Contains(fmt.Sprint(msg["error"]), "rate limit of "+tc.limit) {
				t.Errorf("429 body %v, want GitLab's shape naming the limit", m)
			}
			ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || ra < 1 {
				t.Errorf("Retry-After %q, want whole seconds", resp.Header.Get("Retry-After"))
			}
			if resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Reset") == "" || resp.Header.Get("RateLimit-ResetTime") == "" {
				t.Errorf("429 rate-limit headers: %v", resp.Header)
			}
		})
	}
	t.Run("RotationKeepsBudget", func(t *testing.T) {
		// proj-read spent its 5 a minute above; its successor shares the
		// family's budget.
		c, err := f.auth.RotateToken(t.Context(), authority.SystemActor(), f.ids["proj-read"], nil)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets["proj-read-2"] = c.Secret
		resp, body := do(t, f.nginxReq("GET", uri(1), "proj-read-2"))
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("rotated token: %d %s, want 429 (the family's budget is spent)", resp.StatusCode, body)
		}
	})
	t.Run("OthersUnaffected", func(t *testing.T) {
		if resp, body := do(t, f.nginxReq("GET", uri(1), "loop-b")); resp.StatusCode != 200 {
			t.Errorf("another token: status %d %s", resp.StatusCode, body)
		}
	})
	t.Run("RecoversAfterRetryAfter", func(t *testing.T) {
		resp, _ := do(t, f.nginxReq("GET", uri(1), "proj-api"))
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != 429 || ra < 1 {
			t.Fatalf("status %d Retry-After %d, want still limited", resp.StatusCode, ra)
		}
		f.clock.Advance(time.Duration(ra) * time.Second)
		if resp, body := do(t, f.nginxReq("GET", uri(1), "proj-api")); resp.StatusCode != 200 {
			t.Errorf("after Retry-After: status %d %s", resp.StatusCode, body)
		}
	})
	if !strings.Contains(f.metrics(), "botgate_gateway_limiter_denials_total 5") {
		t.Errorf("limiter denials not counted:\n%s", grepLines(f.metrics(), "limiter"))
	}
}

func TestLimitConfigRejectsUnlimited(t *testing.T) {
	cases := []struct{ name, yaml string }{
		{"ZeroDefault", "limits: {default: {rate: 0}}"},
		{"NegativeAutomation", "limits: {automations: {x: {rate: -1}}}"},
		{"ZeroToken", "limits: {tokens: {7: {rate: 0, period: 1m}}}"},
		{"UnknownField", "limits: {off: true}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := gateway.ParseConfig([]byte(tc.yaml))
			if err == nil {
				_, err = gateway.New(gateway.Options{Authority: &authority.Service{}, Store: nilStore{}, Config: cfg})
			}
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("got %v, want KindInvalid", err)
			}
		})
	}
}

// nilStore satisfies botgate.Store for configuration tests that never
// reach it.
type nilStore struct{ botgate.Store }

// TestLoopWebhookFailureHidesURL checks that a team webhook that cannot
// be reached is counted and logged with the cause but without its URL,
// which for chat webhooks is a credential.
func TestLoopWebhookFailureHidesURL(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	hookURL := gone.URL + "/services/T0/B0/hook-secret"
	gone.Close() // nothing listens there any more
	f := newFixture(t, fixtureOpts{config: fmt.Sprintf(`
loop: {threshold: 2, window: 1m, cooldown: 2m, refusal_delay: 0s}
webhooks: {platform: "%s"}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`, hookURL)})
	notes := fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID)
	for i := 0; i < 3; i++ {
		do(t, f.proxyReq("POST", notes, "loop-a", `{"body":"same"}`))
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(f.logs.String(), "webhook not delivered") {
		if time.Now().After(deadline) {
			t.Fatalf("the failed webhook was not logged:\n%s", f.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs := f.logs.String()
	if strings.Contains(logs, "hook-secret") {
		t.Fatalf("the log shows the webhook URL:\n%s", logs)
	}
	if !strings.Contains(logs, "connection refused") {
		t.Errorf("the log does not say why the webhook failed:\n%s", grepLines(logs, "webhook"))
	}
	if m := f.metrics(); !strings.Contains(m, "botgate_gateway_webhook_errors_total 1") {
		t.Errorf("metrics lack the webhook error:\n%s", grepLines(m, "webhook"))
	}
}

func TestLoopBreaker(t *testing.T) {
	hooks := make(chan gateway.LoopEvent, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev gateway.LoopEvent
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		hooks <- ev
	}))
	defer hook.Close()
	for _, suspend := range []bool{false, true} {
		t.Run("suspend="+strconv.FormatBool(suspend), func(t *testing.T) {
			f := newFixture(t, fixtureOpts{config: fmt.Sprintf(`
loop: {threshold: 5, window: 1m, cooldown: 2m, suspend: %t, refusal_delay: 0s}
webhooks: {platform: "%s"}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`, suspend, hook.URL)})
			notes := fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID)
			send := func(token, body string) (*http.Response, string) {
				return do(t, f.proxyReq("POST", notes, token, body))
			}
			for i := 0; i < 5; i++ {
				if resp, body := send("loop-a", `{"body":"same"}`); resp.StatusCode != 200 {
					t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
				}
			}
			resp, body := send("loop-a", `{"body":"same"}`)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("6th identical request: %d %s, want 429", resp.StatusCode, body)
			}
			msg := fmt.Sprint(jsonBody(t, body)["message"])
			for _, want := range []string{"Loop detected", "POST /api/v4/projects/:id/notes", "6 times within 1 minute", "more than 5"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
			if !suspend && (resp.Header.Get("Retry-After") != "120" || !strings.Contains(msg, "refused until")) {
				t.Errorf("Retry-After %q, message %q: want the 2-minute cool-down", resp.Header.Get("Retry-After"), msg)
			}
			// More of the same: refused, but no second audit event.
			for i := 0; i < 3; i++ {
				if resp, _ := send("loop-a", `{"body":"same"}`); resp.StatusCode == 200 {
					t.Fatalf("a blocked loop request passed")
				}
			}
			// Another token sending the very same request is unaffected.
			if resp, body := send("loop-b", `{"body":"same"}`); resp.StatusCode != 200 {
				t.Errorf("another token: %d %s", resp.StatusCode, body)
			}
			events := f.audit(authority.ActionGatewayLoopTripped)
			if len(events) != 1 {
				t.Fatalf("%d loop audit events, want exactly 1 per trip", len(events))
			}
			ev := events[0]
			if ev.TokenID != f.ids["loop-a"] || ev.Details["count"] != "6" || ev.Details["route"] != "/api/v4/projects/:id/notes" ||
				ev.Details["method"] != "POST" || ev.Details["shape"] == "" {
				t.Errorf("audit event %+v", ev)
			}
			for k, v := range ev.Details {
				if strings.Contains(v, f.secrets["loop-a"]) || strings.Contains(v, "same") {
					t.Errorf("audit detail %s=%q holds request content or a secret", k, v)
				}
			}
			select {
			case hev := <-hooks:
				if hev.TokenID != f.ids["loop-a"] || hev.Team != "platform" || hev.Count != 6 || hev.Suspended != suspend ||
					hev.Route != "/api/v4/projects/:id/notes" || hev.Automation != "looper" {
					t.Errorf("webhook event %+v", hev)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no webhook received")
			}
			if suspend {
				if !f.token("loop-a").Revoked {
					t.Errorf("the looping token was not suspended")
				}
				if n := len(f.audit(botgate.ActionTokenRevoke)); n != 1 {
					t.Errorf("%d revocation events, want 1", n)
				}
				if resp, body := send("loop-a", `{"body":"different"}`); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("suspended token: %d %s, want 401", resp.StatusCode, body)
				}
				if !strings.Contains(msg, "suspended") {
					t.Errorf("message %q does not say the token was suspended", msg)
				}
			} else {
				if f.token("loop-a").Revoked {
					t.Errorf("token revoked without suspend configured")
				}
				// The looping token's other requests carry on.
				if resp, body := send("loop-a", `{"body":"different"}`); resp.StatusCode != 200 {
					t.Errorf("another request of the looping token: %d %s", resp.StatusCode, body)
				}
				// After the cool-down the shape passes again.
				f.clock.Advance(2*time.Minute + time.Second)
				if resp, body := send("loop-a", `{"body":"same"}`); resp.StatusCode != 200 {
					t.Errorf("after the cool-down: %d %s", resp.StatusCode, body)
				}
			}
			// A suspended token is refused before the breaker looks again.
			blocked, loops := 3, 4
			if suspend {
				blocked, loops = 0, 1
			}
			m := f.metrics()
			for _, want := range []string{"botgate_gateway_loop_trips_total 1", fmt.Sprintf("botgate_gateway_loop_blocked_total %d", blocked),
				fmt.Sprintf(`botgate_gateway_decisions_total{mode="proxy",result="loop"} %d`, loops)} {
				if !strings.Contains(m, want) {
					t.Errorf("metrics lack %q:\n%s", want, grepLines(m, "loop"))
				}
			}
		})
	}
}

func TestLoopShapeIncludesBodyAndQuery(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
loop: {threshold: 3, body_bytes: 16, refusal_delay: 0s}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	base := fmt.Sprintf("/api/v4/projects/%d/issues", f.proj.ID)
	cases := []struct {
		name      string
		uri, body func(i int) string
		tripsAt   int // 0: never within 6
	}{
		{"SameRequest", func(int) string { return base }, func(int) string { return "x" }, 4},
		{"DistinctQuery", func(i int) string { return base + "?page=" + strconv.Itoa(i) }, func(int) string { return "x" }, 0},
		{"DistinctBody", func(int) string { return base + "?b" }, func(i int) string { return "body " + strconv.Itoa(i) }, 0},
		{"LongBodiesDifferingInLength", func(int) string { return base + "?l" },
			func(i int) string { return strings.Repeat("a", 100+i) }, 0},
		{"LongBodiesSameLength", func(int) string { return base + "?s" },
			func(i int) string { return strings.Repeat("a", 50) + strconv.Itoa(i%10) }, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 1; i <= 6; i++ {
				resp, body := do(t, f.proxyReq("PUT", tc.uri(i), "loop-b", tc.body(i)))
				want := 200
				if tc.tripsAt != 0 && i >= tc.tripsAt {
					want = 429
				}
				if resp.StatusCode != want {
					t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, body, want)
				}
			}
		})
	}
	// Bodies reach the upstream whole, though only a prefix was hashed.
	whole := false
	for _, r := range f.up.requests() {
		whole = whole || r.Body == strings.Repeat("a", 106)
	}
	if !whole {
		t.Errorf("the upstream never got the 106-byte body whole")
	}
}

func TestLoopRefusalDelay(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
loop: {threshold: 2, refusal_delay: 300ms}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	uri := fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID)
	for i := 1; i <= 2; i++ {
		if resp, body := do(t, f.proxyReq("POST", uri, "loop-b", "x")); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	for _, name := range []string{"Trip", "Blocked"} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			resp, body := do(t, f.proxyReq("POST", uri, "loop-b", "x"))
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("%d %s, want 429", resp.StatusCode, body)
			}
			// A lower bound only: the refusal cannot come before the delay.
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Errorf("the refusal came after %v, want at least the 300ms refusal delay", el)
			}
		})
	}
	if _, err := gateway.ParseConfig([]byte("loop: {refusal_delay: -1s}")); err != nil {
		t.Fatal(err)
	}
	cfg, _ := gateway.ParseConfig([]byte("loop: {refusal_delay: -1s}"))
	if _, err := gateway.New(gateway.Options{Authority: f.auth, Store: f.store, Config: cfg}); !botgate.IsKind(err, botgate.KindInvalid) {
		t.Errorf("a negative refusal delay: %v, want KindInvalid", err)
	}
}

// TestRateLimitRefusalDelay checks that a request refused by the rate
// limit is held like a loop refusal: for the refusal delay when the token
// has no budget for longer, only until it has budget when that is sooner.
func TestRateLimitRefusalDelay(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
limits: {default: {rate: 1, period: 1m}}
loop: {refusal_delay: 300ms}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	uri := func(i int) string { return fmt.Sprintf("/api/v4/projects/%d/issues?page=%d", f.proj.ID, i) }
	if resp, body := do(t, f.proxyReq("GET", uri(0), "proj-api", "")); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	for i, req := range []*http.Request{f.proxyReq("GET", uri(1), "proj-api", ""), f.nginxReq("GET", uri(2), "proj-api")} {
		start := time.Now()
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("request %d: %d %s, want 429", i+1, resp.StatusCode, body)
		}
		// A lower bound only: the refusal cannot come before the delay.
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("request %d: the refusal came after %v, want at least the 300ms refusal delay", i+1, el)
		}
	}
}

func TestForwardAuthLoopShape(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
loop: {threshold: 3, refusal_delay: 0s}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	notes := fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID)
	cases := []struct {
		name    string
		length  func(i int) string
		tripsAt int
	}{
		{"SameLength", func(int) string { return "17" }, 4},
		{"DifferentLengths", func(i int) string { return strconv.Itoa(100 + i) }, 0},
	}
	for _, body := range []struct {
		name    string
		body    func(i int) string
		tripsAt int
	}{
		{"EnvoySameBody", func(int) string { return `{"body":"same"}` }, 4},
		{"EnvoyDifferentBodies", func(i int) string { return fmt.Sprintf(`{"body":"note %d"}`, i) }, 0},
	} {
		t.Run(body.name, func(t *testing.T) {
			for i := 1; i <= 5; i++ {
				req, _ := http.NewRequest("POST", f.authSrv.URL+"/-/auth/envoy"+notes+"?case="+body.name, strings.NewReader(body.body(i)))
				req.Header.Set("PRIVATE-TOKEN", f.secrets["loop-b"])
				resp, b := do(t, req)
				want := 200
				if body.tripsAt != 0 && i >= body.tripsAt {
					want = 429
				}
				if resp.StatusCode != want {
					t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, b, want)
				}
			}
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 1; i <= 5; i++ {
				req := f.nginxReq("POST", notes+"?case="+tc.name, "loop-b")
				req.Header.Set("X-Original-Content-Length", tc.length(i))
				resp, body := do(t, req)
				want := 200
				if tc.tripsAt != 0 && i >= tc.tripsAt {
					want = 429
				}
				if resp.StatusCode != want {
					t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, body, want)
				}
			}
		})
	}
}

func TestUsageRecords(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	calls := []struct{ method, uri, token, ua string }{
		{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests?state=opened", f.proj.ID), "proj-api", "danger/1"},
		{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests", f.proj.ID), "proj-api", "danger/1"},
		{"GET", "/api/v4/projects/platform%2Fapi/merge_requests/12/notes", "proj-api", "danger/1"},
		{"POST", fmt.Sprintf("/api/v4/projects/%d/merge_requests/12/notes", f.proj.ID), "proj-api", "other-client/2"},
		{"GET", fmt.Sprintf("/api/v4/projects/%d/repository/commits/0123456789abcdef0123456789abcdef01234567", f.proj.ID), "proj-read", "poller"},
		{"POST", fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID), "proj-read", "poller"}, // refused: not recorded
	}
	for _, c := range calls {
		req := f.nginxReq(c.method, c.uri, c.token)
		req.Header.Set("User-Agent", c.ua)
		do(t, req)
	}
	if err := f.gw.FlushUsage(t.Context()); err != nil {
		t.Fatalf("FlushUsage: %v", err)
	}
	got := map[string]string{}
	for _, name := range []string{"proj-api", "proj-read"} {
		var us []botgate.RouteUsage
		err := f.store.View(t.Context(), func(tx botgate.Tx) (err error) {
			us, err = tx.FindRouteUsage(t.Context(), f.ids[name])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			got[name+" "+u.Method+" "+u.Route] = fmt.Sprintf("%s x%d", u.Scope, u.Count)
		}
	}
	want := map[string]string{
		"proj-api GET /api/v4/projects/:id/merge_requests":            "read_api x2",
		"proj-api GET /api/v4/projects/:id/merge_requests/:id/notes":  "read_api x1",
		"proj-api POST /api/v4/projects/:id/merge_requests/:id/notes": "api x1",
		"proj-read GET /api/v4/projects/:id/repository/commits/:sha":  "read_api x1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("route usage\n got %v\nwant %v", got, want)
	}
	tok := f.token("proj-api")
	if tok.LastUsedAt == nil || strings.Join(tok.UserAgents, ",") != "other-client/2,danger/1" || len(tok.LastUsedIPs) != 1 {
		t.Errorf("token usage: last used %v, agents %v, IPs %v", tok.LastUsedAt, tok.UserAgents, tok.LastUsedIPs)
	}
}

func TestMetricsExposed(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	do(t, f.nginxReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), "proj-api"))
	do(t, f.nginxReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), ""))
	do(t, f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.other.ID), "proj-api", ""))
	m := f.metrics()
	for _, want := range []string{
		`botgate_gateway_decisions_total{mode="auth",result="allowed"} 1`,
		`botgate_gateway_decisions_total{mode="auth",result="unauthenticated"} 1`,
		`botgate_gateway_decisions_total{mode="proxy",result="forbidden"} 1`,
		`botgate_gateway_decision_duration_seconds_count{mode="auth"} 2`,
		`botgate_gateway_limiter_denials_total 0`,
		`botgate_gateway_loop_trips_total 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, f.secrets["proj-api"]) || strings.Contains(m, "/api/v4") || strings.Contains(m, "127.0.0.1") {
		t.Errorf("metrics carry a token, a path or an address")
	}
}

// TestLoopIsolationLoad is a load test: a looping token and a normal one
// hammer the proxy concurrently; the loop is cut while every request of
// the normal token passes.
func TestLoopIsolationLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	f := newFixture(t, fixtureOpts{config: `
loop: {threshold: 50, window: 1m, refusal_delay: 0s}
limits: {default: {rate: 100000, period: 1m}}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	const n = 400
	var wg sync.WaitGroup
	var loopOK, loopRefused, normalOK, normalOther int
	var mu sync.Mutex
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	run := func(token string, uri func(i int) string, tally func(status int)) {
		defer wg.Done()
		for i := 0; i < n; i++ {
			req := f.proxyReq("POST", uri(i), token, `{"body":"retry"}`)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			tally(resp.StatusCode)
			mu.Unlock()
		}
	}
	wg.Add(2)
	go run("loop-a", func(int) string { return fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID) }, func(s int) {
		if s == 200 {
			loopOK++
		} else if s == 429 {
			loopRefused++
		}
	})
	go run("loop-b", func(i int) string { return fmt.Sprintf("/api/v4/projects/%d/notes?n=%d", f.proj.ID, i) }, func(s int) {
		if s == 200 {
			normalOK++
		} else {
			normalOther++
		}
	})
	wg.Wait()
	if loopOK != 50 || loopRefused != n-50 {
		t.Errorf("looping token: %d passed and %d refused, want 50 and %d", loopOK, loopRefused, n-50)
	}
	if normalOK != n || normalOther != 0 {
		t.Errorf("normal token: %d passed, %d not, want all %d passed", normalOK, normalOther, n)
	}
	if evs := f.audit(authority.ActionGatewayLoopTripped); len(evs) != 1 {
		t.Errorf("%d trip events, want 1", len(evs))
	}
	t.Logf("looping token: %d passed, %d refused; normal token: %d of %d passed", loopOK, loopRefused, normalOK, n)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTokenLimitFollowsRotation: a limit set for a token in the
// configuration applies to its successors, whichever token of the chain the
// configuration names, as the limiter's budget does.
func TestTokenLimitFollowsRotation(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
limits:
  default: {rate: 100, period: 1m}
  tokens: {{{ID:proj-api}}: {rate: 3, period: 1m}}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	uri := fmt.Sprintf("/api/v4/projects/%d/issues", f.proj.ID)
	rotate := func(name, next string) int64 {
		t.Helper()
		c, err := f.auth.RotateToken(t.Context(), authority.SystemActor(), f.ids[name], nil)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets[next], f.ids[next] = c.Secret, c.Token.ID
		return c.Token.ID
	}
	limitOf := func(t *testing.T, req *http.Request) string {
		t.Helper()
		resp, body := do(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
		return resp.Header.Get("RateLimit-Limit")
	}
	t.Run("Successor", func(t *testing.T) {
		rotate("proj-api", "proj-api-2")
		if got := limitOf(t, f.nginxReq("GET", uri, "proj-api-2")); got != "3" {
			t.Errorf("rotated token: RateLimit-Limit %s, want the token's 3 (not the default 100)", got)
		}
	})
	t.Run("ConfiguredMidChain", func(t *testing.T) {
		// A gateway configured with the id of the second token of a chain
		// limits the third too.
		second := rotate("proj-read", "proj-read-2")
		rotate("proj-read-2", "proj-read-3")
		cfg, err := gateway.ParseConfig(fmt.Appendf(nil, "limits: {tokens: {%d: {rate: 4, period: 1m}}}\n", second))
		if err != nil {
			t.Fatal(err)
		}
		gw, err := gateway.New(gateway.Options{Authority: f.auth, Store: f.store, Config: cfg, Clock: f.clock})
		if err != nil {
			t.Fatal(err)
		}
		defer gw.Close()
		srv := httptest.NewServer(gw.ForwardAuth())
		defer srv.Close()
		req := f.nginxReq("GET", uri, "proj-read-3")
		req.URL.Host = strings.TrimPrefix(srv.URL, "http://")
		if got := limitOf(t, req); got != "4" {
			t.Errorf("third token of a chain whose second is configured: RateLimit-Limit %s, want 4", got)
		}
	})
}
