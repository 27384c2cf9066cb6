package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
)

// TestInstanceShadowMode runs a gateway whose configuration says
// enforcement: shadow: a token over its rate limit and a looping token
// (with suspension configured) are let through forward-auth and the proxy,
// marked X-Botgate-Shadow with the rate-limit headers still sent, counted
// by automation and reason, audited once per minute with the count, and
// never suspended; the refusals a shadow cannot lift (scopes) still stand.
func TestInstanceShadowMode(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
enforcement: shadow
limits:
  tokens: {{{ID:proj-api}}: {rate: 2, period: 1m}}
loop: {threshold: 3, window: 1m, cooldown: 2m, suspend: true, refusal_delay: 0s}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	uri := func(i int) string { return fmt.Sprintf("/api/v4/projects/%d/issues?page=%d", f.proj.ID, i) }
	for i := 1; i <= 4; i++ {
		req := f.nginxReq("GET", uri(i), "proj-api")
		if i%2 == 0 {
			req = f.proxyReq("GET", uri(i), "proj-api", "")
		}
		resp, body := do(t, req)
		want := ""
		if i > 2 {
			want = gateway.ShadowRateLimit
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get(gateway.HeaderShadow) != want {
			t.Fatalf("request %d: %d %s, %s %q; want 200 and %q", i, resp.StatusCode, body,
				gateway.HeaderShadow, resp.Header.Get(gateway.HeaderShadow), want)
		}
		if resp.Header.Get("RateLimit-Limit") != "2" || resp.Header.Get("Retry-After") != "" {
			t.Errorf("request %d: RateLimit-Limit %q, Retry-After %q; want the limit and no Retry-After (nothing was refused)",
				i, resp.Header.Get("RateLimit-Limit"), resp.Header.Get("Retry-After"))
		}
	}
	notes := fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID)
	for i := 1; i <= 6; i++ {
		resp, body := do(t, f.proxyReq("POST", notes, "loop-a", `{"body":"same"}`))
		want := ""
		if i > 3 {
			want = gateway.ShadowLoop
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get(gateway.HeaderShadow) != want {
			t.Fatalf("loop request %d: %d %s, shadow %q; want 200 and %q", i, resp.StatusCode, body, resp.Header.Get(gateway.HeaderShadow), want)
		}
	}
	if tk := f.token("loop-a"); tk.Revoked {
		t.Fatal("shadow mode suspended the looping token")
	}
	if evs := f.audit(authority.ActionGatewayLoopTripped); len(evs) != 0 {
		t.Errorf("%d loop trips audited in shadow mode, want none (the shadow event says it)", len(evs))
	}
	// A missing scope is no limit: shadow mode does not lift it.
	if resp, _ := do(t, f.proxyReq("POST", notes, "proj-read", `{"body":"x"}`)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("write with read_api in shadow mode: %d, want 403", resp.StatusCode)
	}

	m := f.metrics()
	for _, want := range []string{
		`botgate_gateway_shadow_refusals_total{automation="triage",reason="rate_limit"} 2`,
		`botgate_gateway_shadow_refusals_total{automation="looper",reason="loop"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "shadow_refusals"))
		}
	}
	evs := f.audit(authority.ActionGatewayShadowRefusal)
	if len(evs) != 2 {
		t.Fatalf("%d shadow audit events after the bursts, want 2 (the first of each automation and reason)", len(evs))
	}
	f.clock.Advance(time.Minute)
	if err := f.gw.FlushUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	counts := map[string]string{}
	for _, ev := range f.audit(authority.ActionGatewayShadowRefusal) {
		counts[ev.Details["automation"]+"/"+ev.Details["reason"]] += ev.Details["count"] + " "
		if ev.Details["mode_source"] != "instance" {
			t.Errorf("event details %v: want mode_source instance", ev.Details)
		}
		for _, s := range []string{f.secrets["proj-api"], f.secrets["loop-a"]} {
			if strings.Contains(fmt.Sprint(ev), s) {
				t.Errorf("a shadow audit event holds a token secret")
			}
		}
	}
	if counts["triage/rate_limit"] != "1 1 " || counts["looper/loop"] != "1 2 " {
		t.Errorf("audited counts %v; want the first at once and the rest together after the minute", counts)
	}
}
