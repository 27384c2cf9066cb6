package migrate

import (
	"bytes"
	"compress/gzip"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/golden"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

func plan(t *testing.T, seed uint64, n int, f Format) *Proposal {
	t.Helper()
	var b bytes.Buffer
	if err := GenerateSample(&b, seed, n, f); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "\n"); got != n {
		t.Fatalf("generated %d lines, want %d", got, n)
	}
	reqs, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Plan(reqs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seeded is what the planner must recover for each automation the sample
// log simulates, written from the scenario (not from the generator's code).
var seeded = []struct {
	automation string // what it is in the seed
	name       string
	kind       manifest.Kind
	target     string   // project or group, for tokens
	projects   []string // targets, for a service account
	scopes     string
	level      botgate.AccessLevel
}{
	{"Danger merge-request hygiene", "danger-js-merge-requests", manifest.KindGroupToken, "gitlab-org", nil, "api", botgate.ReporterAccess},
	{"scheduled triage", "gitlab-triage-issues", manifest.KindGroupToken, "gitlab-org", nil, "api", botgate.ReporterAccess},
	{"real-time triage", "gitlab-ruby-gem-issues", manifest.KindProjectToken, "gitlab-org/gitlab", nil, "api", botgate.ReporterAccess},
	{"multi-project pipeline polling", "python-gitlab-pipelines", manifest.KindServiceAccount, "",
		[]string{"gitlab-com/runbooks", "gitlab-com/www-gitlab-com", "gitlab-org/gitaly", "gitlab-org/gitlab"}, "read_api", botgate.ReporterAccess},
	{"async retrospectives", "python-gitlab-issues", manifest.KindGroupToken, "gitlab-org", nil, "api", botgate.ReporterAccess},
	{"runner releases", "go-http-client-releases", manifest.KindProjectToken, "gitlab-org/gitlab-runner", nil, "api", botgate.DeveloperAccess},
	{"project mirroring", "go-http-client-git", manifest.KindGroupToken, "gitlab-org", nil, "write_repository", botgate.DeveloperAccess},
}

func TestPlanRecoversSeededAutomations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		seed   uint64
		n      int
		format Format
	}{
		{"api_json seed 1", 1, 3000, GitLabAPIJSON},
		{"api_json seed 2", 2, 800, GitLabAPIJSON},
		{"api_json small", 7, MinSampleLines, GitLabAPIJSON},
		{"usage records seed 3", 3, 2000, BotgateUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, tc.seed, tc.n, tc.format)
			if len(p.Clients) != len(seeded) || len(p.Manifest.Automations) != len(seeded) {
				var b bytes.Buffer
				_ = p.WriteReport(&b)
				t.Fatalf("%d clients, %d automations; want %d each:\n%s", len(p.Clients), len(p.Manifest.Automations), len(seeded), b.String())
			}
			for _, want := range seeded {
				t.Run(want.automation, func(t *testing.T) {
					a := p.Manifest.Automation(want.name)
					if a == nil {
						t.Fatalf("no automation %q proposed", want.name)
					}
					if a.EffectiveKind() != want.kind {
						t.Errorf("kind %s, want %s", a.EffectiveKind(), want.kind)
					}
					if got := a.ScopeSet().String(); got != want.scopes {
						t.Errorf("scopes %q, want %q", got, want.scopes)
					}
					if a.Level() != want.level {
						t.Errorf("level %v, want %v", a.Level(), want.level)
					}
					switch want.kind {
					case manifest.KindServiceAccount:
						if got := slices.Sorted(slices.Values(a.Projects)); !slices.Equal(got, want.projects) || len(a.Groups) != 0 {
							t.Errorf("targets %v %v, want projects %v", a.Projects, a.Groups, want.projects)
						}
						if sa := p.Manifest.ServiceAccountByName(a.ServiceAccount); sa == nil || sa.Owner == "" {
							t.Errorf("service account %q not declared with an owner", a.ServiceAccount)
						}
					default:
						if a.Target() != want.target {
							t.Errorf("target %q, want %q", a.Target(), want.target)
						}
					}
					if a.Owner == "" || a.Purpose == "" || a.ExpiresIn != "90d" || a.RateLimit == "" {
						t.Errorf("incomplete: %+v", a)
					}
				})
			}
		})
	}
}

func TestPlanDeterministic(t *testing.T) {
	p := plan(t, 1, 1500, GitLabAPIJSON)
	var m, r, j bytes.Buffer
	if err := p.WriteManifest(&m); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteReport(&r); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	if len(p.SharedTokens) != 1 || p.SharedTokens[0].ID != 9876543 || p.SharedTokens[0].User != "gitlab-bot" || p.SharedTokens[0].Requests != 1500 {
		t.Errorf("shared tokens = %+v", p.SharedTokens)
	}
	golden.Check(t, "seed1.manifest.yaml", m.Bytes())
	golden.Check(t, "seed1.report.txt", r.Bytes())
	golden.Check(t, "seed1.proposal.json", j.Bytes())
	var log1, log2 bytes.Buffer
	_ = GenerateSampleLog(&log1, 1, MinSampleLines)
	_ = GenerateSampleLog(&log2, 1, MinSampleLines)
	if !bytes.Equal(log1.Bytes(), log2.Bytes()) {
		t.Error("the same seed gave different logs")
	}
	golden.Check(t, "seed1.api_json.log", log1.Bytes())
	var log3 bytes.Buffer
	_ = GenerateSampleLog(&log3, 2, MinSampleLines)
	if bytes.Equal(log1.Bytes(), log3.Bytes()) {
		t.Error("different seeds gave the same log")
	}
	// The written manifest parses back to the same automations.
	back, err := manifest.Parse(&m)
	if err != nil {
		t.Fatalf("proposed manifest does not parse:\n%v", err)
	}
	if len(back.Automations) != len(seeded) {
		t.Errorf("%d automations after round trip", len(back.Automations))
	}
}

// TestProposalLintsCleanAndApplies: the proposed manifest passes lint's
// static rules, and planning it against an empty instance creates one
// token per automation and revokes nothing.
func TestProposalLintsCleanAndApplies(t *testing.T) {
	p := plan(t, 5, 1200, GitLabAPIJSON)
	rep := lint.Run(lint.FromManifest(p.Manifest, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)), lint.Config{})
	if len(rep.Findings) != 0 {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Errorf("proposal is not lint clean:\n%s", b.String())
	}
	c := manifest.Plan(p.Manifest, manifest.State{}, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	tokens := 0
	for _, a := range c.Actions {
		switch a.Op {
		case manifest.OpCreateToken:
			tokens++
		case manifest.OpRevokeToken, manifest.OpReplaceToken:
			t.Errorf("unexpected %s", a.Op)
		}
	}
	if tokens != len(seeded) {
		t.Errorf("%d tokens planned, want %d", tokens, len(seeded))
	}
}

func TestPlanOptions(t *testing.T) {
	var b bytes.Buffer
	if err := GenerateSampleLog(&b, 1, 300); err != nil {
		t.Fatal(err)
	}
	reqs, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Plan(reqs, Options{Owner: "gitlab-org/engineering-productivity", ExpiresIn: "30d", Upstream: "https://gitlab.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Manifest.Automations {
		if a.Owner != "gitlab-org/engineering-productivity" || a.ExpiresIn != "30d" || a.Upstream != "https://gitlab.example.com" {
			t.Errorf("options not applied: %+v", a)
		}
	}
	if _, err := Plan(reqs, Options{ExpiresIn: "forever"}); !botgate.IsKind(err, botgate.KindInvalid) {
		t.Errorf("bad expiry accepted: %v", err)
	}
	for _, o := range []Options{{ExpiresIn: "7d"}, {ExpiresIn: "400d"}, {Owner: "not a path"}, {Upstream: "ftp://x"},
		{Upstream: "https://u:glpat-secret@gitlab.example.com"}, {Upstream: "u:glpat-secret@gitlab.example.com"}} {
		_, err := Plan(reqs, o)
		if !botgate.IsKind(err, botgate.KindInvalid) {
			t.Errorf("options %+v accepted: %v", o, err)
		}
		if err != nil && strings.Contains(err.Error(), "glpat-secret") {
			t.Errorf("options %+v: the error shows the credential: %v", o, err)
		}
	}
	if _, err := Plan(nil, Options{}); !botgate.IsKind(err, botgate.KindInvalid) {
		t.Errorf("empty log accepted: %v", err)
	}
}

func TestPlanSplitsAndSkips(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		reqs []Request
		want map[string]string // automation name -> "kind target scopes", "" when skipped
	}{
		{"generic client split by source network", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fx/issues", UserAgent: "curl/8.5.0", RemoteIP: "192.168.1.10", Status: 200},
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fx/issues", UserAgent: "curl/8.5.0", RemoteIP: "192.168.1.11", Status: 200},
			{Time: at, Method: "POST", Path: "/api/v4/projects/b%2Fy/issues", UserAgent: "curl/8.6.0", RemoteIP: "192.168.7.3", Status: 201},
		}, map[string]string{"curl-issues": "project_token a/x read_api", "curl-issues-2": "project_token b/y api"}},
		{"declared client ids keep clients apart", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/groups/a/issues", UserAgent: "python-requests/2.31", RemoteIP: "10.0.0.1", Client: "job-1", Status: 200},
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fx/pipelines", UserAgent: "python-requests/2.31", RemoteIP: "10.0.0.1", Client: "job-2", Status: 200},
		}, map[string]string{"python-requests-issues": "group_token a read_api", "python-requests-pipelines": "project_token a/x read_api"}},
		{"failed calls do not widen", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fx/issues", UserAgent: "tool/1", Status: 200},
			{Time: at, Method: "DELETE", Path: "/api/v4/projects/a%2Fy", UserAgent: "tool/1", Status: 403},
		}, map[string]string{"tool-issues": "project_token a/x read_api"}},
		{"subgroups share the deepest common group", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fb%2Fx/issues", UserAgent: "tool/1", Status: 200},
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fb%2Fc%2Fy/issues", UserAgent: "tool/1", Status: 200},
		}, map[string]string{"tool-issues": "group_token a/b read_api"}},
		{"registry push", []Request{
			{Time: at, Method: "PUT", Path: "/v2/a/x/manifests/latest", UserAgent: "docker/27.0", Project: "a/x", Status: 201},
			{Time: at, Method: "GET", Path: "/v2/a/x/manifests/latest", UserAgent: "docker/27.0", Project: "a/x", Status: 200},
		}, map[string]string{"docker-registry": "project_token a/x write_registry"}},
		{"numeric ids the log does not resolve", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/projects/42/issues", UserAgent: "tool/1", Status: 200},
		}, map[string]string{"tool-issues": ""}},
		{"instance-wide calls only", []Request{
			{Time: at, Method: "GET", Path: "/api/v4/user", UserAgent: "tool/1", Status: 200},
			{Time: at, Method: "GET", Path: "/api/v4/projects/a%2Fx", UserAgent: "other/1", Status: 200},
		}, map[string]string{"tool-user": "", "other-projects": "project_token a/x read_api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.reqs {
				p, g := pathTargets(tt.reqs[i].Path)
				if tt.reqs[i].Project == "" {
					tt.reqs[i].Project, tt.reqs[i].Group = p, g
				}
			}
			p, err := Plan(tt.reqs, Options{Owner: "a"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, c := range p.Clients {
				if c.Skipped != "" {
					got[c.Name] = ""
					if c.Unresolved > 0 && !strings.Contains(c.Skipped, "numeric IDs") {
						t.Errorf("skip reason %q does not name the unresolved IDs", c.Skipped)
					}
					continue
				}
				target := c.Target
				got[c.Name] = string(c.Kind) + " " + target + " " + c.Scopes.String()
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("clients %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	const secret = "glpat-ZZZZZZZZZZZZZZZZZZZZ"
	tests := []struct {
		name    string
		in      string
		wantErr string
		check   func(t *testing.T, r []Request)
	}{
		{"api_json with caller id and params", `{"time":"2026-11-16T10:00:00.000Z","method":"GET","path":"/gitlab-org/gitlab.git/info/refs","params":[{"key":"service","value":"git-receive-pack"}],"status":200,"ua":"git/2.45","remote_ip":"10.0.0.1","meta.project":"gitlab-org/gitlab"}` + "\n\n" +
			`{"time":"2026-11-16T10:00:01Z","path":"/api/v4/groups/9970/issues","meta.caller_id":"GET /api/:version/groups/:id/issues","status":"200","user_agent":"x/1","meta.remote_ip":"10.0.0.2","meta.root_namespace":"gitlab-org"}`, "",
			func(t *testing.T, r []Request) {
				if len(r) != 2 {
					t.Fatalf("%d requests", len(r))
				}
				if r[0].Project != "gitlab-org/gitlab" || r[0].Query != "service=git-receive-pack" || classify(&r[0]).scope != botgate.ScopeWriteRepository {
					t.Errorf("git line: %+v", r[0])
				}
				if r[1].Method != "GET" || r[1].Route != "/api/:version/groups/:id/issues" || r[1].Status != 200 || r[1].Group != "gitlab-org" || r[1].RemoteIP != "10.0.0.2" || r[1].Line != 3 {
					t.Errorf("caller id line: %+v", r[1])
				}
			}},
		{"usage record", `{"time":"2026-11-16T10:00:00Z","token_id":4,"method":"POST","path":"/api/v4/projects/1/issues","status":201,"user_agent":"u/1","remote_ip":"::1","project":"a/b","scope":"api","client":"job-7"}`, "",
			func(t *testing.T, r []Request) {
				if r[0].Project != "a/b" || r[0].Scope != botgate.ScopeAPI || r[0].Client != "job-7" {
					t.Errorf("%+v", r[0])
				}
			}},
		{"malformed line names its number, not its content", `{"time":"2026-11-16T10:00:00Z","method":"GET","path":"/a","status":200}` + "\n" + `{"private_token":"` + secret + `",`, "line 2: not a JSON object", nil},
		{"bad time", `{"time":"yesterday","method":"GET","path":"/a"}`, `line 1: time "yesterday"`, nil},
		{"missing path", `{"time":"2026-11-16T10:00:00Z","method":"GET"}`, "line 1: method and path are required", nil},
		{"bad status", `{"time":"2026-11-16T10:00:00Z","method":"GET","path":"/a","status":"ok"}`, "status ok is not a number", nil},
		{"unknown scope", `{"time":"2026-11-16T10:00:00Z","method":"GET","path":"/a","scope":"root"}`, `scope "root" is not a known scope`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Read(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !botgate.IsKind(err, botgate.KindInvalid) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Error("error echoes log content")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestReadGzip(t *testing.T) {
	var plain, packed bytes.Buffer
	if err := GenerateSampleLog(&plain, 9, 300); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&packed)
	if _, err := zw.Write(plain.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := Read(bytes.NewReader(plain.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read(&packed)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 300 || !reflect.DeepEqual(a, b) {
		t.Errorf("gzip read %d requests, plain %d, equal %v", len(b), len(a), reflect.DeepEqual(a, b))
	}
	if _, err := Read(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); !botgate.IsKind(err, botgate.KindInvalid) {
		t.Errorf("broken gzip: %v", err)
	}
}

func TestGenerateRejectsTinyLogs(t *testing.T) {
	var b bytes.Buffer
	if err := GenerateSampleLog(&b, 1, MinSampleLines-1); !botgate.IsKind(err, botgate.KindInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestNormalizeRoute(t *testing.T) {
	for _, tt := range []struct{ path, route, want string }{
		{"/api/v4/projects/12/merge_requests/34/notes", "", "/projects/:id/merge_requests/:iid/notes"},
		{"/api/v4/projects/a%2Fb/pipelines/99/jobs", "", "/projects/:id/pipelines/:pipeline_id/jobs"},
		{"/api/v4/groups/g/issues", "", "/groups/:id/issues"},
		{"/x", "/api/:version/projects/:id/issues", "/projects/:id/issues"},
		{"/a/b.git/info/refs", "", "/:namespace/:project.git/info/refs"},
		{"0", "", "0"},
		{"", "", "/"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := normalizeRoute(&Request{Path: tt.path, Route: tt.route}); got != tt.want {
				t.Errorf("normalizeRoute(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		method, path, route string
		scope               botgate.Scope
		level               botgate.AccessLevel
		resource            string
	}{
		{"GET", "/api/v4/projects/1/merge_requests/2", "/api/:version/projects/:id/merge_requests/:merge_request_iid", botgate.ScopeReadAPI, botgate.ReporterAccess, "merge_requests"},
		{"POST", "/api/v4/projects/1/merge_requests/2/notes", "", botgate.ScopeAPI, botgate.ReporterAccess, "merge_requests"},
		{"PUT", "/api/v4/projects/1/issues/2", "", botgate.ScopeAPI, botgate.ReporterAccess, "issues"},
		{"POST", "/api/v4/projects/1/releases", "", botgate.ScopeAPI, botgate.DeveloperAccess, "releases"},
		{"POST", "/api/v4/projects/1/repository/tags", "", botgate.ScopeAPI, botgate.DeveloperAccess, "tags"},
		{"POST", "/a/b.git/git-upload-pack", "", botgate.ScopeReadRepository, botgate.ReporterAccess, "git"},
		{"POST", "/a/b.git/git-receive-pack", "", botgate.ScopeWriteRepository, botgate.DeveloperAccess, "git"},
		{"GET", "/v2/a/b/manifests/1", "", botgate.ScopeReadRegistry, botgate.ReporterAccess, "registry"},
		{"GET", "/api/v4/user", "", botgate.ScopeReadAPI, botgate.ReporterAccess, "user"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			c := classify(&Request{Method: tt.method, Path: tt.path, Route: tt.route})
			if c.scope != tt.scope || c.level != tt.level || c.resource != tt.resource {
				t.Errorf("got %s %v %s, want %s %v %s", c.scope, c.level, c.resource, tt.scope, tt.level, tt.resource)
			}
		})
	}
}

// TestTokenUsageFeedsLint: the shared bot's log, folded per token, makes
// lint report the reuse that migration fixes.
func TestTokenUsageFeedsLint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		format  Format
		tokenID int64
	}{
		{"api_json", GitLabAPIJSON, 9876543},
		{"usage records", BotgateUsage, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := GenerateSample(&b, 4, 900, tc.format); err != nil {
				t.Fatal(err)
			}
			reqs, err := Read(&b)
			if err != nil {
				t.Fatal(err)
			}
			usage := TokenUsage(reqs)
			u, ok := usage[tc.tokenID]
			if !ok || len(usage) != 1 {
				t.Fatalf("usage for tokens %v", slices.Collect(maps.Keys(usage)))
			}
			if u.Calls() == 0 || u.Calls() > len(reqs) || !u.Until.After(u.Since) {
				t.Errorf("usage %d calls from %v to %v", u.Calls(), u.Since, u.Until)
			}
			at := u.Until.Add(time.Hour)
			snap := &lint.Snapshot{At: at, Tokens: []lint.Token{{ID: tc.tokenID, Name: "gitlab-bot", Kind: botgate.PersonalToken,
				Scopes: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeWriteRepository, botgate.ScopeReadRegistry}, CreatedAt: at.AddDate(-1, 0, 0), LastUsedAt: &u.Until, Usage: u}}}
			rep := lint.Run(snap, lint.Config{})
			found := map[string]string{}
			for _, f := range rep.Findings {
				found[f.RuleID] = f.Message
			}
			if !strings.Contains(found["BG001"], "5 different clients (danger-js, gitlab-ruby-gem, gitlab-triage, go-http-client, python-gitlab)") {
				t.Errorf("BG001 = %q", found["BG001"])
			}
			if !strings.Contains(found["BG004"], "only needed api write_repository") {
				t.Errorf("BG004 = %q", found["BG004"])
			}
		})
	}
}
