package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/scan"
	"github.com/botgate/botgate/tokenfmt"
)

// hookRecorder is a team's webhook endpoint: it keeps what it receives.
type hookRecorder struct {
	mu     sync.Mutex
	bodies []string
	got    chan struct{}
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, r.Header.Get("X-Botgate-Event")+" "+string(b))
	h.mu.Unlock()
	h.got <- struct{}{}
}

func (h *hookRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

// leakAnswer mirrors the endpoint's per-item answer.
type leakAnswer struct {
	Type        string `json:"type"`
	URL         string `json:"url"`
	Status      string `json:"status"`
	Fingerprint string `json:"fingerprint"`
	TokenID     int64  `json:"token_id"`
}

type leakItem struct {
	Type  string `json:"type"`
	Token string `json:"token"`
	URL   string `json:"url"`
}

// leakFixture is the fixture with a real gateway telling the platform
// team's webhook, and a project access token to leak.
type leakFixture struct {
	*fixture
	hook     *hookRecorder
	botTok   *gitlab.ProjectAccessToken
	botToken string
}

func newLeakFixture(t *testing.T) *leakFixture { return newLeakFixtureWith(t, nil) }

// newLeakFixtureWith is newLeakFixture with a chance to adjust the
// server's configuration.
func newLeakFixtureWith(t *testing.T, configure func(*httpapi.Config)) *leakFixture {
	hook := &hookRecorder{got: make(chan struct{}, 16)}
	hs := httptest.NewServer(hook)
	t.Cleanup(hs.Close)
	// Wire the gateway into the env's httpapi.Server as serve does.
	f := newFixtureWith(t, func(cfg *httpapi.Config) {
		gw, err := gateway.New(gateway.Options{Authority: cfg.Authority, Store: cfg.Store, Clock: cfg.Clock,
			Config: &gateway.FileConfig{Webhooks: map[string]string{"platform": hs.URL}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gw.Close() })
		cfg.Leaks = gw
		if configure != nil {
			configure(cfg)
		}
	})
	tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("release-bot"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions),
	}))
	f.remember(tok.Token)
	return &leakFixture{fixture: f, hook: hook, botTok: tok, botToken: tok.Token}
}

func (f *leakFixture) report(t *testing.T, token string, items []leakItem) (response, []leakAnswer) {
	t.Helper()
	r := f.postJSON(http.MethodPost, "/api/botgate/v1/leaks", token, items)
	var out []leakAnswer
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("answer %q: %v", r.body, err)
		}
	}
	return r, out
}

// unissued is a well-formed token this instance never issued.
func unissued(t *testing.T) string {
	t.Helper()
	tok, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{Org: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLeaksEndpointRevokes(t *testing.T) {
	f := newLeakFixture(t)
	ghost := unissued(t)
	lookalike := f.botToken[:len(f.botToken)-1] + "x"
	if lookalike == f.botToken {
		lookalike = f.botToken[:len(f.botToken)-1] + "y"
	}
	f.remember(ghost)
	loc := "https://gitlab.example.com/platform/tools/release-bot/-/blob/abc/ci.yml?t=" + f.botToken + "#L3"
	items := []leakItem{
		{Type: "gitlab_personal_access_token", Token: f.botToken, URL: loc},
		{Type: "gitlab_personal_access_token", Token: ghost, URL: "https://x/a#L1"},
		{Type: "gitlab_personal_access_token", Token: lookalike, URL: "https://x/b#L1"},
		{Type: "aws_access_key", Token: "AKIA0000", URL: "https://x/c#L1"},
		{Type: "gitlab_personal_access_token", Token: "", URL: "https://x/d#L1"},
	}
	r, out := f.report(t, f.root, items)
	if r.status != http.StatusOK || len(out) != len(items) {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	for i, want := range []struct{ status string }{{"revoked"}, {"unknown"}, {"unknown"}, {"unsupported_type"}, {"invalid"}} {
		t.Run("item "+want.status, func(t *testing.T) {
			if out[i].Status != want.status {
				t.Errorf("item %d: %+v, want %s", i, out[i], want.status)
			}
		})
	}
	if strings.Contains(string(r.body), f.botToken) {
		t.Error("the answer shows a reported token")
	}
	if out[0].TokenID != int64(f.botTok.ID) || out[0].Fingerprint != scan.Fingerprint(f.botToken) {
		t.Errorf("revoked item %+v, want token %d and its fingerprint", out[0], f.botTok.ID)
	}

	t.Run("the token no longer works and its bot is deactivated", func(t *testing.T) {
		_, resp, err := f.client(f.botToken).Users.CurrentUser()
		wantStatus(t, "GET /user with the leaked token", resp, err, http.StatusUnauthorized)
		u := must[*gitlab.User](t)(f.admin.Users.GetUser(f.botTok.UserID, nil))
		if u.State == "active" {
			t.Errorf("bot user state %q, want deactivated", u.State)
		}
	})

	t.Run("audited with the location, never the token", func(t *testing.T) {
		evs, err := f.auth.AuditEvents(context.Background(), authority.SystemActor(), botgate.AuditFilter{Action: authority.ActionTokenLeaked})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("token.leaked events %d, want 1", len(evs))
		}
		e := evs[0]
		if e.TargetID != int64(f.botTok.ID) || e.ActorName != "root" || e.Details["was_active"] != "true" {
			t.Errorf("event %+v", e)
		}
		if want := strings.ReplaceAll(loc, f.botToken, "[REDACTED]"); e.Details["location"] != want {
			t.Errorf("location %q, want %q", e.Details["location"], want)
		}
		all, err := f.auth.AuditEvents(context.Background(), authority.SystemActor(), botgate.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(all)
		if strings.Contains(string(raw), f.botToken) || strings.Contains(string(raw), ghost) {
			t.Error("a reported token appears in the audit log")
		}
		revokes := 0
		for _, e := range all {
			if e.Action == botgate.ActionTokenRevoke && e.TargetID == int64(f.botTok.ID) {
				revokes++
			}
		}
		if revokes != 1 {
			t.Errorf("token.revoke events %d, want 1", revokes)
		}
	})

	t.Run("the owning team's webhook is told", func(t *testing.T) {
		select {
		case <-f.hook.got:
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook")
		}
		got := f.hook.all()
		if len(got) != 1 {
			t.Fatalf("webhooks %v", got)
		}
		var ev gateway.LeakEvent
		event, body, _ := strings.Cut(got[0], " ")
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatal(err)
		}
		if event != "token.leaked" || ev.TokenID != int64(f.botTok.ID) || ev.Team != "platform/tools" || !ev.Revoked ||
			!strings.Contains(ev.Location, "[REDACTED]") || strings.Contains(body, f.botToken) {
			t.Errorf("webhook %s %+v", event, ev)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		r, out := f.report(t, f.root, items[:1])
		if r.status != http.StatusOK || len(out) != 1 || out[0].Status != "already_inactive" {
			t.Fatalf("HTTP %d %s, want already_inactive", r.status, r.body)
		}
		select {
		case <-f.hook.got:
			t.Error("a second webhook for an already revoked token")
		case <-time.After(200 * time.Millisecond):
		}
	})
}

func TestLeaksEndpointRevokeLeakedScope(t *testing.T) {
	f := newLeakFixture(t)
	// bob, no administrator, gets a token for his scanner that may only
	// report leaks.
	scanner := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(f.bobID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr("secret-scanner"), Scopes: &[]string{"revoke_leaked"},
	}))
	f.remember(scanner.Token)
	t.Run("it revokes a token it does not own", func(t *testing.T) {
		r, out := f.report(t, scanner.Token, []leakItem{{Token: f.botToken, URL: "https://x/y#L9"}})
		if r.status != http.StatusOK || len(out) != 1 || out[0].Status != "revoked" {
			t.Fatalf("HTTP %d %s", r.status, r.body)
		}
	})
	t.Run("and can do nothing else", func(t *testing.T) {
		_, resp, err := f.client(scanner.Token).Projects.ListProjects(&gitlab.ListProjectsOptions{})
		wantStatus(t, "GET /projects with revoke_leaked", resp, err, http.StatusForbidden)
	})
	t.Run("a project access token may hold the scope", func(t *testing.T) {
		tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("scanner-bot"), Scopes: &[]string{"revoke_leaked"}, AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions),
		}))
		f.remember(tok.Token)
		r, out := f.report(t, tok.Token, []leakItem{{Token: f.botToken}})
		if r.status != http.StatusOK || out[0].Status != "already_inactive" {
			t.Fatalf("HTTP %d %s", r.status, r.body)
		}
	})
}

func TestLeaksEndpointRefusesUnauthorised(t *testing.T) {
	f := newLeakFixture(t)
	adminRead := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(int64(f.rootID), &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr("root-read"), Scopes: &[]string{"read_api"},
	}))
	f.remember(adminRead.Token)
	ghost := unissued(t)
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a bad token", ghost, http.StatusUnauthorized},
		{"a non-administrator with api", f.aliceTok, http.StatusForbidden},
		{"an administrator with read_api only", adminRead.Token, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := f.report(t, tc.token, []leakItem{{Token: f.botToken}, {Token: ghost}})
			if r.status != tc.status {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, tc.status)
			}
			for _, word := range []string{"revoked", "inactive", "unknown", "token_id", "fingerprint"} {
				if strings.Contains(string(r.body), word) {
					t.Errorf("refusal %s says %q", r.body, word)
				}
			}
		})
	}
	t.Run("the token is still active", func(t *testing.T) {
		must[*gitlab.User](t)(f.client(f.botToken).Users.CurrentUser())
	})
	t.Run("a body that is not an array", func(t *testing.T) {
		r := f.do(http.MethodPost, "/api/botgate/v1/leaks", f.root, "application/json", strings.NewReader(`{"token":"x"}`))
		if r.status != http.StatusBadRequest {
			t.Errorf("HTTP %d %s, want 400", r.status, r.body)
		}
	})
	t.Run("too many items", func(t *testing.T) {
		items := make([]leakItem, 101)
		r, _ := f.report(t, f.root, items)
		if r.status != http.StatusBadRequest {
			t.Errorf("HTTP %d %s, want 400", r.status, r.body)
		}
	})
}
