package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
)

// seen is one request the test upstream received.
type seen struct {
	Method string
	URI    string
	Header http.Header
	Body   string
}

// upstream is a test API that records what it receives.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newUpstream(t testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: string(body)})
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("RateLimit-Limit", "999999") // the gateway's own must win
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// fixture is a real botgate: SQLite store, authority, gateway, and
// servers for forward-auth (with /metrics) and for the proxy.
type fixture struct {
	t        testing.TB
	store    *sqlite.Store
	auth     *authority.Service
	clock    *ratelimit.ManualClock
	gw       *gateway.Gateway
	up       *upstream
	authSrv  *httptest.Server
	proxySrv *httptest.Server

	group, sub, otherGroup *botgate.Group
	proj, subProj, other   *botgate.Project
	secrets                map[string]string
	ids                    map[string]int64
	logs                   *logbuf.Buffer
}

// fixtureTokens are the tokens every fixture has.
var fixtureTokens = []struct {
	name, where, automation string
	scopes                  []string
}{
	{"proj-api", "proj", "triage", []string{"api"}},
	{"proj-read", "proj", "pipeline-poller", []string{"read_api"}},
	{"proj-repo", "proj", "mirror", []string{"read_repository"}},
	{"other-api", "other", "other-bot", []string{"api"}},
	{"group-api", "group", "release", []string{"api"}},
	{"loop-a", "proj", "looper", []string{"api"}},
	{"loop-b", "proj", "steady", []string{"api"}},
}

type fixtureOpts struct {
	config   string // YAML; "{{UPSTREAM}}" is replaced by the upstream URL
	upstream http.HandlerFunc
	env      map[string]string
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	ctx := t.Context()
	f := &fixture{t: t, clock: ratelimit.NewManualClock(time.Now().UTC()), secrets: map[string]string{}, ids: map[string]int64{}}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "botgate.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	f.store = st
	f.logs = &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.auth, err = authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte("p"), 32), Clock: f.clock,
		UsageFlushInterval: time.Hour, Logger: log})
	if err != nil {
		t.Fatalf("authority.New: %v", err)
	}
	admin, adminTok, adminSecret, err := f.auth.Bootstrap(ctx, authority.NewUser{Username: "root", Name: "Root", Email: "root@example.com"})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	f.secrets["admin"], f.ids["admin"] = adminSecret, adminTok.ID
	a := authority.Actor{User: admin, Token: adminTok}
	mustG := func(g *botgate.Group, err error) *botgate.Group {
		t.Helper()
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		return g
	}
	mustP := func(p *botgate.Project, err error) *botgate.Project {
		t.Helper()
		if err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		return p
	}
	f.group = mustG(f.auth.CreateGroup(ctx, a, authority.NewGroup{Name: "Platform", Path: "platform", Visibility: botgate.Private}))
	f.sub = mustG(f.auth.CreateGroup(ctx, a, authority.NewGroup{Name: "Tools", Path: "tools", ParentID: f.group.ID, Visibility: botgate.Private}))
	f.otherGroup = mustG(f.auth.CreateGroup(ctx, a, authority.NewGroup{Name: "Other", Path: "other", Visibility: botgate.Private}))
	f.proj = mustP(f.auth.CreateProject(ctx, a, authority.NewProject{Name: "api", Path: "api", NamespaceID: f.group.ID, Visibility: botgate.Private}))
	f.subProj = mustP(f.auth.CreateProject(ctx, a, authority.NewProject{Name: "cli", Path: "cli", NamespaceID: f.sub.ID, Visibility: botgate.Private}))
	f.other = mustP(f.auth.CreateProject(ctx, a, authority.NewProject{Name: "secret", Path: "secret", NamespaceID: f.otherGroup.ID, Visibility: botgate.Private}))
	for _, tk := range fixtureTokens {
		r := botgate.Resource{Type: botgate.ProjectResource, ID: f.proj.ID}
		switch tk.where {
		case "other":
			r.ID = f.other.ID
		case "group":
			r = botgate.Resource{Type: botgate.GroupResource, ID: f.group.ID}
		}
		c, err := f.auth.CreateResourceToken(ctx, a, r, authority.NewToken{Name: tk.name, Scopes: tk.scopes,
			AccessLevel: botgate.DeveloperAccess, Automation: tk.automation})
		if err != nil {
			t.Fatalf("CreateResourceToken %s: %v", tk.name, err)
		}
		f.secrets[tk.name], f.ids[tk.name] = c.Secret, c.Token.ID
	}

	f.up = newUpstream(t, o.upstream)
	cfgText := strings.ReplaceAll(o.config, "{{UPSTREAM}}", f.up.URL)
	for name, id := range f.ids {
		cfgText = strings.ReplaceAll(cfgText, "{{ID:"+name+"}}", strconv.FormatInt(id, 10))
	}
	if cfgText == "" {
		cfgText = "routes:\n  - {name: gitlab, upstream: " + f.up.URL + ", gitlab: true, credential: 'env:UPSTREAM_TOKEN'}\n"
	}
	cfg, err := gateway.ParseConfig([]byte(cfgText))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	env := map[string]string{"UPSTREAM_TOKEN": "upstream-secret-credential"}
	for k, v := range o.env {
		env[k] = v
	}
	f.gw, err = gateway.New(gateway.Options{Authority: f.auth, Store: st, Config: cfg, Clock: f.clock,
		Getenv: func(k string) string { return env[k] }, Logger: log})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/-/auth", f.gw.ForwardAuth())
	mux.Handle("/-/auth/", f.gw.ForwardAuth())
	mux.Handle("GET /metrics", f.gw.MetricsHandler())
	f.authSrv = httptest.NewServer(mux)
	f.proxySrv = httptest.NewServer(f.gw.Proxy())
	t.Cleanup(func() {
		f.proxySrv.Close()
		f.authSrv.Close()
		if err := f.gw.Close(); err != nil {
			t.Errorf("gateway Close: %v", err)
		}
		if err := f.auth.Close(); err != nil {
			t.Errorf("authority Close: %v", err)
		}
		st.Close()
		// No secret ever reaches a log line.
		logs := f.logs.String()
		for name, secret := range f.secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("the secret of token %s is in the logs", name)
			}
		}
		for _, v := range env {
			if strings.Contains(logs, v) {
				t.Errorf("an upstream credential is in the logs")
			}
		}
	})
	return f
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

// proxyReq builds a request to the proxy with the named token in
// PRIVATE-TOKEN ("" for none).
func (f *fixture) proxyReq(method, uri, token string, body string) *http.Request {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.proxySrv.URL+uri, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", f.secrets[token])
	}
	return req
}

// nginxReq builds an nginx auth_request style forward-auth request.
func (f *fixture) nginxReq(method, uri, token string) *http.Request {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.authSrv.URL+"/-/auth", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Original-Method", method)
	req.Header.Set("X-Original-URI", uri)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", f.secrets[token])
	}
	return req
}

// audit returns the audit events with the action.
func (f *fixture) audit(action string) []*botgate.AuditEvent {
	f.t.Helper()
	var evs []*botgate.AuditEvent
	err := f.store.View(context.Background(), func(tx botgate.Tx) (err error) {
		evs, err = tx.FindAudit(context.Background(), botgate.AuditFilter{Action: action})
		return err
	})
	if err != nil {
		f.t.Fatalf("FindAudit: %v", err)
	}
	return evs
}

// jsonBody decodes a JSON body into a map.
func jsonBody(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", s, err)
	}
	return m
}

// metrics returns the /metrics page.
func (f *fixture) metrics() string {
	f.t.Helper()
	resp, err := http.Get(f.authSrv.URL + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// token reads the named token from the store.
func (f *fixture) token(name string) *botgate.Token {
	f.t.Helper()
	var tk *botgate.Token
	err := f.store.View(context.Background(), func(tx botgate.Tx) (err error) {
		tk, err = tx.Token(context.Background(), f.ids[name])
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return tk
}
