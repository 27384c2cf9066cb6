package governance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/migrate"
)

// fakeGitLab is the upstream API behind the gateway. It answers every call
// with 200 and writes one line of GitLab's api_json.log per call, as the
// shared bot's GitLab would: the user and token the gateway vouched for,
// the client's user agent and address, and the route (which a test client
// names in X-Test-Route, since GitLab knows its own routes).
type fakeGitLab struct {
	*httptest.Server
	mu  sync.Mutex
	log bytes.Buffer
	now func() time.Time
}

func newFakeGitLab(t *testing.T, now func() time.Time) *fakeGitLab {
	f := &fakeGitLab{now: now}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		tokenID, _ := strconv.ParseInt(r.Header.Get(gateway.HeaderTokenID), 10, 64)
		route := r.Header.Get("X-Test-Route")
		line := map[string]any{
			"time": f.now().UTC().Format(time.RFC3339Nano), "method": r.Method, "path": r.URL.EscapedPath(),
			"status": 200, "ua": r.UserAgent(), "remote_ip": strings.Split(r.Header.Get("X-Forwarded-For"), ",")[0],
			"meta.user": r.Header.Get(gateway.HeaderUser), "token_id": tokenID,
		}
		if route != "" {
			line["route"] = route
			line["meta.caller_id"] = r.Method + " " + route
		}
		b, _ := json.Marshal(line)
		f.mu.Lock()
		f.log.Write(append(b, '\n'))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(f.Close)
	return f
}

// takeLog returns the log written so far and starts a new one.
func (f *fakeGitLab) takeLog() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := bytes.Clone(f.log.Bytes())
	f.log.Reset()
	return out
}

// proxy is a real gateway (forward-auth decision and reverse proxy) in
// front of the fake GitLab, reading automations' limits from their records.
type proxy struct {
	gw  *gateway.Gateway
	srv *httptest.Server
	up  *fakeGitLab
}

func newProxy(t *testing.T, e *env) *proxy {
	t.Helper()
	up := newFakeGitLab(t, e.clock.Now)
	cfg := &gateway.FileConfig{
		UsageFlushInterval: time.Hour,
		Routes: []gateway.RouteConfig{{Name: "gitlab", Upstream: up.URL, GitLab: true, Rules: []gateway.RuleConfig{
			// Git over HTTP: fetching needs read_repository (or more),
			// pushing write_repository.
			{Method: "GET", Path: "/:ns/:repo/info/refs", Scopes: []string{"read_repository", "write_repository"}},
			{Method: "POST", Path: "/:ns/:sub/:repo/git-receive-pack", Scopes: []string{"write_repository"}},
		}}},
	}
	gw, err := gateway.New(gateway.Options{Authority: e.auth, Store: e.store, Config: cfg, Clock: e.clock,
		AutomationLimits: governance.NewLimits(e.store, e.clock, time.Second, nil)})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	p := &proxy{gw: gw, srv: httptest.NewServer(gw.Proxy()), up: up}
	t.Cleanup(func() {
		p.srv.Close()
		gw.Close()
	})
	return p
}

// apiCall is one request an automation makes.
type apiCall struct {
	method, path, route string
}

// do makes the call through the gateway with the token and user agent and
// returns the response's status and rate limit.
func (p *proxy) do(t *testing.T, secret, ua string, c apiCall) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), c.method, p.srv.URL+c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", secret)
	req.Header.Set("User-Agent", ua)
	if c.route != "" {
		req.Header.Set("X-Test-Route", c.route)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s %s as %s: %d %s", c.method, c.path, ua, resp.StatusCode, body)
	}
	limit := ""
	for k, v := range resp.Header {
		if strings.EqualFold(k, "RateLimit-Limit") && len(v) > 0 {
			limit = v[0]
		}
	}
	return resp.StatusCode, limit
}

// flush writes the gateway's and the authority's coalesced usage.
func (p *proxy) flush(t *testing.T) {
	t.Helper()
	if err := p.gw.FlushUsage(t.Context()); err != nil {
		t.Fatalf("FlushUsage: %v", err)
	}
}

// wantClean fails the test unless the report has no errors or warnings.
func wantClean(t *testing.T, what string, rep *lint.Report) {
	t.Helper()
	if c := rep.Counts(); c.Errors != 0 || c.Warnings != 0 || lint.ExitCode(rep, lint.SeverityWarning) != 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("%s: lint is not clean:\n%s", what, b.String())
	}
}

// seedCalls are the calls each example automation makes: together they
// use every scope its token holds, on the targets the manifest gives it.
var seedCalls = map[string]struct {
	ua    string
	calls []apiCall
}{
	"danger-review": {"danger-js/11.3.1", []apiCall{
		{"GET", "/api/v4/projects/gitlab-org%2Fgitlab/merge_requests/7", "/api/:version/projects/:id/merge_requests/:merge_request_iid"},
		{"POST", "/api/v4/projects/gitlab-org%2Fgitlab/merge_requests/7/notes", "/api/:version/projects/:id/merge_requests/:merge_request_iid/notes"},
		{"POST", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/merge_requests/3/notes", "/api/:version/projects/:id/merge_requests/:merge_request_iid/notes"},
	}},
	"scheduled-triage": {"gitlab-triage/1.44.0", []apiCall{
		{"GET", "/api/v4/groups/gitlab-org/issues", "/api/:version/groups/:id/issues"},
		{"PUT", "/api/v4/projects/gitlab-org%2Fgitlab/issues/12", "/api/:version/projects/:id/issues/:issue_iid"},
		{"PUT", "/api/v4/projects/gitlab-com%2Fwww-gitlab-com/issues/4", "/api/:version/projects/:id/issues/:issue_iid"},
	}},
	"realtime-triage": {"triage-ops-webhook/2.3.0", []apiCall{
		{"PUT", "/api/v4/projects/gitlab-org%2Fgitlab/issues/99", "/api/:version/projects/:id/issues/:issue_iid"},
	}},
	"pipeline-poller": {"python-gitlab/4.4.0", []apiCall{
		{"GET", "/api/v4/projects/gitlab-org%2Fgitlab/pipelines", "/api/:version/projects/:id/pipelines"},
		{"GET", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/pipelines/51", "/api/:version/projects/:id/pipelines/:pipeline_id"},
		{"GET", "/api/v4/projects/gitlab-com%2Fwww-gitlab-com/pipelines", "/api/:version/projects/:id/pipelines"},
	}},
	"async-retrospectives": {"retrospective-generator/0.9 (ruby)", []apiCall{
		{"GET", "/api/v4/projects/gitlab-org%2Fgitlab/issues", "/api/:version/projects/:id/issues"},
		{"GET", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/merge_requests", "/api/:version/projects/:id/merge_requests"},
		{"POST", "/api/v4/projects/gitlab-org%2Fengineering-productivity%2Fretrospectives/issues", "/api/:version/projects/:id/issues"},
	}},
	"runner-releases": {"release-cli/0.18.0", []apiCall{
		{"POST", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/releases", "/api/:version/projects/:id/releases"},
		{"PUT", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner-helm-chart/repository/files/Chart.yaml", "/api/:version/projects/:id/repository/files/:file_path"},
	}},
	"security-mirror": {"git/2.47.0", []apiCall{
		{"GET", "/gitlab-org/gitlab.git/info/refs?service=git-upload-pack", ""},
		{"POST", "/gitlab-org/security/gitlab.git/git-receive-pack", ""},
	}},
}

// TestEndToEnd applies the example manifest, calls through the gateway as
// each automation, and finds lint clean; then, on a second instance, runs
// a shared bot's world through the gateway, finds the reuse, plans the
// migration from the upstream's api_json.log, applies it with pruning
// (which revokes exactly the shared token), moves the clients to their own
// tokens and finds lint clean again.
func TestEndToEnd(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { testEndToEnd(t, backend) })
	}
}

func testEndToEnd(t *testing.T, backend string) {
	ctx := t.Context()

	t.Run("Example", func(t *testing.T) {
		e := newEnvOn(t, backend, true)
		m := example(t)
		e.apply(m, governance.ApplyOptions{})
		if ch := e.plan(m); !ch.Empty() {
			t.Fatalf("second apply would change: %q", ops(ch))
		}
		p := newProxy(t, e)
		for _, a := range m.Automations {
			seed, ok := seedCalls[a.Name]
			if !ok {
				t.Fatalf("no calls for automation %s", a.Name)
			}
			// The automation's token, from its team's vault, as it would
			// read it.
			secret, _, err := e.vault.ReadSecretRef(ctx, authority.SystemActor(), "vault:"+a.Owner+"/"+governance.SecretName(a.Name))
			if err != nil {
				t.Fatalf("%s: reading its token from the vault: %v", a.Name, err)
			}
			for _, c := range seed.calls {
				_, limit := p.do(t, string(secret), seed.ua, c)
				if want := strconv.Itoa(int(manifest.PerMinute(a.Limit()))); limit != want {
					t.Errorf("%s: RateLimit-Limit %q, want its own %s a minute", a.Name, limit, want)
				}
			}
		}
		p.flush(t)
		rep, err := e.gov.Lint(ctx, governance.SnapshotOptions{Manifest: m}, lint.Config{})
		if err != nil {
			t.Fatal(err)
		}
		wantClean(t, "example with the manifest", rep)
		rep, err = e.gov.Lint(ctx, governance.SnapshotOptions{}, lint.Config{})
		if err != nil {
			t.Fatal(err)
		}
		wantClean(t, "example from the records", rep)
		// Every token was judged on its use: the snapshot holds usage for
		// each automation's token.
		snap, err := e.gov.Snapshot(ctx, governance.SnapshotOptions{Manifest: m})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range snap.Tokens {
			if tk.Automation != "" && (tk.Usage == nil || tk.Usage.Calls() == 0) {
				t.Errorf("token of %s has no recorded usage: lint could not judge its scopes", tk.Automation)
			}
		}

		t.Run("WidenedScopeIsReported", func(t *testing.T) {
			// A widened scope (api on the read-only poller) makes lint
			// warn with the least set, from the same recorded calls.
			wide := strings.Replace(string(governance.ExampleManifestSource()), "scopes: [read_api]", "scopes: [api]", 1)
			mw, err := manifest.ParseNamed("wide.yaml", strings.NewReader(wide))
			if err != nil {
				t.Fatal(err)
			}
			e.apply(mw, governance.ApplyOptions{})
			var secret []byte
			if secret, _, err = e.vault.ReadSecretRef(ctx, authority.SystemActor(), "vault:gitlab-org/engineering-productivity/pipeline-poller.token"); err != nil {
				t.Fatal(err)
			}
			for _, c := range seedCalls["pipeline-poller"].calls {
				p.do(t, string(secret), seedCalls["pipeline-poller"].ua, c)
			}
			p.flush(t)
			rep, err := e.gov.Lint(ctx, governance.SnapshotOptions{Manifest: mw}, lint.Config{})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(rep.Findings, func(f lint.Finding) bool { return f.RuleID == "BG004" })
			if i < 0 || !slices.Equal(rep.Findings[i].Suggested, botgate.Scopes{botgate.ScopeReadAPI}) {
				t.Fatalf("widened scopes: findings %+v, want BG004 suggesting read_api", rep.Findings)
			}
		})
	})

	t.Run("SharedBotMigration", func(t *testing.T) {
		e := newEnvOn(t, backend, true)
		// The teams and projects exist; every automation shares one group
		// token made by hand, as teams do before botgate.
		e.apply(parse(t, `version: 1
teams:
  - {path: gitlab-org}
  - {path: runner, parent: gitlab-org}
projects:
  - {path: gitlab, group: gitlab-org}
  - {path: gitlab-runner, group: gitlab-org/runner}
  - {path: gitlab-runner-helm-chart, group: gitlab-org/runner}
`), governance.ApplyOptions{})
		var org *botgate.Group
		e.store.View(ctx, func(tx botgate.Tx) error {
			var err error
			org, err = tx.GroupByPath(ctx, "gitlab-org")
			return err
		})
		shared, err := e.auth.CreateResourceToken(ctx, authority.SystemActor(), botgate.Resource{Type: botgate.GroupResource, ID: org.ID},
			authority.NewToken{Name: "gitlab-bot", Scopes: []string{"api"}, AccessLevel: botgate.MaintainerAccess})
		if err != nil {
			t.Fatal(err)
		}
		clients := map[string]struct {
			ua    string
			calls []apiCall
		}{
			"danger": {"danger-js/11.3.1", []apiCall{
				{"POST", "/api/v4/projects/gitlab-org%2Fgitlab/merge_requests/7/notes", "/api/:version/projects/:id/merge_requests/:merge_request_iid/notes"},
				{"POST", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/merge_requests/3/notes", "/api/:version/projects/:id/merge_requests/:merge_request_iid/notes"},
			}},
			"triage": {"gitlab-triage/1.44.0", []apiCall{
				{"GET", "/api/v4/groups/gitlab-org/issues", "/api/:version/groups/:id/issues"},
				{"PUT", "/api/v4/projects/gitlab-org%2Fgitlab/issues/12", "/api/:version/projects/:id/issues/:issue_iid"},
				{"PUT", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/issues/4", "/api/:version/projects/:id/issues/:issue_iid"},
			}},
			"poller": {"python-gitlab/4.4.0", []apiCall{
				{"GET", "/api/v4/projects/gitlab-org%2Fgitlab/pipelines", "/api/:version/projects/:id/pipelines"},
				{"GET", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/pipelines", "/api/:version/projects/:id/pipelines"},
			}},
			"releases": {"release-cli/0.18.0", []apiCall{
				{"POST", "/api/v4/projects/gitlab-org%2Frunner%2Fgitlab-runner/releases", "/api/:version/projects/:id/releases"},
			}},
		}
		p := newProxy(t, e)
		// A day of the shared bot: every client, a few rounds.
		for round := range 3 {
			for _, name := range []string{"danger", "triage", "poller", "releases"} {
				c := clients[name]
				for _, call := range c.calls {
					p.do(t, shared.Secret, c.ua, call)
				}
			}
			e.clock.Advance(time.Duration(round+1) * time.Hour)
		}
		p.flush(t)

		before, err := e.gov.Lint(ctx, governance.SnapshotOptions{}, lint.Config{})
		if err != nil {
			t.Fatal(err)
		}
		reuse := slices.IndexFunc(before.Findings, func(f lint.Finding) bool {
			return f.RuleID == "BG001" && f.Subject.ID == shared.Token.ID
		})
		if reuse < 0 || before.Findings[reuse].Severity != lint.SeverityError || lint.ExitCode(before, lint.SeverityError) != 1 {
			var b strings.Builder
			before.WriteText(&b)
			t.Fatalf("the shared token's reuse is not reported as an error:\n%s", b.String())
		}

		// The migration planner reads the upstream's api_json.log.
		reqs, err := migrate.Read(bytes.NewReader(p.up.takeLog()))
		if err != nil {
			t.Fatal(err)
		}
		prop, err := migrate.Plan(reqs, migrate.Options{Owner: "gitlab-org"})
		if err != nil {
			t.Fatal(err)
		}
		if len(prop.SharedTokens) != 1 || prop.SharedTokens[0].ID != shared.Token.ID {
			t.Fatalf("the planner names shared tokens %+v, want token %d", prop.SharedTokens, shared.Token.ID)
		}
		var yaml bytes.Buffer
		if err := prop.WriteManifest(&yaml); err != nil {
			t.Fatal(err)
		}
		proposed, err := manifest.ParseNamed("proposed.yaml", &yaml)
		if err != nil {
			t.Fatalf("the proposed manifest does not parse: %v\n%s", err, yaml.String())
		}
		byUA := map[string]string{} // user agent -> proposed automation
		for _, c := range prop.Clients {
			if c.Skipped != "" {
				t.Fatalf("client %s skipped: %s", c.Name, c.Skipped)
			}
			for _, ua := range c.UserAgents {
				byUA[ua] = c.Name
			}
		}
		if len(prop.Clients) != len(clients) {
			t.Fatalf("the planner found %d clients, want %d", len(prop.Clients), len(clients))
		}

		// Apply with pruning: the only revocation is the shared token.
		ch := e.plan(proposed)
		var revoked []int64
		for _, a := range ch.Actions {
			if a.Op == manifest.OpRevokeToken {
				revoked = append(revoked, a.Old.ID)
			}
		}
		if !slices.Equal(revoked, []int64{shared.Token.ID}) {
			t.Fatalf("the plan revokes %v, want only the shared token %d: %q", revoked, shared.Token.ID, ops(ch))
		}
		res, err := e.gov.Apply(ctx, ch, governance.ApplyOptions{Prune: true, ShowSecrets: true})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if _, err := e.auth.Authenticate(ctx, shared.Secret, authority.RequestMeta{}); !botgate.IsKind(err, botgate.KindUnauthenticated) {
			t.Fatalf("the shared token still authenticates after the migration: %v", err)
		}
		if ch := e.plan(proposed); !ch.Empty() {
			t.Fatalf("plan after the migration: %q", ops(ch))
		}
		secrets := map[string]string{}
		for _, is := range res.Tokens {
			secrets[is.Automation] = is.Secret
		}

		// Each client moves to its own token.
		for _, name := range []string{"danger", "triage", "poller", "releases"} {
			c := clients[name]
			auto := byUA[c.ua]
			if secrets[auto] == "" {
				t.Fatalf("client %s (%s): no token issued for its automation %q", name, c.ua, auto)
			}
			for _, call := range c.calls {
				p.do(t, secrets[auto], c.ua, call)
			}
		}
		p.flush(t)
		after, err := e.gov.Lint(ctx, governance.SnapshotOptions{Manifest: proposed}, lint.Config{})
		if err != nil {
			t.Fatal(err)
		}
		wantClean(t, "after the migration", after)
		if i := slices.IndexFunc(after.Findings, func(f lint.Finding) bool { return f.RuleID == "BG001" }); i >= 0 {
			t.Fatalf("token reuse still reported: %+v", after.Findings[i])
		}
		t.Logf("migrated %d clients: %s", len(prop.Clients), fmt.Sprint(byUA))
	})
}
