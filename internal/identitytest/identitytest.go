// Package identitytest runs a whole botgate (API, gateway, store) for
// workload identity tests: two real OIDC issuers (a GitLab-like one and a
// Kubernetes-like one), an upstream that records what reaches it, a fake
// clock shared by the issuers' tokens and botgate, and a manifest applied
// whose automations trust those issuers.
package identitytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/internal/oidctest"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/server"
)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Audience is the audience the trust policies of Manifest name for GitLab
// CI tokens.
const Audience = "https://botgate.test"

// Manifest is the manifest Start applies, with GITLAB and K8S standing for
// the issuers' URLs: automation "triage" trusts main on acme/app when
// protected, and pods of service account triage/bot; "release" trusts
// protected tags of acme/app; "nobody" trusts no one.
const Manifest = `version: 1
teams:
  - path: acme
projects:
  - path: app
    group: acme
automations:
  - name: triage
    purpose: Triages issues.
    owner: acme
    projects: [acme/app]
    scopes: [read_api]
    access_level: reporter
    routes: ["GET /api/v4/projects/*", "GET /api/v4/projects/*/issues"]
    trust:
      - issuer: GITLAB
        audience: https://botgate.test
        max_ttl: 10m
        claims:
          project_path: acme/app
          ref: main
          ref_type: branch
          ref_protected: "true"
      - issuer: K8S
        audience: botgate
        max_ttl: 5m
        claims:
          sub: system:serviceaccount:triage:bot
  - name: release
    purpose: Publishes releases.
    owner: acme
    projects: [acme/app]
    scopes: [api]
    access_level: developer
    trust:
      - issuer: GITLAB
        audience: https://botgate.test
        claims:
          project_path: acme/app
          ref_type: tag
          ref: "v*"
          ref_protected: "true"
  - name: nobody
    purpose: Trusts no workload.
    owner: acme
    projects: [acme/app]
    scopes: [read_api]
    access_level: reporter
`

// Env is a running botgate with its issuers.
type Env struct {
	GitLab, K8s *oidctest.Issuer
	Clock       *Clock
	Server      *server.Server
	// API and Proxy are the base URLs of the API and the gateway.
	API, Proxy string
	adminFile  string
	// upstream records the credential of each call reaching it.
	mu       sync.Mutex
	upstream []string
}

// Prepare initialises a data directory and applies Manifest to it, with
// the issuers and the upstream running, and returns the server
// configuration without starting botgate.
func Prepare(t testing.TB) (*Env, server.Config) {
	t.Helper()
	return PrepareOn(t, "")
}

// PrepareOn is Prepare on the store named as server.Config.Store names it
// ("" for the data directory's SQLite, or a postgres:// URL).
func PrepareOn(t testing.TB, store string) (*Env, server.Config) {
	t.Helper()
	ctx := context.Background()
	e := &Env{GitLab: oidctest.New(t), K8s: oidctest.New(t),
		Clock: &Clock{t: time.Now().UTC().Truncate(time.Second)}}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.upstream = append(e.upstream, r.Header.Get("Private-Token")+r.Header.Get("Authorization"))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1,"path_with_namespace":"acme/app"}`)
	}))
	t.Cleanup(up.Close)
	log := slog.New(slog.DiscardHandler)
	cfg := server.Config{DataDir: filepath.Join(t.TempDir(), "data"), Store: store, Clock: e.Clock,
		Getenv: func(k string) string {
			if k == "UPSTREAM_TOKEN" {
				return "upstream-secret"
			}
			return ""
		},
		Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0",
		Gateway:  server.GatewayConfig{Upstream: up.URL, UpstreamCredential: "env:UPSTREAM_TOKEN"},
		Identity: server.IdentityConfig{HTTPClient: oidctest.Client(e.GitLab, e.K8s)},
		// The broker's scheduler (which sweeps expired upstream job
		// tokens) runs often, so that a test advancing the clock sees it.
		Vault: server.VaultConfig{RotationInterval: 100 * time.Millisecond},
	}
	e.adminFile = filepath.Join(t.TempDir(), "admin.token")
	if _, err := server.Initialize(ctx, cfg, server.Admin{Username: "root", Email: "root@botgate.test", TokenFile: e.adminFile}, log); err != nil {
		t.Fatal(err)
	}
	gov, done, err := server.OpenGovernor(ctx, cfg, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	src := strings.NewReplacer("GITLAB", e.GitLab.URL(), "K8S", e.K8s.URL()).Replace(Manifest)
	m, err := manifest.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := gov.Plan(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.Apply(ctx, ch, governance.ApplyOptions{ShowSecrets: true, Manifest: m}); err != nil {
		t.Fatal(err)
	}
	return e, cfg
}

// Start starts everything; it stops when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	e, cfg := Prepare(t)
	e.Server = run(t, cfg)
	e.API = "http://" + e.Server.Addr().String()
	e.Proxy = "http://" + e.Server.ProxyAddr().String()
	return e
}

// run builds and runs a server on cfg until the test ends, and waits until
// it is ready.
func run(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	ctx := context.Background()
	s, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		s.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-ran
		s.Close()
	})
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + s.Addr().String() + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i == 200 {
			t.Fatalf("botgate did not become ready: %v", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return s
}

// Upstream is a second botgate standing in for GitLab, with project
// acme/app, whose administrator token the first botgate's team acme keeps
// in its vault as "gitlab-admin" and uses to mint the upstream tokens of
// automation triage (a registered upstream credential).
type Upstream struct {
	URL   string
	Admin string
}

// StartUpstream starts the upstream and registers it with e.
func (e *Env) StartUpstream(t testing.TB) *Upstream {
	t.Helper()
	ctx := context.Background()
	cfg := server.Config{DataDir: filepath.Join(t.TempDir(), "upstream"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0"}
	adminFile := filepath.Join(t.TempDir(), "upstream-admin.token")
	if _, err := server.Initialize(ctx, cfg, server.Admin{Username: "root", Email: "root@upstream.test", TokenFile: adminFile}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(adminFile)
	if err != nil {
		t.Fatal(err)
	}
	up := &Upstream{URL: "http://" + run(t, cfg).Addr().String(), Admin: strings.TrimSpace(string(b))}
	var group struct{ ID int64 }
	call(t, http.MethodPost, up.URL+"/api/v4/groups", up.Admin, url.Values{"name": {"Acme"}, "path": {"acme"}}, &group)
	call(t, http.MethodPost, up.URL+"/api/v4/projects", up.Admin, url.Values{"name": {"App"}, "path": {"app"}, "namespace_id": {fmt.Sprint(group.ID)}}, nil)
	call(t, http.MethodPut, e.API+"/api/botgate/v1/secrets/acme/gitlab-admin", e.AdminToken(t), url.Values{"value": {up.Admin}}, nil)
	call(t, http.MethodPost, e.API+"/api/botgate/v1/upstream_credentials", e.AdminToken(t), url.Values{
		"group": {"acme"}, "automation": {"triage"}, "upstream_url": {up.URL}, "admin_secret": {"gitlab-admin"},
		"kind": {"project_access"}, "target": {"acme/app"}, "token_name": {"triage"}, "scopes": {"read_api"},
		"access_level": {"20"}, "lifetime_days": {"30"}, "rotate_before_days": {"7"}}, nil)
	return up
}

// Works reports whether token authenticates at the upstream.
func (up *Upstream) Works(t testing.TB, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, up.URL+"/api/v4/personal_access_tokens/self", nil)
	req.Header.Set("Private-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// call sends a form request with a token and decodes the JSON answer into
// out, failing the test on a status above 299.
func call(t testing.TB, method, u, token string, form url.Values, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Private-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode > 299 {
		t.Fatalf("%s %s: %s %s", method, u, resp.Status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
}

// AdminToken returns the administrator's token.
func (e *Env) AdminToken(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(e.adminFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// UpstreamCalls returns the credentials the upstream saw, in order.
func (e *Env) UpstreamCalls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.upstream...)
}

// GitLabJob returns the claims of a GitLab CI id_token for a job on main of
// acme/app, a protected branch, issued now and expiring in 5 minutes, with
// a fresh jti.
func (e *Env) GitLabJob(jti string) map[string]any {
	now := e.Clock.Now()
	return map[string]any{
		"iss": e.GitLab.URL(), "aud": Audience, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": jti, "sub": "project_path:acme/app:ref_type:branch:ref:main",
		"namespace_id": "7", "namespace_path": "acme", "project_id": "42", "project_path": "acme/app",
		"user_id": "3", "user_login": "alice", "user_email": "alice@example.com", "user_access_level": "maintainer",
		"pipeline_id": "1001", "pipeline_source": "schedule", "job_id": "5005",
		"ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
		"runner_id": 12, "runner_environment": "self-hosted", "sha": "0123456789abcdef0123456789abcdef01234567",
		"project_visibility": "private", "ci_config_ref_uri": "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main",
	}
}

// Pod returns the claims of a Kubernetes projected service-account token
// for pod triage-7d9 of service account triage/bot.
func (e *Env) Pod(jti string) map[string]any {
	now := e.Clock.Now()
	return map[string]any{
		"iss": e.K8s.URL(), "aud": []string{"botgate"}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"jti": jti, "sub": "system:serviceaccount:triage:bot",
		"kubernetes.io": map[string]any{
			"namespace":      "triage",
			"pod":            map[string]any{"name": "triage-7d9", "uid": "5e3c1c3e-0000-4000-8000-000000000001"},
			"serviceaccount": map[string]any{"name": "bot", "uid": "5e3c1c3e-0000-4000-8000-000000000002"},
		},
	}
}

// Exchange posts an RFC 8693 exchange of subject for automation and
// returns the status and the decoded JSON answer.
func (e *Env) Exchange(t testing.TB, automation, subject string) (int, map[string]any) {
	t.Helper()
	return e.ExchangeForm(t, url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"audience":           {automation},
	})
}

// ExchangeForm posts the form to the exchange endpoint and returns the
// status and the decoded JSON answer.
func (e *Env) ExchangeForm(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(e.API+"/api/botgate/v1/identity/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("exchange answer is not JSON: %v", err)
	}
	return resp.StatusCode, out
}
