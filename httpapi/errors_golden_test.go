package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/internal/golden"
	"github.com/botgate/botgate/tokenfmt"
)

// errorCase is one refused request and how it is sent.
type errorCase struct {
	name   string
	method string
	path   string
	token  string
	header map[string]string
	body   any // JSON, if not nil
	// via is "" for the API, "auth" for forward-auth as nginx asks (method
	// and path in X-Original-Method and X-Original-URI), "proxy" for the
	// gateway's proxy.
	via string
}

// errorsEnv is the API with the gateway mounted as serve mounts it, the
// fixture's organisation, and the tokens the refusals need.
type errorsEnv struct {
	*fixture
	proxyURL string
}

func newErrorsEnv(t *testing.T) *errorsEnv {
	t.Helper()
	var proxyURL string
	zero := time.Duration(0)
	e := newEnvMounted(t, nil, func(api *httpapi.Config, e *env, log *slog.Logger) func() error {
		cfg := &gateway.FileConfig{
			Limits: gateway.LimitsConfig{Automations: map[string]gateway.LimitConfig{"limited": {Rate: 1}}},
			Loop:   gateway.LoopConfig{Threshold: 3, Window: time.Minute, Cooldown: 5 * time.Minute, RefusalDelay: &zero},
			Routes: []gateway.RouteConfig{{
				Name: "gitlab", PathPrefix: "/api/", Upstream: "http://upstream.invalid", GitLab: true, Credential: "env:UPSTREAM_TOKEN",
				Rules: []gateway.RuleConfig{
					{Path: "/api/v4/projects/:id/hooks", Deny: true},
					{Method: "POST", Path: "/api/v4/projects/:id/issues", Scopes: []string{"api"}},
				},
			}},
			UsageFlushInterval: time.Hour,
		}
		gw, err := gateway.New(gateway.Options{Authority: e.auth, Store: e.store, Config: cfg, Clock: e.clock, Logger: log,
			Getenv:           func(string) string { return "upstream-credential" },
			AutomationLimits: governance.NewLimits(e.store, e.clock, time.Minute, log)})
		if err != nil {
			t.Fatal(err)
		}
		api.ForwardAuth = gw.ForwardAuth()
		proxy := httptest.NewServer(gw.Proxy())
		proxyURL = proxy.URL
		return func() error {
			proxy.Close()
			return gw.Close()
		}
	})
	return &errorsEnv{fixture: newFixtureOn(t, e), proxyURL: proxyURL}
}

// send sends c and returns its record: the request line, the status and
// the body, byte for byte.
func (x *errorsEnv) send(t *testing.T, c errorCase) string {
	t.Helper()
	var body *bytes.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	target := x.srv.URL + c.path
	method := c.method
	switch c.via {
	case "auth":
		target, method = x.srv.URL+"/-/auth", "GET"
	case "proxy":
		target = x.proxyURL + c.path
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequest(method, target, body)
	} else {
		req, err = http.NewRequest(method, target, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.via == "auth" {
		req.Header.Set("X-Original-Method", c.method)
		req.Header.Set("X-Original-URI", c.path)
	}
	if c.token != "" {
		req.Header.Set("PRIVATE-TOKEN", c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res := x.send1(req)
	if res.status < 400 {
		t.Errorf("%s: %d %s, want a refusal", c.name, res.status, res.body)
	}
	via := c.via
	if via == "" {
		via = "api"
	}
	return fmt.Sprintf("== %s\n%s %s %s\n%d\n%s\n", c.name, via, c.method, c.path, res.status, res.body)
}

func (x *errorsEnv) send1(req *http.Request) response { return x.env.send(req) }

// patFor creates a personal access token for user as the administrator.
func (x *errorsEnv) patFor(t *testing.T, userID int64, name string, scopes []string, expires *gitlab.ISOTime) *gitlab.PersonalAccessToken {
	t.Helper()
	tok := must[*gitlab.PersonalAccessToken](t)(x.admin.Users.CreatePersonalAccessToken(userID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr(name), Scopes: &scopes, ExpiresAt: expires,
	}))
	x.remember(tok.Token)
	return tok
}

// label gives a token an automation label, as an administrator does.
func (x *errorsEnv) label(t *testing.T, tokenID int64, automation string) {
	t.Helper()
	res := x.postJSON("PUT", fmt.Sprintf("/api/botgate/v1/tokens/%d/automation", tokenID), x.root, map[string]any{"automation": automation})
	if res.status != http.StatusOK {
		t.Fatalf("labelling token %d %q: %d %s", tokenID, automation, res.status, res.body)
	}
}

// TestErrorBodies records the status and body of one refusal of every
// kind the API and the gateway give, byte for byte, in
// testdata/errors_api.golden and testdata/errors_gateway.golden.
func TestErrorBodies(t *testing.T) {
	x := newErrorsEnv(t)
	ctx := t.Context()
	pid, gid := x.project.ID, x.group.ID
	pp := func(format string, args ...any) string {
		return fmt.Sprintf("/api/v4/projects/%d"+format, append([]any{pid}, args...)...)
	}

	// A user outside the organisation, one to deactivate, and tokens in
	// every state.
	dave := must[*gitlab.User](t)(x.admin.Users.CreateUser(&gitlab.CreateUserOptions{
		Username: gitlab.Ptr("dave"), Name: gitlab.Ptr("Dave"), Email: gitlab.Ptr("dave@example.com")}))
	erin := must[*gitlab.User](t)(x.admin.Users.CreateUser(&gitlab.CreateUserOptions{
		Username: gitlab.Ptr("erin"), Name: gitlab.Ptr("Erin"), Email: gitlab.Ptr("erin@example.com")}))
	daveTok := x.patFor(t, dave.ID, "dave-cli", []string{"api"}, nil).Token
	erinTok := x.patFor(t, erin.ID, "erin-cli", []string{"api"}, nil).Token
	bobRead := x.patFor(t, x.bobID, "bob-read", []string{"read_api"}, nil).Token
	revoked := x.patFor(t, x.bobID, "bob-revoked", []string{"api"}, nil)
	tomorrow := gitlab.ISOTime(x.clock.Now().AddDate(0, 0, 1))
	expired := x.patFor(t, x.bobID, "bob-expiring", []string{"api"}, &tomorrow).Token
	poller := x.patFor(t, x.bobID, "bob-poller", []string{"api"}, nil)
	limited := x.patFor(t, x.bobID, "bob-limited", []string{"api"}, nil)
	looper := x.patFor(t, x.bobID, "bob-looper", []string{"api"}, nil).Token
	if _, err := x.admin.PersonalAccessTokens.RevokePersonalAccessTokenByID(revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := x.admin.Users.DeleteUser(erin.ID); err != nil {
		t.Fatal(err)
	}
	ownerTok := must[*gitlab.ProjectAccessToken](t)(x.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("owner-bot"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)}))
	x.remember(ownerTok.Token)
	forged, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The token names a forged secret: never in the golden file.
	_ = forged
	aliceTokID := must[*gitlab.PersonalAccessToken](t)(x.alice.PersonalAccessTokens.GetSinglePersonalAccessToken()).ID
	bobTokID := must[*gitlab.PersonalAccessToken](t)(x.bob.PersonalAccessTokens.GetSinglePersonalAccessToken()).ID
	// An automation that declares its routes, and one with a rate limit of
	// one request a minute in the gateway's configuration.
	if err := x.store.Update(ctx, func(tx botgate.Tx) error {
		return tx.CreateAutomation(ctx, &botgate.Automation{Name: "poller", OwnerGroupID: gid, Purpose: "Polls pipelines.",
			Kind: botgate.AutomationProjectToken, Scopes: botgate.Scopes{botgate.ScopeAPI}, AccessLevel: botgate.DeveloperAccess,
			Routes: []string{"GET /api/v4/projects/*/pipelines"}, CreatedAt: x.clock.Now(), UpdatedAt: x.clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	x.label(t, poller.ID, "poller")
	x.label(t, limited.ID, "limited")
	x.clock.Advance(48 * time.Hour) // bob-expiring is now expired

	api := []errorCase{
		// Unauthenticated.
		{name: "no token", method: "GET", path: "/api/v4/user"},
		{name: "malformed token", method: "GET", path: "/api/v4/user", token: "not-a-token"},
		{name: "unknown token", method: "GET", path: "/api/v4/user", token: forged},
		{name: "revoked token", method: "GET", path: "/api/v4/user", token: revoked.Token},
		{name: "expired token", method: "GET", path: "/api/v4/user", token: expired},
		{name: "deactivated user", method: "GET", path: "/api/v4/user", token: erinTok},
		{name: "two different tokens", method: "GET", path: "/api/v4/user", token: x.bobTok, header: map[string]string{"Authorization": "Bearer " + x.aliceTok}},
		{name: "unknown Authorization scheme", method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Token abc"}},
		{name: "broken Basic credentials", method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Basic !!!"}},
		{name: "overlong token", method: "GET", path: "/api/v4/user", token: strings.Repeat("x", 600)},
		{name: "another user's tokens", method: "GET", path: fmt.Sprintf("/api/v4/personal_access_tokens?user_id=%d", x.aliceID), token: x.bobTok},
		{name: "another user's token", method: "GET", path: fmt.Sprintf("/api/v4/personal_access_tokens/%d", aliceTokID), token: x.bobTok},
		{name: "resource tokens without the role", method: "GET", path: pp("/access_tokens"), token: x.bobTok},
		// Forbidden.
		{name: "insufficient scope", method: "POST", path: "/api/v4/groups", token: bobRead, body: map[string]any{"name": "x", "path": "x"}},
		{name: "only administrators create users", method: "POST", path: "/api/v4/users", token: x.aliceTok,
			body: map[string]any{"username": "frank", "name": "Frank", "email": "frank@example.com"}},
		{name: "only administrators deactivate users", method: "DELETE", path: fmt.Sprintf("/api/v4/users/%d", x.bobID), token: x.aliceTok},
		{name: "plain forbidden", method: "GET", path: "/api/botgate/v1/audit/events", token: x.aliceTok},
		{name: "plain forbidden in httpapi", method: "POST", path: "/api/v4/admin/token", token: x.aliceTok, body: map[string]any{"token": "x"}},
		{name: "requires a role", method: "POST", path: pp("/members"), token: x.bobTok, body: map[string]any{"user_id": dave.ID, "access_level": 10}},
		{name: "grant above one's own role", method: "POST", path: pp("/members"), token: x.carolTok, body: map[string]any{"user_id": dave.ID, "access_level": 50}},
		{name: "tokens for other users", method: "POST", path: fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", x.bobID), token: x.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}}},
		{name: "rotate above one's own role", method: "POST", path: pp("/access_tokens/%d/rotate", ownerTok.ID), token: x.carolTok},
		{name: "a token relabels itself", method: "PUT", path: fmt.Sprintf("/api/botgate/v1/tokens/%d/automation", bobTokID), token: x.bobTok,
			body: map[string]any{"automation": "other"}},
		{name: "bots cannot create groups", method: "POST", path: "/api/v4/groups", token: ownerTok.Token, body: map[string]any{"name": "x", "path": "x"}},
		{name: "access tokens cannot create service accounts", method: "POST", path: pp("/service_accounts"), token: ownerTok.Token,
			body: map[string]any{"name": "x"}},
		{name: "sudo without admin", method: "GET", path: "/api/v4/user", token: x.aliceTok, header: map[string]string{"Sudo": "bob"}},
		// Not found.
		{name: "project not found", method: "GET", path: "/api/v4/projects/9999", token: x.aliceTok},
		{name: "access token not found", method: "GET", path: pp("/access_tokens/9999"), token: x.aliceTok},
		{name: "no such route", method: "GET", path: "/api/v4/nothing", token: x.aliceTok},
		// Conflict.
		{name: "member already exists", method: "POST", path: pp("/members"), token: x.aliceTok, body: map[string]any{"user_id": x.bobID, "access_level": 30}},
		{name: "group not empty", method: "DELETE", path: fmt.Sprintf("/api/v4/groups/%d", gid), token: x.aliceTok},
		{name: "username taken", method: "POST", path: "/api/v4/users", token: x.root,
			body: map[string]any{"username": "bob", "name": "Bob", "email": "other@example.com"}},
		// Invalid.
		{name: "missing field", method: "POST", path: pp("/access_tokens"), token: x.aliceTok, body: map[string]any{"scopes": []string{"api"}}},
		{name: "invalid with a message", method: "POST", path: pp("/access_tokens"), token: x.carolTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 50}},
		{name: "forbidden read as GitLab's 400", method: "POST", path: pp("/access_tokens"), token: x.bobTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 10}},
	}
	var out strings.Builder
	for _, c := range api {
		out.WriteString(x.send(t, c))
	}
	golden.Check(t, "errors_api.golden", []byte(strings.ReplaceAll(out.String(), forged, "<forged>")))

	issues := pp("/issues")
	gw := []errorCase{
		{name: "no token", via: "auth", method: "GET", path: issues},
		{name: "malformed token", via: "auth", method: "GET", path: issues, token: "not-a-token"},
		{name: "revoked token", via: "auth", method: "GET", path: issues, token: revoked.Token},
		{name: "token in the URL", via: "auth", method: "GET", path: issues + "?private_token=abc"},
		{name: "not a member", via: "auth", method: "GET", path: issues, token: daveTok},
		{name: "route denied", via: "auth", method: "GET", path: pp("/hooks"), token: x.bobTok},
		{name: "insufficient scope", via: "auth", method: "POST", path: issues, token: bobRead},
		{name: "automation outside its routes", via: "auth", method: "GET", path: issues, token: poller.Token},
		{name: "path traversal", via: "auth", method: "GET", path: pp("/../../groups/%d", gid), token: x.bobTok},
		{name: "rate limited (first request allowed)", via: "auth", method: "GET", path: pp("/merge_requests"), token: limited.Token},
		{name: "rate limited", via: "auth", method: "GET", path: issues, token: limited.Token},
		{name: "loop (1)", via: "auth", method: "GET", path: pp("/pipelines"), token: looper},
		{name: "loop (2)", via: "auth", method: "GET", path: pp("/pipelines"), token: looper},
		{name: "loop (3)", via: "auth", method: "GET", path: pp("/pipelines"), token: looper},
		{name: "loop detected", via: "auth", method: "GET", path: pp("/pipelines"), token: looper},
		{name: "proxy without a route", via: "proxy", method: "GET", path: "/elsewhere", token: x.bobTok},
	}
	out.Reset()
	for _, c := range gw {
		if strings.Contains(c.name, "first request allowed") || strings.HasPrefix(c.name, "loop (") {
			// Allowed requests that set up the next refusal.
			res := x.gwAllow(t, c)
			if res.status != http.StatusOK {
				t.Fatalf("%s: %d %s", c.name, res.status, res.body)
			}
			continue
		}
		out.WriteString(x.send(t, c))
	}
	golden.Check(t, "errors_gateway.golden", []byte(out.String()))
}

// gwAllow sends an allowed forward-auth request.
func (x *errorsEnv) gwAllow(t *testing.T, c errorCase) response {
	t.Helper()
	req, err := http.NewRequest("GET", x.srv.URL+"/-/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Original-Method", c.method)
	req.Header.Set("X-Original-URI", c.path)
	req.Header.Set("PRIVATE-TOKEN", c.token)
	return x.send1(req)
}

// TestErrorBodyReasons checks the renderings no request in TestErrorBodies
// reaches easily: a lost race, and an upstream's own refusal.
func TestErrorBodyReasons(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"concurrent change", &botgate.Error{Kind: botgate.KindConflict, Reason: botgate.ReasonConcurrentChange,
			Message: "the token was rotated or revoked concurrently"},
			409, `{"message":"409 Conflict - the token was rotated or revoked concurrently"}`},
		{"upstream refusal", botgate.E("broker.Rotate", &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonUpstream,
			Message: "upstream minting a token: HTTP 403: 403 Forbidden"}),
			403, `{"message":"403 upstream minting a token: HTTP 403: 403 Forbidden"}`},
		{"unauthenticated hiding a refusal", &botgate.Error{Kind: botgate.KindUnauthenticated,
			Err: botgate.Errorf(botgate.KindForbidden, "requires the Maintainer role")},
			401, `{"message":"401 Unauthorized"}`},
		{"forbidden without a message", botgate.E("authority.AuditEvents", botgate.KindForbidden),
			403, `{"message":"403 Forbidden"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpapi.WriteError(rec, tt.err)
			if rec.Code != tt.status || strings.TrimSuffix(rec.Body.String(), "\n") != tt.want {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}
}
