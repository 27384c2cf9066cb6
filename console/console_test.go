package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/server"
)

// fixture is a real botgate (server package, SQLite, the demo
// automations) on loopback, with an administrator and a person who is an
// Owner of one team (gitlab-org/runner) only.
type fixture struct {
	base                      string
	admin, member, readOnly   string // personal access tokens
	bot                       string // a group access token
	runnerToken, otherToken   int64  // a runner team token, another team's token
	runnerTeamID, otherTeamID int64
}

func newFixture(t *testing.T) *fixture { return newFixtureAt(t, nil) }

// newFixtureAt is newFixture with the server reading clock (nil: the
// system clock).
func newFixtureAt(t *testing.T, clock botgate.Clock) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	gwFile := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(gwFile, []byte("usage_flush_interval: 50ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", Demo: true, Gateway: server.GatewayConfig{ConfigFile: gwFile}, Clock: clock}
	tokenFile := filepath.Join(dir, "admin.token")
	if _, err := server.Initialize(ctx, cfg, server.Admin{Username: "root", Email: "root@botgate.test", TokenFile: tokenFile}, log); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the server did not stop")
		}
	})
	admin, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{base: "http://" + s.Addr().String(), admin: strings.TrimSpace(string(admin))}
	for i := 0; ; i++ {
		if resp, err := http.Get(f.base + "/-/readiness"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal("the server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var runner, ep struct{ ID int64 }
	f.api(t, "GET", "/api/v4/groups/"+url.PathEscape("gitlab-org/runner"), nil, &runner)
	f.api(t, "GET", "/api/v4/groups/"+url.PathEscape("gitlab-org/engineering-productivity"), nil, &ep)
	f.runnerTeamID, f.otherTeamID = runner.ID, ep.ID
	var user struct{ ID int64 }
	f.api(t, "POST", "/api/v4/users", map[string]any{"username": "rita", "email": "rita@botgate.test", "name": "Rita Runner"}, &user)
	f.api(t, "POST", "/api/v4/groups/"+strconv.FormatInt(runner.ID, 10)+"/members", map[string]any{"user_id": user.ID, "access_level": 50}, nil)
	var pat struct{ Token string }
	f.api(t, "POST", "/api/v4/users/"+strconv.FormatInt(user.ID, 10)+"/personal_access_tokens", map[string]any{"name": "console", "scopes": []string{"api"}}, &pat)
	f.member = pat.Token
	f.api(t, "POST", "/api/v4/users/"+strconv.FormatInt(user.ID, 10)+"/personal_access_tokens", map[string]any{"name": "read", "scopes": []string{"read_api"}}, &pat)
	f.readOnly = pat.Token
	f.api(t, "POST", "/api/v4/groups/"+strconv.FormatInt(ep.ID, 10)+"/access_tokens", map[string]any{"name": "hand-made", "scopes": []string{"read_api"}, "access_level": 30}, &pat)
	f.bot = pat.Token
	var tokens []struct {
		ID         int64
		Automation string
	}
	f.api(t, "GET", "/api/v4/personal_access_tokens?per_page=100", nil, &tokens)
	for _, tk := range tokens {
		var d struct{ Automation string }
		f.api(t, "GET", "/api/botgate/v1/tokens/"+strconv.FormatInt(tk.ID, 10), nil, &d)
		switch d.Automation {
		case "runner-releases":
			f.runnerToken = tk.ID
		case "pipeline-poller":
			f.otherToken = tk.ID
		}
	}
	if f.runnerToken == 0 || f.otherToken == 0 {
		t.Fatalf("the demo's runner-releases and pipeline-poller tokens were not found among %d tokens", len(tokens))
	}
	return f
}

// api calls the API as the administrator and decodes the answer into out.
func (f *fixture) api(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.base+path, rd)
	req.Header.Set("PRIVATE-TOKEN", f.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (f *fixture) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends a request and returns the status, headers and body.
func (b *browser) do(method, path string, form url.Values) (int, http.Header, string) {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page's forms.
func (b *browser) csrf(body string) string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	return m[1]
}

// signIn signs in with the token and reports the status of the answer.
func (b *browser) signIn(token string) (int, http.Header, string) {
	b.t.Helper()
	_, _, page := b.do("GET", "/-/console/sign_in", nil)
	return b.do("POST", "/-/console/sign_in", url.Values{"token": {token}, "csrf": {b.csrf(page)}})
}

func TestSignInRulesAndSessionCookie(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"person", f.member, http.StatusSeeOther},
		{"person with read_api", f.readOnly, http.StatusSeeOther},
		{"group access token", f.bot, http.StatusForbidden},
		{"unknown token", "glpat-not-a-real-token", http.StatusUnauthorized},
		{"empty", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := f.browser(t)
			status, h, body := b.signIn(tc.token)
			if status != tc.want {
				t.Fatalf("sign in: got %d, want %d\n%s", status, tc.want, body)
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q allows inline script or lacks script-src 'self'", csp)
			}
			if status != http.StatusSeeOther {
				if strings.Contains(h.Get("Set-Cookie"), "botgate_session=") {
					t.Error("a refused sign-in set a session cookie")
				}
				return
			}
			var session *http.Cookie
			for _, c := range (&http.Response{Header: h}).Cookies() {
				if c.Name == "botgate_session" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure on plain HTTP", session)
			}
			if strings.Contains(session.Value, tc.token) || strings.Contains(h.Get("Set-Cookie"), "glpat-") {
				t.Error("the token reached the browser")
			}
		})
	}
	t.Run("sign-in without its CSRF token", func(t *testing.T) {
		b := f.browser(t)
		b.do("GET", "/-/console/sign_in", nil)
		if status, _, _ := b.do("POST", "/-/console/sign_in", url.Values{"token": {f.member}}); status != http.StatusForbidden {
			t.Errorf("got %d, want 403", status)
		}
	})
}

func TestPagesAndActionsAuthorization(t *testing.T) {
	f := newFixture(t)
	id := func(v int64) string { return strconv.FormatInt(v, 10) }
	anon := f.browser(t)
	admin := f.browser(t)
	admin.signIn(f.admin)
	member := f.browser(t)
	member.signIn(f.member)
	reader := f.browser(t)
	reader.signIn(f.readOnly)

	pages := []struct {
		path          string
		admin, member int
	}{
		{"/-/console/inventory", 200, 200},
		{"/-/console/inventory?team=" + id(f.otherTeamID), 200, 404},
		{"/-/console/inventory?team=" + id(f.runnerTeamID), 200, 200},
		{"/-/console/tokens/" + id(f.runnerToken), 200, 200},
		{"/-/console/tokens/" + id(f.otherToken), 200, 404},
		{"/-/console/tokens/" + id(f.otherToken) + "/revoke", 200, 404},
		{"/-/console/charts", 200, 200},
		{"/-/console/charts/expiry.svg", 200, 200},
		{"/-/console/charts/refusals.svg", 200, 200},
		{"/-/console/vault", 200, 200},
		{"/-/console/lint", 200, 403},
		{"/-/console/leaks", 200, 403},
		{"/-/console/audit", 200, 403},
	}
	for _, p := range pages {
		t.Run("GET "+p.path, func(t *testing.T) {
			if status, h, _ := anon.do("GET", p.path, nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/-/console/sign_in") {
				t.Errorf("signed out: got %d to %q, want 303 to the sign-in page", status, h.Get("Location"))
			}
			if status, _, _ := admin.do("GET", p.path, nil); status != p.admin {
				t.Errorf("administrator: got %d, want %d", status, p.admin)
			}
			if status, _, _ := member.do("GET", p.path, nil); status != p.member {
				t.Errorf("runner team member: got %d, want %d", status, p.member)
			}
		})
	}

	_, _, page := member.do("GET", "/-/console/inventory", nil)
	if !strings.Contains(page, "runner-releases") || strings.Contains(page, "pipeline-poller") || strings.Contains(page, "hand-made") {
		t.Errorf("the member's inventory should show the runner team's automations only:\n%s", page)
	}
	memberCSRF, readerCSRF := member.csrf(page), func() string { _, _, p := reader.do("GET", "/-/console/inventory", nil); return reader.csrf(p) }()

	actions := []struct {
		name string
		b    *browser
		path string
		csrf string
		want int
	}{
		{"no session", anon, "/-/console/tokens/" + id(f.runnerToken) + "/rotate", memberCSRF, 401},
		{"no CSRF token", member, "/-/console/tokens/" + id(f.runnerToken) + "/rotate", "", 403},
		{"another session's CSRF token", member, "/-/console/tokens/" + id(f.runnerToken) + "/rotate", readerCSRF, 403},
		{"read_api only", reader, "/-/console/tokens/" + id(f.runnerToken) + "/rotate", readerCSRF, 403},
		{"another team's token", member, "/-/console/tokens/" + id(f.otherToken) + "/rotate", memberCSRF, 404},
		{"revoke another team's token", member, "/-/console/tokens/" + id(f.otherToken) + "/revoke", memberCSRF, 404},
		{"create for another team", member, "/-/console/automations/pipeline-poller/tokens", memberCSRF, 404},
		{"sign out without CSRF", member, "/-/console/sign_out", "", 403},
	}
	for _, a := range actions {
		t.Run("POST "+a.name, func(t *testing.T) {
			form := url.Values{}
			if a.csrf != "" {
				form.Set("csrf", a.csrf)
			}
			if status, _, body := a.b.do("POST", a.path, form); status != a.want {
				t.Errorf("got %d, want %d\n%s", status, a.want, body)
			}
		})
	}
	// Nothing above changed a token: both are still active.
	for _, tk := range []int64{f.runnerToken, f.otherToken} {
		var d struct{ Revoked bool }
		f.api(t, "GET", "/api/botgate/v1/tokens/"+id(tk), nil, &d)
		if d.Revoked {
			t.Errorf("token %d was revoked by a refused action", tk)
		}
	}
	t.Run("sign out ends the session", func(t *testing.T) {
		if status, _, _ := member.do("POST", "/-/console/sign_out", url.Values{"csrf": {memberCSRF}}); status != http.StatusSeeOther {
			t.Fatalf("sign out: got %d", status)
		}
		if status, _, _ := member.do("GET", "/-/console/inventory", nil); status != http.StatusSeeOther {
			t.Errorf("after sign-out the inventory answered %d, want a redirect to sign in", status)
		}
	})
}

// TestWebURLs follows the web_url of API answers (a group, a project, a
// user) to the console's inventory narrowed to it.
func TestWebURLs(t *testing.T) {
	f := newFixture(t)
	member := f.browser(t)
	member.signIn(f.member)
	var group, project struct {
		WebURL string `json:"web_url"`
	}
	var user []struct {
		WebURL string `json:"web_url"`
	}
	f.api(t, "GET", "/api/v4/groups/"+url.PathEscape("gitlab-org/runner"), nil, &group)
	f.api(t, "GET", "/api/v4/projects/"+url.PathEscape("gitlab-org/runner/gitlab-runner"), nil, &project)
	f.api(t, "GET", "/api/v4/users?username=release-bot", nil, &user)
	if len(user) != 1 {
		t.Fatalf("users named release-bot: %d", len(user))
	}
	for _, tc := range []struct {
		name, webURL, lands, shows string
	}{
		{"group", group.WebURL, "/-/console/inventory?team=" + strconv.FormatInt(f.runnerTeamID, 10), "runner-releases"},
		{"project", project.WebURL, "/-/console/inventory?project=gitlab-org%2Frunner%2Fgitlab-runner", "runner-releases"},
		{"user", user[0].WebURL, "/-/console/inventory?user=release-bot", "runner-releases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, ok := strings.CutPrefix(tc.webURL, f.base)
			if !ok || !strings.HasPrefix(path, "/-/console/") {
				t.Fatalf("web_url %q is not a console page of %s", tc.webURL, f.base)
			}
			status, h, _ := member.do("GET", path, nil)
			if status != http.StatusSeeOther || h.Get("Location") != tc.lands {
				t.Fatalf("GET %s: %d to %q, want 303 to %q", path, status, h.Get("Location"), tc.lands)
			}
			status, _, body := member.do("GET", tc.lands, nil)
			if status != http.StatusOK || !strings.Contains(body, tc.shows) {
				t.Errorf("GET %s: %d, want 200 showing %s", tc.lands, status, tc.shows)
			}
		})
	}
	// Another team's group is not the member's to see in the inventory.
	status, h, _ := member.do("GET", "/-/console/groups/gitlab-org/engineering-productivity", nil)
	if status == http.StatusSeeOther {
		status, _, _ = member.do("GET", h.Get("Location"), nil)
	}
	if status != http.StatusNotFound {
		t.Errorf("another team's inventory through its web_url: got %d, want 404", status)
	}
}

// TestChartsShowGatewayTraffic sends requests through the gateway's
// forward-auth and finds them, and a refusal, in the charts.
func TestChartsShowGatewayTraffic(t *testing.T) {
	f := newFixture(t)
	auth := func(token string) int {
		req, _ := http.NewRequest("GET", f.base+"/-/auth", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/api/v4/projects")
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		if status := auth(f.admin); status != http.StatusOK {
			t.Fatalf("forward-auth with the admin token: %d", status)
		}
	}
	admin := f.browser(t)
	admin.signIn(f.admin)
	var svg string
	for i := 0; ; i++ {
		_, _, svg = admin.do("GET", "/-/console/charts/requests.svg", nil)
		if strings.Contains(svg, "<polyline") {
			break
		}
		if i > 100 {
			t.Fatalf("the requests chart shows no line after the gateway's traffic:\n%s", svg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "(not declared)") {
		t.Errorf("the requests chart should draw the administrator's undeclared token:\n%s", svg)
	}
	// The runner team member does not see the administrator's traffic.
	member := f.browser(t)
	member.signIn(f.member)
	if _, _, svg := member.do("GET", "/-/console/charts/requests.svg", nil); strings.Contains(svg, "<polyline") {
		t.Errorf("the member's requests chart shows traffic of tokens outside their team:\n%s", svg)
	}
}

// TestSessionEnds checks the idle and absolute timeouts, and that
// revoking the token a person signed in with ends their session.
func TestSessionEnds(t *testing.T) {
	clock := ratelimit.NewManualClock(time.Now())
	f := newFixtureAt(t, clock)
	signedIn := func(b *browser) bool {
		t.Helper()
		status, h, _ := b.do("GET", "/-/console/inventory", nil)
		if status == http.StatusSeeOther && strings.HasPrefix(h.Get("Location"), "/-/console/sign_in") {
			return false
		}
		if status != http.StatusOK {
			t.Fatalf("inventory: %d", status)
		}
		return true
	}
	t.Run("idle", func(t *testing.T) {
		b := f.browser(t)
		b.signIn(f.member)
		for range 3 {
			clock.Advance(29 * time.Minute)
			if !signedIn(b) {
				t.Fatal("a session used every 29 minutes ended")
			}
		}
		clock.Advance(31 * time.Minute)
		if signedIn(b) {
			t.Error("a session idle for 31 minutes is still signed in")
		}
	})
	t.Run("absolute", func(t *testing.T) {
		b := f.browser(t)
		b.signIn(f.member)
		var lasted time.Duration
		for lasted < 13*time.Hour && signedIn(b) {
			clock.Advance(25 * time.Minute)
			lasted += 25 * time.Minute
		}
		if lasted < 12*time.Hour || lasted > 12*time.Hour+25*time.Minute {
			t.Errorf("a busy session lasted %s, want 12 hours", lasted)
		}
	})
	t.Run("token revoked", func(t *testing.T) {
		b := f.browser(t)
		b.signIn(f.readOnly)
		if !signedIn(b) {
			t.Fatal("not signed in")
		}
		var self struct{ ID int64 }
		req, _ := http.NewRequest("GET", f.base+"/api/v4/personal_access_tokens/self", nil)
		req.Header.Set("PRIVATE-TOKEN", f.readOnly)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&self)
		resp.Body.Close()
		f.api(t, "DELETE", "/api/v4/personal_access_tokens/"+strconv.FormatInt(self.ID, 10), nil, nil)
		if signedIn(b) {
			t.Error("revoking the token did not end the session")
		}
	})
}

// TestCreateTokenShownOnce creates a token for an automation and finds
// its secret on the next page only.
func TestCreateTokenShownOnce(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	b.signIn(f.member)
	_, _, page := b.do("GET", "/-/console/tokens/"+strconv.FormatInt(f.runnerToken, 10), nil)
	status, h, body := b.do("POST", "/-/console/automations/runner-releases/tokens", url.Values{"csrf": {b.csrf(page)}})
	if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "/new") {
		t.Fatalf("create: %d to %q\n%s", status, h.Get("Location"), body)
	}
	_, _, first := b.do("GET", h.Get("Location"), nil)
	secret := regexp.MustCompile(`id="secret" value="([^"]+)"`).FindStringSubmatch(first)
	if secret == nil || !strings.HasPrefix(secret[1], "glpat-") {
		t.Fatalf("the new token's page shows no secret:\n%s", first)
	}
	if _, _, again := b.do("GET", h.Get("Location"), nil); strings.Contains(again, secret[1]) {
		t.Error("the secret is shown a second time")
	}
	// The secret works, as the runner-releases automation's token.
	req, _ := http.NewRequest("GET", f.base+"/api/v4/personal_access_tokens/self", nil)
	req.Header.Set("PRIVATE-TOKEN", secret[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the new secret does not authenticate: %d", resp.StatusCode)
	}
}

// TestVaultPage shows secret names by team, to each person only their
// teams', and never a value.
func TestVaultPage(t *testing.T) {
	f := newFixture(t)
	admin, member := f.browser(t), f.browser(t)
	admin.signIn(f.admin)
	member.signIn(f.member)
	_, _, all := admin.do("GET", "/-/console/vault", nil)
	_, _, mine := member.do("GET", "/-/console/vault", nil)
	for _, want := range []string{"runner-releases.token", "pipeline-poller.token", "Recent reads"} {
		if !strings.Contains(all, want) {
			t.Errorf("the administrator's vault page lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(mine, "runner-releases.token") || strings.Contains(mine, "pipeline-poller.token") || strings.Contains(mine, "Recent reads") {
		t.Errorf("the runner team member's vault page should list the runner team's secrets only:\n%s", mine)
	}
	for _, page := range []string{all, mine} {
		if strings.Contains(page, "glpat-") {
			t.Error("a vault page shows a secret value")
		}
	}
}
