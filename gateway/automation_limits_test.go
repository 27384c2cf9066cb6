package gateway_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
)

// TestAutomationLimitsFromRecords checks where a token's limit comes from:
// an override for the token in the configuration file, then one for its
// automation there, then the automation's own record (written by apply),
// then the default.
func TestAutomationLimitsFromRecords(t *testing.T) {
	ctx := t.Context()
	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "botgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auth, err := authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte("p"), 32), Clock: clock, UsageFlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	gov, err := governance.New(governance.Config{Authority: auth, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	auto := func(name, rate string) string {
		s := "  - {name: " + name + ", purpose: Limits test., owner: infra, projects: [infra/deploy], scopes: [read_api], access_level: reporter"
		if rate != "" {
			s += ", rate_limit: " + rate
		}
		return s + "}\n"
	}
	m, err := manifest.ParseNamed("limits.yaml", strings.NewReader("version: 1\nteams: [{path: infra}]\nprojects: [{path: deploy, group: infra}]\nautomations:\n"+
		auto("recorded", "120/min")+auto("configured", "120/min")+auto("tokened", "120/min")+auto("plain", "")+auto("hourly", "600/hour")))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := gov.Plan(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gov.Apply(ctx, ch, governance.ApplyOptions{ShowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	secrets, ids := map[string]string{}, map[string]int64{}
	for _, is := range res.Tokens {
		secrets[is.Automation], ids[is.Automation] = is.Secret, is.TokenID
	}
	cfg := &gateway.FileConfig{Limits: gateway.LimitsConfig{
		Default:     &gateway.LimitConfig{Rate: 500},
		Automations: map[string]gateway.LimitConfig{"configured": {Rate: 30}},
		Tokens:      map[int64]gateway.LimitConfig{ids["tokened"]: {Rate: 10}},
	}, UsageFlushInterval: time.Hour}
	gw, err := gateway.New(gateway.Options{Authority: auth, Store: st, Config: cfg, Clock: clock,
		AutomationLimits: governance.NewLimits(st, clock, time.Minute, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw.ForwardAuth())
	defer srv.Close()

	tests := []struct {
		name, automation string
		wantLimit        string
		wantRemaining    string
	}{
		{"TokenOverrideInConfigWins", "tokened", "10", "9"},
		{"AutomationOverrideInConfigWinsOverRecord", "configured", "30", "29"},
		{"RecordApplies", "recorded", "120", "119"},
		{"RecordPerHourShownPerMinute", "hourly", "10", "10"}, // Remaining never above Limit
		{"NoRecordedLimitTakesDefault", "plain", "500", "499"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/-/auth", nil)
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Original-URI", "/api/v4/projects/infra%2Fdeploy/issues")
			req.Header.Set("PRIVATE-TOKEN", secrets[tt.automation])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := func(name string) string {
				for k, v := range resp.Header {
					if strings.EqualFold(k, name) && len(v) > 0 {
						return v[0]
					}
				}
				return ""
			}
			if resp.StatusCode != http.StatusOK || got("RateLimit-Limit") != tt.wantLimit || got("RateLimit-Remaining") != tt.wantRemaining {
				t.Fatalf("%s: %d, RateLimit-Limit %q, -Remaining %q; want 200, %s, %s", tt.automation, resp.StatusCode,
					got("RateLimit-Limit"), got("RateLimit-Remaining"), tt.wantLimit, tt.wantRemaining)
			}
		})
	}
}

// TestAutomationRoutesFromRecords checks that an automation declaring
// routes may call those only, and that one declaring none is not narrowed.
func TestAutomationRoutesFromRecords(t *testing.T) {
	ctx := t.Context()
	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	dbPath := filepath.Join(t.TempDir(), "botgate.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auth, err := authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte("p"), 32), Clock: clock, UsageFlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	gov, err := governance.New(governance.Config{Authority: auth, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.ParseNamed("routes.yaml", strings.NewReader(`version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: poller
    purpose: Polls pipelines.
    owner: infra
    projects: [infra/deploy]
    scopes: [api]
    access_level: developer
    routes: ["GET /api/v4/projects/*/pipelines", "GET /api/v4/projects/*/pipelines/*", "* /api/v4/projects/*/statuses/*"]
  - name: open
    purpose: Declares no routes.
    owner: infra
    projects: [infra/deploy]
    scopes: [api]
    access_level: developer
`))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := gov.Plan(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gov.Apply(ctx, ch, governance.ApplyOptions{ShowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for _, is := range res.Tokens {
		secrets[is.Automation] = is.Secret
	}
	gw, err := gateway.New(gateway.Options{Authority: auth, Store: st, Config: &gateway.FileConfig{UsageFlushInterval: time.Hour}, Clock: clock,
		AutomationLimits: governance.NewLimits(st, clock, time.Minute, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw.ForwardAuth())
	defer srv.Close()
	tests := []struct {
		name, automation, method, uri string
		want                          int
	}{
		{"DeclaredList", "poller", "GET", "/api/v4/projects/infra%2Fdeploy/pipelines", http.StatusOK},
		{"DeclaredOne", "poller", "GET", "/api/v4/projects/infra%2Fdeploy/pipelines/42", http.StatusOK},
		{"AnyMethod", "poller", "POST", "/api/v4/projects/infra%2Fdeploy/statuses/abc123", http.StatusOK},
		{"OtherMethod", "poller", "POST", "/api/v4/projects/infra%2Fdeploy/pipelines", http.StatusForbidden},
		{"OtherPath", "poller", "GET", "/api/v4/projects/infra%2Fdeploy/issues", http.StatusForbidden},
		{"LongerPath", "poller", "GET", "/api/v4/projects/infra%2Fdeploy/pipelines/42/jobs", http.StatusForbidden},
		{"NoRoutesDeclared", "open", "GET", "/api/v4/projects/infra%2Fdeploy/issues", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/-/auth", nil)
			req.Header.Set("X-Original-Method", tt.method)
			req.Header.Set("X-Original-URI", tt.uri)
			req.Header.Set("PRIVATE-TOKEN", secrets[tt.automation])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s as %s: %d, want %d", tt.method, tt.uri, tt.automation, resp.StatusCode, tt.want)
			}
		})
	}
	t.Run("UnreadableAllowlistFailsClosed", func(t *testing.T) {
		// The allowlist is read through a second store on the same
		// database, closed: the records cannot be read while the tokens
		// still authenticate through the gateway's own store.
		broken, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		broken.Close()
		gw2, err := gateway.New(gateway.Options{Authority: auth, Store: st, Config: &gateway.FileConfig{UsageFlushInterval: time.Hour}, Clock: clock,
			AutomationLimits: governance.NewLimits(broken, clock, time.Minute, nil)})
		if err != nil {
			t.Fatal(err)
		}
		defer gw2.Close()
		srv2 := httptest.NewServer(gw2.ForwardAuth())
		defer srv2.Close()
		req, _ := http.NewRequest("GET", srv2.URL+"/-/auth", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/api/v4/projects/infra%2Fdeploy/issues")
		req.Header.Set("PRIVATE-TOKEN", secrets["poller"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("a route outside the allowlist while the allowlist cannot be read: %d, want 500 (fail closed)", resp.StatusCode)
		}
	})
}
