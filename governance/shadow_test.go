package governance_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
)

// shadowManifest declares two runaway automations: poller outruns its
// rate limit of 3 a minute with distinct calls, looper repeats one call.
// MODE is their enforcement line.
const shadowManifest = `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: poller
    purpose: Polls issues far too often.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
    rate_limit: 3/min
MODE
  - name: looper
    purpose: Asks for the same issue in a loop.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
    rate_limit: 600/min
MODE
`

func shadowSrc(mode string) string {
	line := ""
	if mode != "" {
		line = "    enforcement: " + mode
	}
	return strings.ReplaceAll(shadowManifest, "MODE\n", line+"\n")
}

// shadowGateway is a real gateway in front of a counting upstream, both on
// loopback, wired as botgate serve wires them: its own authority on the
// store whose revision watcher purges the automation records' cache, so
// that an apply reaches it without waiting for a TTL.
type shadowGateway struct {
	gw       *gateway.Gateway
	srv      *httptest.Server
	metrics  *httptest.Server
	upstream atomic.Int64
}

func newShadowGateway(t *testing.T, e *env, instance string) *shadowGateway {
	t.Helper()
	sg := &shadowGateway{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sg.upstream.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(up.Close)
	// The automation records are cached for an hour of the test's clock:
	// only the purge can bring a change.
	limits := governance.NewLimits(e.store, e.clock, time.Hour, nil)
	auth, err := authority.New(authority.Config{Store: e.store, Pepper: bytes.Repeat([]byte("k"), 32), Clock: e.clock,
		UsageFlushInterval: time.Hour, RevisionPoll: 10 * time.Millisecond, OnPurge: limits.Purge})
	if err != nil {
		t.Fatalf("authority.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = auth.Run(ctx) }()
	noDelay := time.Duration(0)
	cfg := &gateway.FileConfig{
		UsageFlushInterval: time.Hour, Enforcement: instance,
		Loop:   gateway.LoopConfig{Threshold: 4, Window: time.Minute, Cooldown: 5 * time.Minute, RefusalDelay: &noDelay},
		Routes: []gateway.RouteConfig{{Name: "gitlab", Upstream: up.URL, GitLab: true}},
	}
	sg.gw, err = gateway.New(gateway.Options{Authority: auth, Store: e.store, Config: cfg, Clock: e.clock, AutomationLimits: limits})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	sg.srv = httptest.NewServer(sg.gw.Proxy())
	sg.metrics = httptest.NewServer(sg.gw.MetricsHandler())
	t.Cleanup(func() {
		sg.srv.Close()
		sg.metrics.Close()
		sg.gw.Close()
		cancel()
		<-done
		auth.Close()
	})
	return sg
}

// call makes one GET through the gateway and returns the status and the
// shadow and rate-limit headers.
func (sg *shadowGateway) call(t *testing.T, secret, path string) (status int, shadow, remaining string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, sg.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(gateway.HeaderShadow), resp.Header.Get("RateLimit-Remaining")
}

// metric reads botgate_gateway_shadow_refusals_total for the automation
// and reason from /metrics (0 when absent).
func (sg *shadowGateway) metric(t *testing.T, automation, reason string) int {
	t.Helper()
	resp, err := http.Get(sg.metrics.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := fmt.Sprintf(`botgate_gateway_shadow_refusals_total{automation=%q,reason=%q} `, automation, reason)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", sc.Text(), err)
			}
			return int(n)
		}
	}
	return 0
}

// shadowEvents returns the "would have refused" audit events of the
// automation and reason, and the sum of their counts.
func shadowEvents(t *testing.T, e *env, automation, reason string) (events []*botgate.AuditEvent, total int) {
	t.Helper()
	err := e.store.View(t.Context(), func(tx botgate.Tx) error {
		all, err := tx.FindAudit(t.Context(), botgate.AuditFilter{Action: authority.ActionGatewayShadowRefusal})
		for _, ev := range all {
			if ev.Details["automation"] == automation && ev.Details["reason"] == reason {
				events = append(events, ev)
				n, _ := strconv.Atoi(ev.Details["count"])
				total += n
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("FindAudit: %v", err)
	}
	return events, total
}

// secrets applies src and returns the issued tokens' secrets by automation.
func (e *env) secrets(t *testing.T, src string) map[string]string {
	t.Helper()
	res := e.apply(parse(t, src), governance.ApplyOptions{ShowSecrets: true})
	out := map[string]string{}
	for _, tk := range res.Tokens {
		out[tk.Automation] = tk.Secret
	}
	return out
}

// TestShadowModeThenEnforce runs two runaway automations in shadow mode
// through a real gateway: nothing is refused, every would-be refusal is
// marked, counted in /metrics and audited (coalesced, without secrets),
// and lint reports them; one manifest change applied switches them to
// enforce, and the next requests are refused (429, rate limit and loop).
func TestShadowModeThenEnforce(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { testShadowModeThenEnforce(t, backend) })
	}
}

func testShadowModeThenEnforce(t *testing.T, backend string) {
	ctx := t.Context()
	e := newEnvOn(t, backend, false)
	secrets := e.secrets(t, shadowSrc("shadow"))
	if secrets["poller"] == "" || secrets["looper"] == "" {
		t.Fatalf("apply issued %v; want tokens for poller and looper", secrets)
	}
	sg := newShadowGateway(t, e, "")

	// Shadow: the poller's 4th to 6th distinct calls exceed its 3 a minute,
	// the looper's 5th to 8th identical calls exceed the breaker's 4.
	for i := 1; i <= 6; i++ {
		status, shadow, remaining := sg.call(t, secrets["poller"], fmt.Sprintf("/api/v4/projects/infra%%2Fdeploy/issues/%d", i))
		wantShadow := ""
		if i > 3 {
			wantShadow = gateway.ShadowRateLimit
		}
		if status != http.StatusOK || shadow != wantShadow {
			t.Fatalf("poller call %d in shadow mode: %d, %s %q; want 200, %q", i, status, gateway.HeaderShadow, shadow, wantShadow)
		}
		if i > 3 && remaining != "0" {
			t.Errorf("poller call %d: RateLimit-Remaining %q, want 0: the headers say what the limit decided", i, remaining)
		}
	}
	for i := 1; i <= 8; i++ {
		status, shadow, _ := sg.call(t, secrets["looper"], "/api/v4/projects/infra%2Fdeploy/issues/1")
		wantShadow := ""
		if i > 4 {
			wantShadow = gateway.ShadowLoop
		}
		if status != http.StatusOK || shadow != wantShadow {
			t.Fatalf("looper call %d in shadow mode: %d, %s %q; want 200, %q", i, status, gateway.HeaderShadow, shadow, wantShadow)
		}
	}
	if n := sg.upstream.Load(); n != 14 {
		t.Fatalf("the upstream got %d calls, want all 14: shadow mode refuses nothing", n)
	}
	if got := sg.metric(t, "poller", gateway.ShadowRateLimit); got != 3 {
		t.Errorf("/metrics: poller rate_limit shadow refusals = %d, want 3", got)
	}
	if got := sg.metric(t, "looper", gateway.ShadowLoop); got != 4 {
		t.Errorf("/metrics: looper loop shadow refusals = %d, want 4", got)
	}

	// Audited at once, but coalesced: one event per automation and reason
	// in the minute, the rest counted and written when the minute is over.
	evs, total := shadowEvents(t, e, "poller", gateway.ShadowRateLimit)
	if len(evs) != 1 || total != 1 {
		t.Fatalf("poller: %d audit events counting %d after the burst; want the first refusal audited at once, alone", len(evs), total)
	}
	e.clock.Advance(30 * time.Second)
	if err := sg.gw.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, _ := shadowEvents(t, e, "poller", gateway.ShadowRateLimit); len(evs) != 1 {
		t.Fatalf("poller: %d audit events within the minute; want 1", len(evs))
	}
	e.clock.Advance(31 * time.Second)
	if err := sg.gw.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		automation, reason string
		want               int
	}{{"poller", gateway.ShadowRateLimit, 3}, {"looper", gateway.ShadowLoop, 4}} {
		evs, total := shadowEvents(t, e, c.automation, c.reason)
		if len(evs) != 2 || total != c.want {
			t.Errorf("%s: %d audit events counting %d after the minute; want 2 counting %d", c.automation, len(evs), total, c.want)
		}
		for _, ev := range evs {
			if ev.Details["mode_source"] != "automation" || ev.TargetType != "token" {
				t.Errorf("%s: event %+v; want the token as target and mode_source automation", c.automation, ev.Details)
			}
			if s := fmt.Sprint(ev); strings.Contains(s, secrets[c.automation]) || strings.Contains(s, secrets[c.automation][:20]) {
				t.Errorf("%s: the audit event holds the token's secret", c.automation)
			}
		}
	}

	// Lint says what to fix before enforcing.
	rep, err := e.gov.Lint(ctx, governance.SnapshotOptions{}, lint.Config{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range rep.Findings {
		if f.RuleID == "BG015" {
			found[f.Subject.Name] = f.Message
		}
	}
	if m := found["poller"]; !strings.Contains(m, "refused 3 times in the last 24 hours (3 by its rate limit)") || !strings.Contains(m, "raise `rate_limit:`") {
		t.Errorf("BG015 on poller: %q", m)
	}
	if m := found["looper"]; !strings.Contains(m, "refused 4 times in the last 24 hours (4 by the loop breaker)") || !strings.Contains(m, "fix the runaway loop") {
		t.Errorf("BG015 on looper: %q", m)
	}

	// One manifest change: enforce (the default). The plan shows it.
	enforce := parse(t, shadowSrc(""))
	text := e.plan(enforce).Text()
	if strings.Count(text, "enforcement: shadow -> enforce") != 2 {
		t.Fatalf("plan to enforce:\n%s\nwant enforcement: shadow -> enforce on both automations", text)
	}
	e.apply(enforce, governance.ApplyOptions{})
	if ch := e.plan(enforce); !ch.Empty() {
		t.Fatalf("plan after apply: %q", ops(ch))
	}
	// The gateway's revision watcher purges within its 10ms poll. The
	// minute that passed gave the poller 3 calls back; once they are
	// spent, its calls are refused. The looper's call is still the
	// blocked shape.
	deadline := time.Now().Add(5 * time.Second)
	for i, allowed := 0, 0; ; i++ {
		status, shadow, _ := sg.call(t, secrets["poller"], fmt.Sprintf("/api/v4/projects/infra%%2Fdeploy/issues/%d", 100+i))
		if status == http.StatusTooManyRequests && shadow == "" {
			if allowed != 3 {
				t.Errorf("poller after apply enforce: refused after %d allowed calls, want 3 (its refilled budget)", allowed)
			}
			break
		}
		if status == http.StatusOK && shadow == "" {
			allowed++
		}
		if status != http.StatusOK || allowed > 3 || time.Now().After(deadline) {
			t.Fatalf("poller after apply enforce: %d, shadow %q after %d allowed; want 429 once the change reached the gateway", status, shadow, allowed)
		}
		if shadow != "" {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if status, shadow, _ := sg.call(t, secrets["looper"], "/api/v4/projects/infra%2Fdeploy/issues/1"); status != http.StatusTooManyRequests || shadow != "" {
		t.Fatalf("looper after apply enforce: %d, shadow %q; want the breaker's 429", status, shadow)
	}
	// Another shape of the looper is not a loop: it goes through.
	if status, _, _ := sg.call(t, secrets["looper"], "/api/v4/projects/infra%2Fdeploy/issues/2"); status != http.StatusOK {
		t.Fatalf("looper's other call after apply enforce: %d, want 200", status)
	}
}

// TestInstanceShadowOverridesEnforce runs an automation declared enforce
// (the default) through a gateway whose instance-wide mode is shadow: it is
// let through and audited as shadowed by the instance; the same traffic
// through an enforcing gateway is refused.
func TestInstanceShadowOverridesEnforce(t *testing.T) {
	e := newEnv(t, false)
	secrets := e.secrets(t, shadowSrc(""))
	for _, tt := range []struct {
		name, instance string
		wantStatus     int
		wantShadow     string
	}{
		{"InstanceShadow", "shadow", http.StatusOK, gateway.ShadowRateLimit},
		{"InstanceEnforce", "", http.StatusTooManyRequests, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sg := newShadowGateway(t, e, tt.instance)
			// A fresh gateway has a fresh limiter: 3 calls spend the budget.
			for i := 1; i <= 3; i++ {
				if status, _, _ := sg.call(t, secrets["poller"], fmt.Sprintf("/api/v4/projects/infra%%2Fdeploy/issues/%d", i)); status != http.StatusOK {
					t.Fatalf("call %d: %d, want 200", i, status)
				}
			}
			status, shadow, _ := sg.call(t, secrets["poller"], "/api/v4/projects/infra%2Fdeploy/issues/4")
			if status != tt.wantStatus || shadow != tt.wantShadow {
				t.Fatalf("4th call: %d, shadow %q; want %d, %q", status, shadow, tt.wantStatus, tt.wantShadow)
			}
			want := 0
			if tt.wantShadow != "" {
				want = 1
			}
			if got := sg.metric(t, "poller", gateway.ShadowRateLimit); got != want {
				t.Fatalf("/metrics: %d shadow refusals, want %d", got, want)
			}
		})
	}
	evs, _ := shadowEvents(t, e, "poller", gateway.ShadowRateLimit)
	if len(evs) != 1 || evs[0].Details["mode_source"] != "instance" {
		t.Fatalf("audit: %d events (%v); want one, shadowed by the instance", len(evs), evs)
	}
}

// TestDocsShadowMode checks the shadow mode section of docs/governance.md:
// its manifest applies, plan shows the mode as the page does, and the
// switch to enforce plans exactly as shown.
func TestDocsShadowMode(t *testing.T) {
	b, err := os.ReadFile("../docs/governance.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Shadow mode")
	if !ok {
		t.Fatal("docs/governance.md has no shadow mode section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	blocks := regexp.MustCompile("(?s)```(yaml|console)\n(.*?)```").FindAllStringSubmatch(sec, -1)
	if len(blocks) < 6 || blocks[0][1] != "yaml" {
		t.Fatalf("the section has %d blocks; want the manifest first, then the console sessions", len(blocks))
	}
	src := blocks[0][2]
	e := newEnv(t, false)
	first := e.plan(parse(t, src)).Text()
	if want := "  + automation pipeline-poller (owner infra)\n      # declared automation has no record yet\n" +
		"      enforcement: shadow (rate limit and loop breaker counted and audited, not enforced)\n"; !strings.Contains(first, want) ||
		!strings.Contains(blocks[1][2], want) {
		t.Errorf("plan of the documented manifest:\n%s\nthe page and the plan must both show:\n%s", first, want)
	}
	e.apply(parse(t, src), governance.ApplyOptions{ShowSecrets: true})
	enforce := strings.Replace(src, "    enforcement: shadow\n", "", 1)
	if enforce == src {
		t.Fatal("the documented manifest does not say enforcement: shadow")
	}
	text := e.plan(parse(t, enforce)).Text()
	var switched string
	for _, bl := range blocks {
		if s, ok := strings.CutPrefix(bl[2], "$ botgate plan -f shadow.yaml\nbotgate will make these changes:"); ok {
			switched = "botgate will make these changes:" + strings.SplitN(s, "\n$ ", 2)[0] + "\n"
		}
	}
	if switched == "" || switched != text {
		t.Errorf("the switch to enforce plans:\n%s\nthe page shows:\n%s", text, switched)
	}
}
