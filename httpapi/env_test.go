package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"

	"net/http/httptest"
)

// env is a running botgate API: a real SQLite store in a temp dir, a real
// authority, the real HTTP handler behind httptest, and the bootstrap
// administrator's token.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	auth    *authority.Service
	store   *sqlite.Store
	clock   *ratelimit.ManualClock
	logs    *logbuf.Buffer
	root    string // the administrator's token
	rootID  int64
	mu      sync.Mutex
	secrets []string // every token secret the test has seen
}

func newEnv(t testing.TB) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with a chance to adjust the server's configuration.
func newEnvWith(t testing.TB, configure func(*httpapi.Config)) *env {
	t.Helper()
	return newEnvMounted(t, configure, nil)
}

// newEnvMounted is newEnvWith with a chance to give the server more
// handlers (as the server assembly gives it the gateway's) before it is
// built; mount sees the configuration, the env without its server, and its
// logger, and returns what closes what it started (called after the server
// closes, before the authority does).
func newEnvMounted(t testing.TB, configure func(*httpapi.Config), mount func(cfg *httpapi.Config, e *env, log *slog.Logger) (close func() error)) *env {
	t.Helper()
	return newEnvAuthority(t, nil, configure, mount)
}

// newEnvAuthority is newEnvMounted with a chance to adjust the authority's
// configuration first.
func newEnvAuthority(t testing.TB, authCfg func(*authority.Config), configure func(*httpapi.Config), mount func(cfg *httpapi.Config, e *env, log *slog.Logger) (close func() error)) *env {
	t.Helper()
	ctx := context.Background()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "botgate.db"), sqlite.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	pepper := make([]byte, 32)
	if _, err := rand.Read(pepper); err != nil {
		t.Fatal(err)
	}
	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 10, 11, 12, 123456789, time.UTC))
	acfg := authority.Config{Store: st, Pepper: pepper, Clock: clock, Logger: log, Host: "botgate.test"}
	if authCfg != nil {
		authCfg(&acfg)
	}
	auth, err := authority.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	_, tok, secret, err := auth.Bootstrap(ctx, authority.NewUser{Username: "root", Name: "Administrator", Email: "root@botgate.test"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Authority: auth, Store: st, Logger: log, Version: "test", Clock: clock}
	if configure != nil {
		configure(&cfg)
	}
	e := &env{t: t, auth: auth, store: st, clock: clock, logs: logs, root: secret, rootID: tok.ID}
	e.remember(secret)
	closeMounted := func() error { return nil }
	if mount != nil {
		closeMounted = mount(&cfg, e, log)
	}
	api := httpapi.New(cfg)
	srv := httptest.NewServer(api)
	e.srv = srv
	t.Cleanup(func() {
		srv.Close()
		if err := closeMounted(); err != nil {
			t.Errorf("closing what was mounted: %v", err)
		}
		if err := auth.Close(); err != nil {
			t.Errorf("closing authority: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
		e.checkLogs()
	})
	return e
}

// remember records a secret so that the logs can be checked for it.
func (e *env) remember(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			e.secrets = append(e.secrets, s)
		}
	}
}

// checkLogs fails the test if any secret the test saw appears in the logs.
func (e *env) checkLogs() {
	e.t.Helper()
	logs := e.logs.String()
	if logs == "" {
		e.t.Error("the server logged nothing; the log check would prove nothing")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, s := range e.secrets {
		if strings.Contains(logs, s) {
			e.t.Errorf("token secret #%d of %d seen by the test appears in the server logs", i+1, len(e.secrets))
		}
	}
}

// client returns a client-go client authenticated with the token.
func (e *env) client(token string) *gitlab.Client {
	e.t.Helper()
	e.remember(token)
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(e.srv.URL+"/api/v4"))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// response is a raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return v
}

// do sends a raw request with the token in PRIVATE-TOKEN (if not empty).
func (e *env) do(method, path, token, contentType string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// form posts a form-encoded body.
func (e *env) form(method, path, token string, v url.Values) response {
	e.t.Helper()
	return e.do(method, path, token, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

// postJSON sends a JSON body.
func (e *env) postJSON(method, path, token string, v any) response {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(method, path, token, "application/json", bytes.NewReader(b))
}

// must returns a function that takes a client-go call's three results,
// fails the test on an error and returns the value:
// must[*gitlab.User](t)(c.Users.CurrentUser()).
func must[T any](t testing.TB) func(T, *gitlab.Response, error) T {
	return func(v T, _ *gitlab.Response, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantStatus checks a client-go error's HTTP status.
func wantStatus(t testing.TB, what string, resp *gitlab.Response, err error, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want HTTP %d", what, status)
	}
	if resp == nil {
		t.Fatalf("%s: %v (no response), want HTTP %d", what, err, status)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s: HTTP %d (%v), want %d", what, resp.StatusCode, err, status)
	}
}

// fixture is a small organisation: an administrator, a team owner (alice),
// a developer (bob) and a maintainer (carol) of a project in alice's group.
type fixture struct {
	*env
	admin             *gitlab.Client
	alice, bob, carol *gitlab.Client
	aliceID, bobID    int64
	carolID           int64
	aliceTok, bobTok  string
	carolTok          string
	group, subgroup   *gitlab.Group
	project           *gitlab.Project
}

func newFixture(t testing.TB) *fixture { return newFixtureOn(t, newEnv(t)) }

// newFixtureWith is newFixture with a chance to adjust the server's
// configuration.
func newFixtureWith(t testing.TB, configure func(*httpapi.Config)) *fixture {
	return newFixtureOn(t, newEnvWith(t, configure))
}

// newFixtureOn builds the fixture's organisation on a running env.
func newFixtureOn(t testing.TB, e *env) *fixture {
	t.Helper()
	f := &fixture{env: e, admin: e.client(e.root)}
	mkUser := func(name string) (int64, string, *gitlab.Client) {
		u := must[*gitlab.User](t)(f.admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Username: gitlab.Ptr(name), Name: gitlab.Ptr(strings.ToUpper(name[:1]) + name[1:]), Email: gitlab.Ptr(name + "@example.com"),
		}))
		tok := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr(name + "-cli"), Scopes: &[]string{"api", "read_user"},
		}))
		return u.ID, tok.Token, e.client(tok.Token)
	}
	f.aliceID, f.aliceTok, f.alice = mkUser("alice")
	f.bobID, f.bobTok, f.bob = mkUser("bob")
	f.carolID, f.carolTok, f.carol = mkUser("carol")
	f.group = must[*gitlab.Group](t)(f.alice.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Platform"), Path: gitlab.Ptr("platform")}))
	f.subgroup = must[*gitlab.Group](t)(f.alice.Groups.CreateGroup(&gitlab.CreateGroupOptions{
		Name: gitlab.Ptr("Tools"), Path: gitlab.Ptr("tools"), ParentID: gitlab.Ptr(f.group.ID),
	}))
	f.project = must[*gitlab.Project](t)(f.alice.Projects.CreateProject(&gitlab.CreateProjectOptions{
		Name: gitlab.Ptr("Release Bot"), Path: gitlab.Ptr("release-bot"), NamespaceID: gitlab.Ptr(f.subgroup.ID),
	}))
	must[*gitlab.ProjectMember](t)(f.alice.ProjectMembers.AddProjectMember(f.project.ID, &gitlab.AddProjectMemberOptions{
		UserID: f.bobID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions),
	}))
	must[*gitlab.ProjectMember](t)(f.alice.ProjectMembers.AddProjectMember(f.project.ID, &gitlab.AddProjectMemberOptions{
		UserID: f.carolID, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions),
	}))
	return f
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
