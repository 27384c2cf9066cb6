package lint

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/golden"
	"github.com/botgate/botgate/manifest"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func days(n int) time.Time { return now.AddDate(0, 0, n) }

func TestExampleLintsClean(t *testing.T) {
	m, err := manifest.ParseFile("../examples/automations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := FromManifest(m, now)
	if len(s.Automations) != len(m.Automations) || len(s.ServiceAccounts) != len(m.ServiceAccounts) || s.Policy.MaxRateLimit.IsZero() {
		t.Fatalf("snapshot incomplete: %+v", s)
	}
	rep := Run(s, Config{})
	if len(rep.Findings) != 0 {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Errorf("example is not lint clean:\n%s", b.String())
	}
	if code := ExitCode(rep, SeverityNote); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// readUsage is usage that only ever read.
func readUsage(ua ...string) *Usage {
	u := &Usage{Since: days(-30), Until: now}
	for _, a := range ua {
		u.Clients = append(u.Clients, Client{UserAgent: a, IP: "10.0.0.1", Calls: 10})
	}
	u.Routes = []RouteUse{{Method: "GET", Route: "/api/v4/projects/:id/pipelines", Project: "org/app", Needed: botgate.ScopeReadAPI, Calls: 120}}
	return u
}

func TestRules(t *testing.T) {
	bot := func(id int64, name string, scopes ...botgate.Scope) Token {
		return Token{ID: id, Name: name, Automation: name, Kind: botgate.ProjectAccessToken, Scopes: scopes, CreatedAt: days(-10), LastUsedAt: ptr(days(-1))}
	}
	tests := []struct {
		name string
		rule string
		snap Snapshot
		// want is the subjects (FullName) expected; message fragments in msg.
		want []string
		msg  string
	}{
		{"reuse: two client families", "BG001", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(1, "shared")
				t.Usage = readUsage("danger-js/11.3.1", "gitlab-triage/1.44.0")
				return t
			}(),
		}}, []string{"token/1"}, "2 different clients (danger-js, gitlab-triage)"},
		{"reuse: one family, versions and IPs differ", "BG001", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(1, "danger")
				t.Usage = readUsage("danger-js/11.3.1", "danger-js/12.0.0 (linux)")
				t.Usage.Clients[1].IP = "10.9.9.9"
				return t
			}(),
		}}, nil, ""},
		{"reuse: revoked token ignored", "BG001", Snapshot{Tokens: []Token{
			func() Token { t := bot(1, "x"); t.Revoked = true; t.Usage = readUsage("a/1", "b/1"); return t }(),
		}}, nil, ""},
		{"personal token runs an automation", "BG002", Snapshot{
			Users: []User{{ID: 7, Username: "alice", Kind: botgate.HumanUser}},
			Tokens: []Token{
				{ID: 2, Name: "laptop", Kind: botgate.PersonalToken, UserID: 7, Username: "alice", Automation: "nightly-sync", CreatedAt: days(-3)},
				{ID: 3, Name: "cli", Kind: botgate.PersonalToken, UserID: 7, Username: "alice", CreatedAt: days(-3)},
			}}, []string{"token/2"}, "automation nightly-sync runs on token #2 (laptop), a personal access token of alice"},
		{"personal token claimed by a declared automation", "BG002", Snapshot{
			Tokens:      []Token{{ID: 4, Name: "ci", Kind: botgate.PersonalToken, Username: "bob", CreatedAt: days(-3)}},
			Automations: []Automation{{Name: "release", Owner: "org", TokenIDs: []int64{4}}}}, []string{"token/4"}, "automation release"},
		{"service account's own token is fine", "BG002", Snapshot{
			Users:  []User{{ID: 8, Username: "sa", Kind: botgate.ServiceAccount}},
			Tokens: []Token{{ID: 5, Name: "sa", Kind: botgate.PersonalToken, UserID: 8, Automation: "x", CreatedAt: days(-3)}}}, nil, ""},
		{"shared: two automations declare one token", "BG003", Snapshot{
			Tokens:      []Token{bot(6, "a")},
			Automations: []Automation{{Name: "a", Owner: "o", TokenIDs: []int64{6}}, {Name: "b", Owner: "o", TokenIDs: []int64{6}}}},
			[]string{"token/6"}, "serves 2 automations (a, b)"},
		{"shared: callers declare two automations", "BG003", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(7, "bot")
				t.Usage = readUsage("x/1")
				t.Usage.Automations = []string{"bot", "other"}
				return t
			}(),
		}}, []string{"token/7"}, "(bot, other)"},
		{"scopes: api but only reads", "BG004", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(8, "poller", botgate.ScopeAPI)
				t.Usage = readUsage("python-gitlab/4.4.0")
				return t
			}(),
		}}, []string{"token/8"}, "only needed read_api: set `scopes: [read_api]`"},
		{"scopes: write use keeps api", "BG004", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(9, "writer", botgate.ScopeAPI)
				t.Usage = readUsage("python-gitlab/4.4.0")
				t.Usage.Routes = append(t.Usage.Routes, RouteUse{Method: "POST", Route: "/api/v4/projects/:id/issues", Needed: botgate.ScopeAPI, Calls: 1})
				return t
			}(),
		}}, nil, ""},
		{"scopes: unused repository scope dropped", "BG004", Snapshot{Tokens: []Token{
			func() Token {
				t := bot(10, "mirror", botgate.ScopeWriteRepository, botgate.ScopeReadAPI)
				t.Usage = &Usage{Since: days(-7), Until: now, Routes: []RouteUse{{Method: "GET", Route: "git-upload-pack", Needed: botgate.ScopeReadRepository, Calls: 50}}}
				return t
			}(),
		}}, []string{"token/10"}, "only needed read_repository"},
		{"scopes: no usage, no verdict", "BG004", Snapshot{Tokens: []Token{bot(11, "idle", botgate.ScopeAPI)}}, nil, ""},
		{"owner missing", "BG005", Snapshot{
			Automations:     []Automation{{Name: "orphan"}, {Name: "owned", Owner: "org"}},
			ServiceAccounts: []ServiceAccount{{Name: "lonely-bot"}, {Name: "ok-bot", Owner: "org"}}},
			[]string{"automation/orphan", "service_account/lonely-bot"}, "no owning team"},
		{"temporary without expiry", "BG006", Snapshot{
			Automations: []Automation{{Name: "migration", Owner: "o", Temporary: true}, {Name: "spike", Owner: "o", Temporary: true, ExpiresInDays: 30}, {Name: "perm", Owner: "o"}},
			Tokens:      []Token{bot(12, "spike"), bot(13, "perm")}},
			[]string{"automation/migration", "token/12"}, "temporary"},
		{"unused tokens", "BG007", Snapshot{Tokens: []Token{
			{ID: 14, Name: "stale", Kind: botgate.GroupAccessToken, CreatedAt: days(-100), LastUsedAt: ptr(days(-40))},
			{ID: 15, Name: "never", Kind: botgate.GroupAccessToken, CreatedAt: days(-31)},
			{ID: 16, Name: "fresh", Kind: botgate.GroupAccessToken, CreatedAt: days(-100), LastUsedAt: ptr(days(-10))},
			{ID: 17, Name: "new", Kind: botgate.GroupAccessToken, CreatedAt: days(-2)},
			{ID: 18, Name: "gone", Kind: botgate.GroupAccessToken, CreatedAt: days(-100), Revoked: true},
		}}, []string{"token/14", "token/15"}, "revoke it if nothing needs it"},
		{"expiring tokens", "BG008", Snapshot{Tokens: []Token{
			{ID: 19, Name: "soon", Automation: "soon", CreatedAt: days(-80), LastUsedAt: ptr(now), ExpiresAt: ptr(days(5))},
			{ID: 20, Name: "later", Automation: "later", CreatedAt: days(-80), LastUsedAt: ptr(now), ExpiresAt: ptr(days(20))},
			{ID: 21, Name: "expired", Automation: "expired", CreatedAt: days(-80), LastUsedAt: ptr(now), ExpiresAt: ptr(days(-1))},
		}}, []string{"token/19"}, "expires on 2026-11-29 (in 5 days)"},
		{"service account on one project", "BG009", Snapshot{ServiceAccounts: []ServiceAccount{
			{Name: "one-bot", Owner: "o", Projects: []string{"org/app"}},
			{Name: "two-bot", Owner: "o", Projects: []string{"org/app", "org/web"}},
			{Name: "mixed-bot", Owner: "o", Projects: []string{"org/app"}, Groups: []string{"org"}},
		}}, []string{"service_account/one-bot"}, "a project access token would do"},
		{"rate limit above policy", "BG010", Snapshot{
			Policy: Policy{MaxRateLimit: botgate.Limit{Rate: 2000, Period: time.Minute}},
			Automations: []Automation{
				{Name: "greedy", Owner: "o", RateLimit: botgate.Limit{Rate: 50, Period: time.Second}},
				{Name: "modest", Owner: "o", RateLimit: botgate.Limit{Rate: 1800, Period: time.Minute}},
				{Name: "default", Owner: "o"},
			}}, []string{"automation/greedy"}, "allowed 50/s, above the policy maximum of 2000/min"},
		{"rate limit without policy", "BG010", Snapshot{Automations: []Automation{{Name: "greedy", Owner: "o", RateLimit: botgate.Limit{Rate: 50, Period: time.Second}}}}, nil, ""},
		{"secret readers", "BG011", Snapshot{Secrets: []Secret{
			{Name: "gitlab-admin", Readers: []string{"a", "b", "c", "d", "e", "f"}},
			{Name: "ok", Readers: []string{"a", "b", "c", "d", "e", "e", "e"}},
		}}, []string{"secret/gitlab-admin"}, "readable by 6 identities (at most 5 allowed)"},
		{"group token used on one project", "BG013", Snapshot{Tokens: []Token{
			{ID: 30, Name: "narrow", Kind: botgate.GroupAccessToken, Automation: "narrow", CreatedAt: days(-40), LastUsedAt: ptr(now),
				Usage: &Usage{Since: days(-30), Until: now, Routes: []RouteUse{
					{Method: "GET", Route: "/projects/:id/issues", Project: "org/app", Needed: botgate.ScopeReadAPI, Calls: 30},
					{Method: "PUT", Route: "/projects/:id/issues/:iid", Project: "org/app", Needed: botgate.ScopeAPI, Calls: 3}}}},
			{ID: 31, Name: "wide", Kind: botgate.GroupAccessToken, Automation: "wide", CreatedAt: days(-40), LastUsedAt: ptr(now),
				Usage: &Usage{Since: days(-30), Until: now, Routes: []RouteUse{
					{Method: "GET", Route: "/projects/:id/issues", Project: "org/app", Needed: botgate.ScopeReadAPI, Calls: 30},
					{Method: "GET", Route: "/projects/:id/issues", Project: "org/web", Needed: botgate.ScopeReadAPI, Calls: 3}}}},
			{ID: 32, Name: "grouplevel", Kind: botgate.GroupAccessToken, Automation: "grouplevel", CreatedAt: days(-40), LastUsedAt: ptr(now),
				Usage: &Usage{Since: days(-30), Until: now, Routes: []RouteUse{
					{Method: "GET", Route: "/projects/:id/issues", Project: "org/app", Needed: botgate.ScopeReadAPI, Calls: 30},
					{Method: "GET", Route: "/groups/:id/issues", Group: "org", Needed: botgate.ScopeReadAPI, Calls: 3}}}},
		}}, []string{"token/30"}, "only touched project org/app"},
		{"broad trust: any project", "BG014", Snapshot{Automations: []Automation{
			{Name: "anyproject", Owner: "o", Trust: []botgate.TrustPolicy{{Issuer: "https://gitlab.example.com", Audience: "b",
				Claims: map[string]string{"ref": "main", "ref_protected": "true", "project_path": "*"}}}},
			{Name: "pinned", Owner: "o", Trust: []botgate.TrustPolicy{{Issuer: "https://gitlab.example.com", Audience: "b",
				Claims: map[string]string{"ref": "main", "ref_protected": "true", "project_path": "org/app"}}}},
			{Name: "pod", Owner: "o", Trust: []botgate.TrustPolicy{{Issuer: "https://kubernetes.default.svc", Audience: "b",
				Claims: map[string]string{"sub": "system:serviceaccount:triage:bot"}}}},
		}}, []string{"automation/anyproject"}, "admits jobs of any project"},
		{"broad trust: any ref", "BG014", Snapshot{Automations: []Automation{
			{Name: "anyref", Owner: "o", Trust: []botgate.TrustPolicy{{Issuer: "https://gitlab.example.com", Audience: "b",
				Claims: map[string]string{"project_path": "org/app"}}}},
		}}, []string{"automation/anyref"}, "any branch or tag (no ref condition)"},
		{"shadow refusals: rate limit and loop summed", "BG015", Snapshot{ShadowRefusals: []ShadowRefusal{
			{Automation: "poller", TokenID: 7, Reason: "rate_limit", Count: 40, Since: days(-1)},
			{Automation: "poller", TokenID: 7, Reason: "rate_limit", Count: 2, Since: now},
			{Automation: "poller", TokenID: 7, Reason: "loop", Count: 3, Since: now},
		}}, []string{"automation/poller"}, "would have been refused 45 times in the last 24 hours (42 by its rate limit, 3 by the loop breaker)"},
		{"shadow refusals: loop only says fix the loop", "BG015", Snapshot{ShadowRefusals: []ShadowRefusal{
			{Automation: "looper", TokenID: 8, Reason: "loop", Count: 9, Since: now},
		}}, []string{"automation/looper"}, "fix the runaway loop that repeats the same request before setting `enforcement: enforce`"},
		{"shadow refusals: a token without automation", "BG015", Snapshot{ShadowRefusals: []ShadowRefusal{
			{TokenID: 12, Reason: "rate_limit", Count: 5, Since: now},
		}}, []string{"token/12"}, "token #12 would have been refused 5 times"},
		{"bot token without automation", "BG012", Snapshot{
			Tokens: []Token{
				{ID: 22, Name: "manual", Kind: botgate.GroupAccessToken, CreatedAt: days(-1)},
				{ID: 23, Name: "claimed", Kind: botgate.GroupAccessToken, CreatedAt: days(-1)},
				{ID: 24, Name: "mine", Kind: botgate.PersonalToken, CreatedAt: days(-1)},
			},
			Automations: []Automation{{Name: "c", Owner: "o", TokenIDs: []int64{23}}}},
			[]string{"token/22"}, "does not name the automation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.snap.At = now
			rep := Run(&tt.snap, Config{})
			var got []string
			for _, f := range rep.Findings {
				if f.RuleID != tt.rule {
					continue
				}
				got = append(got, f.Subject.FullName())
				if !strings.Contains(f.Message, tt.msg) {
					t.Errorf("message %q does not contain %q", f.Message, tt.msg)
				}
				if f.Severity == "" || f.Rule == "" {
					t.Errorf("finding without severity or rule name: %+v", f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s findings on %v, want %v", tt.rule, got, tt.want)
			}
		})
	}
}

func TestClientFamily(t *testing.T) {
	for _, tt := range []struct{ ua, want string }{
		{"danger-js/11.3.1", "danger-js"},
		{"python-gitlab/4.4.0", "python-gitlab"},
		{"Go-http-client/1.1", "go-http-client"},
		{"Gitlab Ruby Gem 4.19.0", "gitlab-ruby-gem"},
		{"gitlab-triage/1.44.0 (ruby 3.3)", "gitlab-triage"},
		{"Mozilla/5.0 (X11; Linux x86_64)", "browser"},
		{"curl", "curl"},
		{"", "unknown"},
	} {
		t.Run(tt.ua, func(t *testing.T) {
			if got := ClientFamily(tt.ua); got != tt.want {
				t.Errorf("ClientFamily(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

func TestLeastScopes(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"read_api", "read_api"},
		{"read_api api", "api"},
		{"read_repository write_repository read_api", "read_api write_repository"},
		{"read_registry write_registry", "write_registry"},
		{"", ""},
	} {
		t.Run(tt.in, func(t *testing.T) {
			var in botgate.Scopes
			for _, s := range strings.Fields(tt.in) {
				in = append(in, botgate.Scope(s))
			}
			if got := LeastScopes(in).String(); got != tt.want {
				t.Errorf("LeastScopes(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	s := &Snapshot{At: now, Tokens: []Token{{ID: 1, Name: "t", Kind: botgate.GroupAccessToken, CreatedAt: days(-100), LastUsedAt: ptr(days(-20)), ExpiresAt: ptr(days(25))}}}
	for _, tt := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"tighter thresholds", Config{UnusedDays: 15, ExpiringDays: 30}, []string{"BG007", "BG008"}},
		{"disabled", Config{UnusedDays: 15, ExpiringDays: 30, Disabled: []string{"BG007"}}, []string{"BG008"}},
		{"severity raised", Config{UnusedDays: 15, ExpiringDays: 30, Severity: map[string]Severity{"BG008": SeverityError}}, []string{"BG008:error", "BG007"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Run(s, tt.cfg).Findings {
				switch {
				case f.RuleID == "BG012":
				case f.Severity != Rules()[ruleIndex(f.RuleID)].Severity:
					got = append(got, f.RuleID+":"+string(f.Severity))
				default:
					got = append(got, f.RuleID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	rep := func(sev ...Severity) *Report {
		r := &Report{}
		for _, s := range sev {
			r.Findings = append(r.Findings, Finding{Severity: s})
		}
		return r
	}
	for _, tt := range []struct {
		name   string
		r      *Report
		failOn Severity
		want   int
	}{
		{"clean", rep(), SeverityNote, 0},
		{"warnings, default", rep(SeverityWarning), "", 0},
		{"warnings, fail on warning", rep(SeverityWarning, SeverityNote), SeverityWarning, 1},
		{"notes, fail on warning", rep(SeverityNote), SeverityWarning, 0},
		{"notes, fail on note", rep(SeverityNote), SeverityNote, 1},
		{"error, default", rep(SeverityNote, SeverityError), "", 1},
		{"error with fail on note", rep(SeverityError), SeverityNote, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.r, tt.failOn); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRuleIDsStable(t *testing.T) {
	rules := Rules()
	seen := map[string]bool{}
	for i, r := range rules {
		if want := "BG0" + string(rune('0'+(i+1)/10)) + string(rune('0'+(i+1)%10)); r.ID != want {
			t.Errorf("rule %d has ID %s, want %s (IDs are stable and in order)", i, r.ID, want)
		}
		if seen[r.Name] || r.Summary == "" || r.Help == "" || r.check == nil {
			t.Errorf("rule %s incomplete or duplicate name", r.ID)
		}
		seen[r.Name] = true
	}
}

// sharedBotSnapshot is the example manifest plus a live world with the
// classic mistakes: a shared bot token used by three clients, a person's
// token running a job, an over-scoped poller, stale and expiring tokens.
func sharedBotSnapshot(t *testing.T) *Snapshot {
	m, err := manifest.ParseFile("../examples/automations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := FromManifest(m, now)
	s.Source = "examples/automations.yaml"
	for i := range s.Automations {
		if s.Automations[i].Position != nil {
			s.Automations[i].Position.File = "examples/automations.yaml"
		}
	}
	shared := &Usage{Since: days(-30), Until: now,
		Clients: []Client{
			{UserAgent: "danger-js/11.3.1", IP: "10.1.0.5", Calls: 900},
			{UserAgent: "gitlab-triage/1.44.0", IP: "10.1.0.9", Calls: 4000},
			{UserAgent: "python-gitlab/4.4.0", IP: "10.2.0.3", Calls: 12000},
		},
		Routes: []RouteUse{
			{Method: "GET", Route: "/api/v4/projects/:id/merge_requests/:iid", Needed: botgate.ScopeReadAPI, Calls: 900},
			{Method: "POST", Route: "/api/v4/projects/:id/merge_requests/:iid/notes", Needed: botgate.ScopeAPI, Calls: 300},
			{Method: "PUT", Route: "/api/v4/projects/:id/issues/:iid", Needed: botgate.ScopeAPI, Calls: 3700},
		}}
	poll := &Usage{Since: days(-30), Until: now, Clients: []Client{{UserAgent: "python-gitlab/4.4.0", IP: "10.2.0.3", Calls: 50000}},
		Routes: []RouteUse{{Method: "GET", Route: "/api/v4/projects/:id/pipelines", Needed: botgate.ScopeReadAPI, Calls: 50000}}}
	s.Users = []User{{ID: 3, Username: "alice", Kind: botgate.HumanUser}, {ID: 40, Username: "gitlab-bot", Kind: botgate.HumanUser}}
	s.Tokens = []Token{
		{ID: 11, Name: "gitlab-bot api", Kind: botgate.PersonalToken, UserID: 40, Username: "gitlab-bot", Scopes: botgate.Scopes{botgate.ScopeAPI},
			CreatedAt: days(-400), LastUsedAt: ptr(now), Usage: shared},
		{ID: 12, Name: "pipeline-poller", Automation: "pipeline-poller", Kind: botgate.ServiceAccountToken, Username: "pipeline-bot",
			Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: days(-80), LastUsedAt: ptr(now), ExpiresAt: ptr(days(10)), Usage: poll},
		{ID: 13, Name: "old-export", Kind: botgate.ProjectAccessToken, Scopes: botgate.Scopes{botgate.ScopeReadAPI},
			CreatedAt: days(-200), LastUsedAt: ptr(days(-120))},
	}
	shared.Automations = []string{"danger-review", "scheduled-triage"}
	s.Secrets = []Secret{{Name: "gitlab-upstream-admin", Owner: "gitlab-org", Readers: []string{"alice", "bob", "carol", "dave", "erin", "danger-review", "scheduled-triage"}}}
	s.Automations = append(s.Automations, Automation{Name: "hotfix-sync", Temporary: true, RateLimit: botgate.Limit{Rate: 5000, Period: time.Minute}})
	return s
}

func TestGoldenOutputs(t *testing.T) {
	rep := Run(sharedBotSnapshot(t), Config{})
	for _, tt := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"shared_bot.txt", func(b *bytes.Buffer) error { return rep.WriteText(b) }},
		{"shared_bot.json", func(b *bytes.Buffer) error { return rep.WriteJSON(b) }},
		{"shared_bot.sarif", func(b *bytes.Buffer) error { return rep.WriteSARIF(b) }},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.file, b.Bytes())
		})
	}
	if ExitCode(rep, SeverityError) != 1 {
		t.Errorf("exit code %d, want 1", ExitCode(rep, SeverityError))
	}
	// Every rule that the snapshot was built to trip did trip.
	fired := map[string]bool{}
	for _, f := range rep.Findings {
		fired[f.RuleID] = true
	}
	for _, id := range []string{"BG001", "BG002", "BG003", "BG004", "BG005", "BG006", "BG007", "BG008", "BG010", "BG011", "BG012"} {
		if !fired[id] {
			t.Errorf("%s did not fire", id)
		}
	}
}

// TestSARIFStructure checks the SARIF log against the parts of the 2.1.0
// schema consumers rely on.
func TestSARIFStructure(t *testing.T) {
	rep := Run(sharedBotSnapshot(t), Config{})
	var b bytes.Buffer
	if err := rep.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
					LogicalLocations []struct {
						FullyQualifiedName string `json:"fullyQualifiedName"`
						Kind               string `json:"kind"`
					} `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	dec := json.NewDecoder(&b)
	if err := dec.Decode(&log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-schema-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("header: %q %q runs=%d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) != len(Rules()) {
		t.Errorf("driver: %q with %d rules", run.Tool.Driver.Name, len(run.Tool.Driver.Rules))
	}
	levels := []string{"error", "warning", "note", "none"}
	for _, r := range run.Tool.Driver.Rules {
		if r.ShortDescription.Text == "" || !slices.Contains(levels, r.DefaultConfiguration.Level) {
			t.Errorf("rule %s incomplete", r.ID)
		}
	}
	if len(run.Results) != len(rep.Findings) || len(run.Results) == 0 {
		t.Fatalf("%d results for %d findings", len(run.Results), len(rep.Findings))
	}
	physical := 0
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", r.RuleIndex, r.RuleID)
		}
		if !slices.Contains(levels, r.Level) || r.Message.Text == "" || len(r.Locations) != 1 {
			t.Errorf("result %s incomplete", r.RuleID)
			continue
		}
		loc := r.Locations[0]
		if len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].FullyQualifiedName == "" || loc.LogicalLocations[0].Kind == "" {
			t.Errorf("result %s without logical location", r.RuleID)
		}
		if loc.PhysicalLocation != nil {
			physical++
			if loc.PhysicalLocation.ArtifactLocation.URI != "examples/automations.yaml" || loc.PhysicalLocation.Region.StartLine == 0 {
				t.Errorf("physical location %+v", loc.PhysicalLocation)
			}
		}
	}
	if physical != len(run.Results) {
		t.Errorf("%d of %d results point into the manifest; a run over a manifest must locate every result in a file", physical, len(run.Results))
	}
}

func TestTokenFromStore(t *testing.T) {
	tok := &botgate.Token{ID: 5, UserID: 9, Kind: botgate.PersonalToken, Name: "bot", Scopes: botgate.Scopes{botgate.ScopeAPI},
		CreatedAt: days(-60), LastUsedAt: ptr(days(-1)), Digest: []byte("secret-digest"),
		UserAgents: []string{"danger-js/11.3.1", "gitlab-triage/1.44.0"}, Automation: "danger"}
	routes := []botgate.RouteUsage{
		{TokenID: 5, Method: "GET", Route: "/api/v4/projects/:id/merge_requests", Scope: botgate.ScopeReadAPI, Count: 40, FirstSeen: days(-20), LastSeen: days(-1)},
		{TokenID: 5, Method: "GET", Route: "/api/v4/projects/:id/issues", Scope: botgate.ScopeReadAPI, Count: 4, FirstSeen: days(-25), LastSeen: days(-3)},
		{TokenID: 6, Method: "POST", Route: "/api/v4/projects/:id/issues", Scope: botgate.ScopeAPI, Count: 1, FirstSeen: days(-2), LastSeen: days(-2)},
	}
	lt := TokenFromStore(tok, &botgate.User{ID: 9, Username: "gitlab-bot", Kind: botgate.HumanUser}, routes)
	if lt.Username != "gitlab-bot" || lt.Usage == nil || lt.Usage.Calls() != 44 || !lt.Usage.Since.Equal(days(-25)) || !lt.Usage.Until.Equal(days(-1)) {
		t.Fatalf("converted: %+v usage %+v", lt, lt.Usage)
	}
	rep := Run(&Snapshot{At: now, Users: []User{UserFromStore(&botgate.User{ID: 9, Username: "gitlab-bot", Kind: botgate.HumanUser})}, Tokens: []Token{lt}}, Config{})
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, f.RuleID)
	}
	if want := []string{"BG001", "BG002", "BG004"}; !slices.Equal(ids, want) {
		t.Errorf("rules %v, want %v", ids, want)
	}
}

// TestSnapshotJSON: a snapshot written as JSON (say by `botgate lint
// --snapshot`) reads back to the same findings.
func TestSnapshotJSON(t *testing.T) {
	s := sharedBotSnapshot(t)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := Run(s, Config{}).WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := Run(&back, Config{}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("findings differ after a JSON round trip:\n%s\n---\n%s", a.String(), b.String())
	}
}

func ruleIndex(id string) int {
	return slices.IndexFunc(Rules(), func(r Rule) bool { return r.ID == id })
}
