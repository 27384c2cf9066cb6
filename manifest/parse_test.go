package manifest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

func TestParseExample(t *testing.T) {
	m, err := ParseFile("../examples/automations.yaml")
	if err != nil {
		t.Fatalf("example does not parse:\n%v", err)
	}
	want := map[string]Kind{
		"danger-review":        KindGroupToken,
		"scheduled-triage":     KindServiceAccount,
		"realtime-triage":      KindGroupToken,
		"pipeline-poller":      KindServiceAccount,
		"async-retrospectives": KindServiceAccount,
		"runner-releases":      KindServiceAccount,
		"security-mirror":      KindServiceAccount,
	}
	if len(m.Automations) != len(want) {
		t.Errorf("got %d automations, want %d", len(m.Automations), len(want))
	}
	for name, kind := range want {
		t.Run(name, func(t *testing.T) {
			a := m.Automation(name)
			if a == nil {
				t.Fatalf("automation %q missing", name)
			}
			if a.EffectiveKind() != kind {
				t.Errorf("kind = %s, want %s", a.EffectiveKind(), kind)
			}
			if a.Owner == "" || len(a.ScopeSet()) == 0 || a.Level() == 0 || a.Lifetime() == 0 {
				t.Errorf("incomplete automation: %+v", a)
			}
			if pos, ok := m.AutomationPosition(name); !ok || pos.Line == 0 || pos.File != "../examples/automations.yaml" {
				t.Errorf("position = %v, %v", pos, ok)
			}
		})
	}
	for _, sa := range []string{"triage-bot", "release-bot", "pipeline-bot", "mirror-bot", "tooling-bot"} {
		s := m.ServiceAccountByName(sa)
		if s == nil || s.Owner == "" {
			t.Errorf("service account %q missing or without owner: %+v", sa, s)
		}
	}
	if got := m.Automation("pipeline-poller").ScopeSet(); got.String() != "read_api" {
		t.Errorf("pipeline-poller scopes = %s, want read_api only", got)
	}
}

const validBase = `version: 1
teams:
  - path: org
  - path: tools
    parent: org
projects:
  - path: app
    group: org
  - path: web
    group: org
service_accounts:
  - name: poll-bot
    owner: org/tools
automations:
  - name: poller
    purpose: Polls pipelines.
    owner: org/tools
    kind: service_account
    service_account: poll-bot
    projects: [org/app, org/web]
    scopes: [read_api]
    access_level: reporter
`

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, m *Manifest)
	}{
		{"base", validBase, func(t *testing.T, m *Manifest) {
			if m.Teams[1].FullPath() != "org/tools" || m.Projects[0].FullPath() != "org/app" {
				t.Errorf("paths: %q %q", m.Teams[1].FullPath(), m.Projects[0].FullPath())
			}
			if got := m.Automations[0].Level(); got != botgate.ReporterAccess {
				t.Errorf("level = %v", got)
			}
		}},
		{"numeric access level and weeks", strings.Replace(strings.Replace(validBase, "access_level: reporter", "access_level: 30\n    expires_in: 4w\n    rate_limit: 10/s", 1), "", "", 0), func(t *testing.T, m *Manifest) {
			a := m.Automations[0]
			if a.Level() != botgate.DeveloperAccess || a.Lifetime() != 28 || a.Limit().Rate != 10 || PerMinute(a.Limit()) != 600 {
				t.Errorf("got level %v lifetime %d limit %+v", a.Level(), a.Lifetime(), a.Limit())
			}
		}},
		{"empty sections", "version: 1\nteams:\nprojects: []\n", func(t *testing.T, m *Manifest) {
			if len(m.Teams)+len(m.Projects)+len(m.Automations) != 0 {
				t.Errorf("got %+v", m)
			}
		}},
		{"anchors and aliases", strings.Replace(validBase, "    scopes: [read_api]", "    scopes: &ro [read_api]", 1) + `  - name: second
    purpose: Same scopes.
    owner: org
    projects: [org/app]
    scopes: *ro
    access_level: reporter
`, func(t *testing.T, m *Manifest) {
			if got := m.Automation("second").ScopeSet().String(); got != "read_api" {
				t.Errorf("aliased scopes = %q", got)
			}
		}},
		{"project token default kind", validBase + `  - name: one
    purpose: One project.
    owner: org
    projects: [org/app]
    scopes: [read_api, read_repository, read_api]
    access_level: Reporter
`, func(t *testing.T, m *Manifest) {
			a := m.Automation("one")
			if a.EffectiveKind() != KindProjectToken || a.Target() != "org/app" || a.ScopeSet().String() != "read_api read_repository" {
				t.Errorf("got kind %s target %s scopes %s", a.EffectiveKind(), a.Target(), a.ScopeSet())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseNamed("m.yaml", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, m)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want are "line:col" and message fragments, one entry per problem.
		want []string
	}{
		{"empty", "", []string{"m.yaml:1:1:", "empty"}},
		{"not yaml", "version: [1\n", []string{"not valid YAML"}},
		{"two documents", validBase + "---\nversion: 1\n", []string{"more than one YAML document"}},
		{"missing version", strings.Replace(validBase, "version: 1\n", "", 1), []string{"version must be 1"}},
		{"typo key suggests", strings.Replace(validBase, "    scopes: [read_api]", "    scope: [read_api]", 1),
			[]string{`m.yaml:21:5: automations[0].scope: unknown key "scope"`, `did you mean "scopes"`, "scopes is missing"}},
		{"unknown top key", validBase + "tokens: []\n", []string{`m.yaml:23:1: tokens: unknown key "tokens" in the document; known keys: version, policy`}},
		{"duplicate key", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    access_level: owner", 1), []string{`m.yaml:23:5:`, "written twice (first at line 22)"}},
		{"scalar instead of list", strings.Replace(validBase, "scopes: [read_api]", "scopes: read_api", 1), []string{`m.yaml:21:13: automations[0].scopes: expected a list`}},
		{"list instead of text", strings.Replace(validBase, "purpose: Polls pipelines.", "purpose: [a]", 1), []string{`m.yaml:16:14:`, "expected a text value"}},
		{"bool type", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    temporary: yes-please", 1), []string{"expected true or false"}},
		{"service account without owner", strings.Replace(validBase, "    owner: org/tools\nautomations", "automations", 1),
			[]string{"service_accounts[0].owner: a service account must be owned by a team"}},
		{"undeclared owner team", strings.Replace(validBase, "    owner: org/tools\n    kind", "    owner: org/tool\n    kind", 1),
			[]string{`m.yaml:17:12: automations[0].owner: team "org/tool" is not declared`}},
		{"unknown scope", strings.Replace(validBase, "[read_api]", "[read_apii]", 1), []string{`automations[0].scopes: scopes does not have a valid value: unknown scope "read_apii"`}},
		{"admin scope", strings.Replace(validBase, "[read_api]", "[read_api, sudo]", 1), []string{`scope "sudo" is for administrators only`}},
		{"bad access level", strings.Replace(validBase, "access_level: reporter", "access_level: admin", 1), []string{`m.yaml:22:19: automations[0].access_level: "admin" is not an access level`}},
		{"missing access level", strings.Replace(validBase, "    access_level: reporter\n", "", 1), []string{"access_level is missing"}},
		{"temporary without expiry", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    temporary: true", 1), []string{`m.yaml:23:16: automations[0].temporary: a temporary automation must expire`}},
		{"expiry too long", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    expires_in: 400d", 1), []string{"longer than the maximum token lifetime of 365d"}},
		{"expiry within rotation lead", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    expires_in: 10d", 1), []string{"rotated on every apply"}},
		{"bad expiry", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    expires_in: 3 months", 1), []string{`"3 months" is not a duration`}},
		{"bad enforcement", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    enforcement: dry-run", 1), []string{`automations[0].enforcement: enforcement "dry-run" is not a mode: use enforce or shadow`}},
		{"bad rate", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    rate_limit: fast", 1), []string{`"fast" is not a rate`}},
		{"upstream with credentials", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    upstream: https://u:glpat-secret@gitlab.example.com", 1), []string{"without credentials"}},
		{"upstream with credentials, no scheme", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    upstream: u:glpat-secret@gitlab.example.com", 1), []string{"without credentials"}},
		{"bad route", strings.Replace(validBase, "    access_level: reporter", "    access_level: reporter\n    routes: [FETCH /api]", 1), []string{`automations[0].routes[0]: route "FETCH /api"`}},
		{"project token on two projects", strings.Replace(validBase, "    kind: service_account\n    service_account: poll-bot\n", "", 1), []string{"a project_token acts on exactly one project (found 2 projects"}},
		{"group token on a project", strings.Replace(validBase, "kind: service_account\n    service_account: poll-bot\n", "kind: group_token\n", 1), []string{"a group_token acts on exactly one group (found 0 groups, 2 projects)"}},
		{"service account undeclared", strings.Replace(validBase, "service_account: poll-bot", "service_account: ghost-bot", 1), []string{`service account "ghost-bot" is not declared`}},
		{"unknown kind", strings.Replace(validBase, "kind: service_account", "kind: robot", 1), []string{`kind "robot" is not known`}},
		{"undeclared project", strings.Replace(validBase, "[org/app, org/web]", "[org/app, org/api]", 1), []string{`m.yaml:20:25: automations[0].projects[1]: project "org/api" is not declared`}},
		{"read_user on project token", validBase + "  - name: one\n    purpose: x\n    owner: org\n    projects: [org/app]\n    scopes: [read_user]\n    access_level: guest\n", []string{"read_user cannot be given"}},
		{"duplicate automation", validBase + "  - name: poller\n    purpose: x\n    owner: org\n    projects: [org/app]\n    scopes: [api]\n    access_level: guest\n", []string{`automation "poller" is declared twice`}},
		{"bad automation name", strings.Replace(validBase, "name: poller", "name: Poller Bot", 1), []string{"automation name \"Poller Bot\" must be"}},
		{"parent after child", "version: 1\nteams:\n  - path: b\n    parent: a\n  - path: a\n", []string{"must be declared before its subgroup"}},
		{"missing purpose", strings.Replace(validBase, "    purpose: Polls pipelines.\n", "", 1), []string{"purpose is missing"}},
		{"document is a list", "- version: 1\n", []string{"m.yaml:1:1: expected a mapping of keys (version, policy, teams, projects, service_accounts, automations) at the document, found a list"}},
		{"version as text", strings.Replace(validBase, "version: 1", `version: "1"`, 1), []string{"m.yaml:1:10: version: expected a whole number"}},
		{"alias expansion bomb", "version: 1\nprojects: &p [" + strings.Repeat("{path: a, group: b},", 2000) + "]\nteams: &t [" + strings.Repeat("{path: x, members: *p},", 200) + "]\n",
			[]string{"and 1", "more problems: fix these first"}},
		{"merge keys are not supported", validBase + "  - <<: {name: x}\n    purpose: y\n", []string{`unknown key "<<"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNamed("m.yaml", strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("Parse succeeded; want problems")
			}
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("kind = %v, want invalid", botgate.KindOf(err))
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want *Errors", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "glpat-secret") {
				t.Errorf("the error shows a credential:\n%s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			for _, p := range errs.Problems {
				if p.Line == 0 || p.File != "m.yaml" {
					t.Errorf("problem without position: %+v", p)
				}
			}
		})
	}
}

func TestParseBoundsAliasExpansion(t *testing.T) {
	// Valid members, expanded many times over by aliases.
	in := "version: 1\nteams:\n  - path: a\n    members: &m [" + strings.Repeat("{user: u, access_level: guest},", 1000) + "]\n" +
		"  - path: b\n    members: *m\n"
	for i := 0; i < 300; i++ {
		in += fmt.Sprintf("  - path: c%d\n    members: *m\n", i)
	}
	_, err := ParseNamed("m.yaml", strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "more than 200000 values once its aliases are expanded") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	in := strings.Replace(strings.Replace(validBase, "access_level: reporter", "access_level: admin", 1), "[read_api]", "[nope]", 1)
	_, err := ParseNamed("m.yaml", strings.NewReader(in))
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Problems) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if errs.Problems[0].Line > errs.Problems[1].Line {
		t.Errorf("problems not in file order: %v", err)
	}
}

func TestValues(t *testing.T) {
	for _, tt := range []struct {
		in   string
		days int
		ok   bool
	}{{"90d", 90, true}, {"2w", 14, true}, {"0d", 0, false}, {"d", 0, false}, {"12h", 0, false}, {"-3d", 0, false}} {
		t.Run("days "+tt.in, func(t *testing.T) {
			d, err := ParseDays(tt.in)
			if (err == nil) != tt.ok || d != tt.days {
				t.Errorf("ParseDays(%q) = %d, %v", tt.in, d, err)
			}
		})
	}
	for _, tt := range []struct {
		in     string
		perMin float64
		ok     bool
	}{{"600/min", 600, true}, {"10/s", 600, true}, {"7200/hour", 120, true}, {"5 / m", 5, true}, {"0/min", 0, false}, {"600", 0, false}, {"1/day", 0, false}} {
		t.Run("rate "+tt.in, func(t *testing.T) {
			l, err := ParseRateLimit(tt.in)
			if (err == nil) != tt.ok || PerMinute(l) != tt.perMin {
				t.Errorf("ParseRateLimit(%q) = %+v, %v", tt.in, l, err)
			}
			if err == nil {
				if back, _ := ParseRateLimit(FormatRateLimit(l)); back != l {
					t.Errorf("round trip %q -> %q", tt.in, FormatRateLimit(l))
				}
			}
		})
	}
	for _, tt := range []struct {
		in   string
		want botgate.AccessLevel
	}{{"reporter", 20}, {"Maintainer", 40}, {"50", 50}, {"5", 0}, {"60", 0}, {"admin", 0}} {
		t.Run("level "+tt.in, func(t *testing.T) {
			l, err := ParseAccessLevel(tt.in)
			if l != tt.want || (err == nil) != (tt.want != 0) {
				t.Errorf("ParseAccessLevel(%q) = %v, %v", tt.in, l, err)
			}
			if err == nil && LevelName(l) != strings.ToLower(tt.in) && tt.in != "50" {
				t.Errorf("LevelName(%v) = %q", l, LevelName(l))
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	m := example(t)
	var b strings.Builder
	if err := Encode(&b, m, "header line", map[string]string{"danger-review": "why danger"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# header line\n", "  # why danger\n  - name: danger-review\n", "    scopes: [api]\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("encoded manifest lacks %q:\n%s", want, out)
		}
	}
	back, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("encoded manifest does not parse: %v", err)
	}
	if !reflect.DeepEqual(back.Automations, m.Automations) || !reflect.DeepEqual(back.Teams, m.Teams) ||
		!reflect.DeepEqual(back.ServiceAccounts, m.ServiceAccounts) || back.Policy != m.Policy {
		t.Error("round trip changed the manifest")
	}
}

// TestParseUnreadablePosition: the YAML package gives no line for errors
// on the first line or for characters its reader refuses; the problem
// still names the line and column.
func TestParseUnreadablePosition(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"control character", "version: 1\nteams:\n  - x\x01\n", "f.yaml:3:6"},
		{"broken UTF-8", "version: 1\n# caf\xe9\n", "f.yaml:2:6"},
		{"first line", "\tversion: 1\n", "f.yaml:1:1"},
		{"control character after a first-line error", "\tversion: 1\n# \x01\n", "f.yaml:2:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNamed("f.yaml", strings.NewReader(tc.in))
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if got := errs.Problems[0].Position.String(); got != tc.want {
				t.Fatalf("position %s, want %s (%s)", got, tc.want, errs.Problems[0])
			}
		})
	}
}
