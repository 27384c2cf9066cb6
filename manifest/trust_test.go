package manifest

import (
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// trustBase is validBase with a project token automation that declares one
// trust policy; tests replace parts of it.
const trustBase = validBase + `  - name: triage
    purpose: Triages issues on a schedule.
    owner: org
    projects: [org/app]
    scopes: [api]
    access_level: reporter
    trust:
      - issuer: https://gitlab.example.com
        audience: https://botgate.example.com
        max_ttl: 10m
        claims:
          project_path: org/app
          ref: main
          ref_protected: true
          pipeline_source: schedule
          environment: "prod-*"
`

func TestParseTrust(t *testing.T) {
	m, err := ParseNamed("m.yaml", strings.NewReader(trustBase))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	pols := m.Automation("triage").TrustPolicies()
	if len(pols) != 1 {
		t.Fatalf("got %d policies, want 1", len(pols))
	}
	p := pols[0]
	want := map[string]string{"project_path": "org/app", "ref": "main", "ref_protected": "true", "pipeline_source": "schedule", "environment": "prod-*"}
	if p.Issuer != "https://gitlab.example.com" || p.Audience != "https://botgate.example.com" || p.MaxTTL != 10*time.Minute || len(p.Claims) != len(want) {
		t.Fatalf("policy = %+v", p)
	}
	for k, v := range want {
		if p.Claims[k] != v {
			t.Errorf("claims[%s] = %q, want %q", k, p.Claims[k], v)
		}
	}
	if got := m.Automation("poller").TrustPolicies(); got != nil {
		t.Errorf("an automation without trust has policies %+v, want none (deny by default)", got)
	}
	noTTL := strings.Replace(trustBase, "        max_ttl: 10m\n", "", 1)
	m, err = ParseNamed("m.yaml", strings.NewReader(noTTL))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Automation("triage").TrustPolicies()[0].MaxTTL; got != botgate.DefaultWorkloadTTL {
		t.Errorf("default max_ttl = %s, want %s", got, botgate.DefaultWorkloadTTL)
	}
}

func TestParseTrustErrors(t *testing.T) {
	tests := []struct {
		name, from, to string
		want           string // "m.yaml:LINE:COL: path: message" prefix and a fragment
	}{
		{"http issuer", "issuer: https://gitlab.example.com", "issuer: http://gitlab.example.com",
			"m.yaml:30:17: automations[1].trust[0].issuer: issuer \"http://gitlab.example.com\" must be the https URL"},
		{"no audience", "        audience: https://botgate.example.com\n", "",
			"automations[1].trust[0].audience: audience is missing"},
		{"ttl too long", "max_ttl: 10m", "max_ttl: 2h", "m.yaml:32:18: automations[1].trust[0].max_ttl: max_ttl 2h is out of range"},
		{"ttl not a duration", "max_ttl: 10m", "max_ttl: ten", "max_ttl \"ten\" is not a duration"},
		{"bad protected", "ref_protected: true", "ref_protected: yes-please", "m.yaml:36:26: automations[1].trust[0].claims.ref_protected: claim \"ref_protected\" is \"true\" or \"false\""},
		{"bad glob", "ref: main", "ref: \"release/[\"", "claims.ref: claim \"ref\": \"release/[\" is not a valid glob"},
		{"bad ref type", "ref: main", "ref_type: commit", "ref_type is \"branch\" or \"tag\", not \"commit\""},
		{"unknown claim", "ref: main", "reff: main", "unknown key \"reff\" in automations[1].trust[0].claims: did you mean \"ref\"?"},
		{"repeated policy", "          environment: \"prod-*\"\n", "          environment: \"prod-*\"\n" + `      - issuer: https://gitlab.example.com
        audience: https://botgate.example.com
        max_ttl: 10m
        claims: {project_path: org/app, ref: main, ref_protected: "true", pipeline_source: schedule, environment: "prod-*"}
`, "automations[1].trust[1]: this trust policy repeats trust[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(trustBase, tt.from, tt.to, 1)
			if in == trustBase {
				t.Fatalf("replacement %q not found", tt.from)
			}
			_, err := ParseNamed("m.yaml", strings.NewReader(in))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPlanTrust(t *testing.T) {
	m, err := ParseNamed("m.yaml", strings.NewReader(trustBase))
	if err != nil {
		t.Fatal(err)
	}
	live, err := Simulate(Plan(m, State{}, t0), State{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c := Plan(m, live, t0); !c.Empty() {
		t.Fatalf("plan after apply is not empty:\n%+v", c.Actions)
	}
	var text strings.Builder
	if err := Plan(m, State{}, t0).WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "trust: issuer https://gitlab.example.com, audience https://botgate.example.com, max_ttl 10m, environment=prod-*, pipeline_source=schedule, project_path=org/app, ref=main, ref_protected=true") {
		t.Errorf("plan of a new automation does not show its trust policy:\n%s", text.String())
	}

	// Widening the policy to any ref shows the old policy going and the
	// new one coming.
	m.Automation("triage").Trust[0].Claims.Ref = "*"
	c := Plan(m, live, t0)
	if len(c.Actions) != 1 || c.Actions[0].Op != OpPutAutomation {
		t.Fatalf("actions = %+v, want one put_automation", ops(c))
	}
	d := c.Actions[0].Diffs
	if len(d) != 2 || d[0].Field != "trust" || !strings.Contains(d[0].From, "ref=main") || d[0].To != "" ||
		d[1].Field != "trust" || d[1].From != "" || !strings.Contains(d[1].To, "ref=*") {
		t.Errorf("diffs = %+v", d)
	}
	// Dropping every policy shows the removal.
	m.Automation("triage").Trust = nil
	d = Plan(m, live, t0).Actions[0].Diffs
	if len(d) != 1 || d[0].From == "" || d[0].To != "" {
		t.Errorf("diffs after dropping trust = %+v", d)
	}
}

// TestParseTrustNamesTheOwner: a trust policy whose conditions do not name
// the workload's owner literally is refused at parse time, where it is
// written, with the condition to add.
func TestParseTrustNamesTheOwner(t *testing.T) {
	for _, claims := range []string{
		"          ref: main\n          ref_protected: true\n",
		"          project_path: \"*/app\"\n          ref: main\n",
		"          namespace_path: \"or?\"\n",
	} {
		src := trustBase[:strings.Index(trustBase, "        claims:\n")+len("        claims:\n")] + claims
		_, err := ParseNamed("m.yaml", strings.NewReader(src))
		if err == nil || !strings.Contains(err.Error(), "trust[0].claims") || !strings.Contains(err.Error(), "does not name whose jobs") {
			t.Errorf("claims\n%s: Parse = %v, want the policy refused for not naming the owner", claims, err)
		}
	}
}
