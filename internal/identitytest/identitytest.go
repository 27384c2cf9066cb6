// Package identitytest runs a whole botgate (API, gateway, store) for
// workload identity tests: two real OIDC issuers (a GitLab-like one and a
// Kubernetes-like one), an upstream that records what reaches it, a fake
// clock shared by the issuers' tokens and botgate, and a manifest applied
// whose automations trust those issuers.
package identitytest

import (
	"context"
	"encoding/json"
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
	cfg := server.Config{DataDir: filepath.Join(t.TempDir(), "data"), Clock: e.Clock,
		Getenv: func(k string) string {
			if k == "UPSTREAM_TOKEN" {
				return "upstream-secret"
			}
			return ""
		},
		Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0",
		Gateway:  server.GatewayConfig{Upstream: up.URL, UpstreamCredential: "env:UPSTREAM_TOKEN"},
		Identity: server.IdentityConfig{HTTPClient: oidctest.Client(e.GitLab, e.K8s)},
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
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	e, cfg := Prepare(t)
	s, err := server.New(ctx, cfg, log)
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
	e.Server = s
	e.API = "http://" + s.Addr().String()
	e.Proxy = "http://" + s.ProxyAddr().String()
	for i := 0; ; i++ {
		resp, err := http.Get(e.API + "/-/readiness")
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
	return e
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
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
		"audience":           {automation},
	}
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
