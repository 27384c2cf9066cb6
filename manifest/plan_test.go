package manifest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/golden"
)

var t0 = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

func example(t *testing.T) *Manifest {
	t.Helper()
	m, err := ParseFile("../examples/automations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ops(c *Changes) []Op {
	out := make([]Op, len(c.Actions))
	for i, a := range c.Actions {
		out[i] = a.Op
	}
	return out
}

func count(c *Changes, op Op) int {
	n := 0
	for _, a := range c.Actions {
		if a.Op == op {
			n++
		}
	}
	return n
}

func TestPlanFromEmpty(t *testing.T) {
	m := example(t)
	c := Plan(m, State{}, t0)
	members := 0
	for _, a := range m.Automations {
		if a.EffectiveKind() == KindServiceAccount {
			members += len(a.Projects) + len(a.Groups)
		}
	}
	for _, tt := range []struct {
		op   Op
		want int
	}{
		{OpCreateGroup, len(m.Teams)},
		{OpCreateProject, len(m.Projects)},
		{OpCreateServiceAccount, len(m.ServiceAccounts)},
		{OpSetMember, members},
		{OpPutAutomation, len(m.Automations)},
		{OpCreateToken, len(m.Automations)},
		{OpRotateToken, 0},
		{OpReplaceToken, 0},
		{OpRevokeToken, 0},
	} {
		t.Run(string(tt.op), func(t *testing.T) {
			if got := count(c, tt.op); got != tt.want {
				t.Errorf("%d %s steps, want %d", got, tt.op, tt.want)
			}
		})
	}
	order := []Op{OpCreateGroup, OpCreateProject, OpCreateServiceAccount, OpSetMember, OpPutAutomation, OpCreateToken}
	got := ops(c)
	if !slices.IsSortedFunc(got, func(a, b Op) int { return slices.Index(order, a) - slices.Index(order, b) }) {
		t.Errorf("steps out of order: %v", got)
	}
	for _, a := range c.Actions {
		if a.Op == OpCreateToken && a.Token.ExpiresAt != nil {
			if want := botgate.Date(t0).AddDate(0, 0, 90); !a.Token.ExpiresAt.Equal(want) {
				t.Errorf("%s expires %v, want %v", a.Automation, a.Token.ExpiresAt, want)
			}
		}
	}
	var js bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "plan_empty.txt", []byte(c.Text()))
	golden.Check(t, "plan_empty.json", js.Bytes())
}

// TestPlanShowsShadowMode plans a new automation in shadow mode: the plan
// says so under its record, in text and JSON.
func TestPlanShowsShadowMode(t *testing.T) {
	m := example(t)
	m.Automation("pipeline-poller").Enforcement = "shadow"
	c := Plan(m, State{}, t0)
	text := c.Text()
	want := "  + automation pipeline-poller (owner gitlab-org/engineering-productivity)\n      # declared automation has no record yet\n" +
		"      enforcement: shadow (rate limit and loop breaker counted and audited, not enforced)\n"
	if !strings.Contains(text, want) {
		t.Fatalf("plan text:\n%s\nwant it to contain:\n%s", text, want)
	}
	if n := strings.Count(text, "enforcement: shadow"); n != 1 {
		t.Errorf("%d automations shown in shadow mode, want 1 (enforce is not shown for new records)", n)
	}
	var js bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"enforcement": "shadow"`) {
		t.Errorf("plan JSON does not carry the automation's enforcement")
	}
}

// TestPlanIdempotent applies plans (through the in-memory applier) and
// plans again: nothing left to do, until time brings tokens near expiry.
func TestPlanIdempotent(t *testing.T) {
	m := example(t)
	s, err := Simulate(Plan(m, State{}, t0), State{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		at      time.Time
		rotates int
	}{
		{"same time", t0, 0},
		{"a month later", t0.AddDate(0, 1, 0), 0},
		{"a day before the lead time", t0.AddDate(0, 0, 90-15), 0},
		{"within the lead time", t0.AddDate(0, 0, 90-14), len(m.Automations)},
		{"after expiry", t0.AddDate(0, 0, 91), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Plan(m, s, tt.at)
			if got := count(c, OpRotateToken); got != tt.rotates {
				t.Errorf("%d rotations, want %d:\n%s", got, tt.rotates, c.Text())
			}
			if tt.at.After(t0.AddDate(0, 0, 90)) && count(c, OpCreateToken) != len(m.Automations) {
				t.Errorf("expired tokens must be issued anew:\n%s", c.Text())
			}
			s2, err := Simulate(c, s, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if again := Plan(m, s2, tt.at); !again.Empty() {
				t.Errorf("second plan is not empty:\n%s", again.Text())
			}
		})
	}
}

func TestPlanDrift(t *testing.T) {
	m := example(t)
	base, err := Simulate(Plan(m, State{}, t0), State{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.AddDate(0, 0, 1)
	tokenOf := func(s *State, automation string) *LiveToken {
		for i := range s.Tokens {
			if s.Tokens[i].Automation == automation && !s.Tokens[i].Revoked {
				return &s.Tokens[i]
			}
		}
		t.Fatalf("no token for %s", automation)
		return nil
	}
	tests := []struct {
		name   string
		mutate func(s *State, m *Manifest)
		want   []Op
		check  func(t *testing.T, c *Changes)
	}{
		{"scope widened by hand", func(s *State, m *Manifest) {
			tok := tokenOf(s, "pipeline-poller")
			tok.Scopes = botgate.Scopes{botgate.ScopeAPI}
		}, []Op{OpReplaceToken}, func(t *testing.T, c *Changes) {
			d := c.Actions[0].Diffs
			if len(d) != 1 || d[0].Field != "scopes" || d[0].From != "api" || d[0].To != "read_api" {
				t.Errorf("diffs = %+v", d)
			}
		}},
		{"manifest narrows access level", func(s *State, m *Manifest) {
			m.Automation("danger-review").AccessLevel = "guest"
		}, []Op{OpReplaceToken}, func(t *testing.T, c *Changes) {
			if d := c.Actions[0].Diffs; len(d) != 1 || d[0].Field != "access_level" || d[0].To != "guest" {
				t.Errorf("diffs = %+v", d)
			}
		}},
		{"token made by hand on a declared project", func(s *State, m *Manifest) {
			s.Tokens = append(s.Tokens, LiveToken{ID: 9001, Name: "my-script", Kind: botgate.ProjectAccessToken,
				Resource: Ref{botgate.ProjectResource, "gitlab-org/gitlab"}, Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: t0})
		}, []Op{OpRevokeToken}, func(t *testing.T, c *Changes) {
			if !c.Actions[0].Prune || c.Actions[0].Old.ID != 9001 || !strings.Contains(c.Actions[0].Reason, "drift") {
				t.Errorf("action = %+v", c.Actions[0])
			}
			if !c.WithoutPrune().Empty() {
				t.Error("drift revocation survives WithoutPrune")
			}
		}},
		{"a person's own token is not ours to revoke", func(s *State, m *Manifest) {
			s.Tokens = append(s.Tokens, LiveToken{ID: 9002, Name: "laptop", Kind: botgate.PersonalToken, User: "alice",
				Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: t0})
		}, nil, nil},
		{"automation on a person's token gets its own, the person's is kept", func(s *State, m *Manifest) {
			for i := range s.Tokens {
				if s.Tokens[i].Automation == "danger-review" {
					s.Tokens[i].Revoked = true
				}
			}
			s.Tokens = append(s.Tokens, LiveToken{ID: 9005, Name: "alice ci", Automation: "danger-review", Kind: botgate.PersonalToken, User: "alice",
				Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: t0})
		}, []Op{OpCreateToken}, nil},
		{"token on an undeclared project is left alone", func(s *State, m *Manifest) {
			s.Tokens = append(s.Tokens, LiveToken{ID: 9003, Name: "other", Kind: botgate.ProjectAccessToken,
				Resource: Ref{botgate.ProjectResource, "elsewhere/app"}, Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: t0})
		}, nil, nil},
		{"automation removed from the manifest", func(s *State, m *Manifest) {
			m.Automations = slices.DeleteFunc(m.Automations, func(a Automation) bool { return a.Name == "security-mirror" })
		}, []Op{OpRevokeToken, OpRemoveMember, OpRemoveMember}, func(t *testing.T, c *Changes) {
			if a := c.Actions[0]; !a.Prune || a.Automation != "security-mirror" {
				t.Errorf("action = %+v", a)
			}
		}},
		{"duplicate token for one automation", func(s *State, m *Manifest) {
			dup := *tokenOf(s, "realtime-triage")
			dup.ID, dup.CreatedAt = 9004, t0.Add(-time.Hour)
			s.Tokens = append(s.Tokens, dup)
		}, []Op{OpRevokeToken}, func(t *testing.T, c *Changes) {
			if a := c.Actions[0]; a.Prune || a.Old.ID != 9004 {
				t.Errorf("want the older duplicate revoked without --prune, got %+v", a)
			}
		}},
		{"revoked token is issued again", func(s *State, m *Manifest) {
			tokenOf(s, "runner-releases").Revoked = true
		}, []Op{OpCreateToken}, nil},
		{"lifetime shortened", func(s *State, m *Manifest) {
			m.Automation("scheduled-triage").ExpiresIn = "30d"
		}, []Op{OpRotateToken}, func(t *testing.T, c *Changes) {
			if want := botgate.Date(now).AddDate(0, 0, 30); !c.Actions[0].Token.ExpiresAt.Equal(want) {
				t.Errorf("new expiry %v, want %v", c.Actions[0].Token.ExpiresAt, want)
			}
		}},
		{"kind and target changed", func(s *State, m *Manifest) {
			a := m.Automation("realtime-triage")
			a.Kind, a.Groups, a.Projects = KindProjectToken, nil, []string{"gitlab-org/gitlab"}
		}, []Op{OpPutAutomation, OpReplaceToken}, func(t *testing.T, c *Changes) {
			var fields []string
			for _, d := range c.Actions[1].Diffs {
				fields = append(fields, d.Field+":"+d.From+"->"+d.To)
			}
			want := []string{"kind:group_access->project_access", "target:group gitlab-org->project gitlab-org/gitlab"}
			if !slices.Equal(fields, want) {
				t.Errorf("diffs %v, want %v", fields, want)
			}
		}},
		{"service account swapped", func(s *State, m *Manifest) {
			m.Automation("async-retrospectives").ServiceAccount = "pipeline-bot"
		}, []Op{OpSetMember, OpReplaceToken, OpRemoveMember, OpRemoveMember, OpRemoveMember}, func(t *testing.T, c *Changes) {
			// pipeline-bot is already on two of the three projects.
			if d := c.Actions[1].Diffs; len(d) != 1 || d[0].Field != "service_account" || d[0].From != "tooling-bot" {
				t.Errorf("diffs = %+v", d)
			}
		}},
		{"rate limit changed", func(s *State, m *Manifest) {
			m.Automation("danger-review").RateLimit = "900/min"
		}, []Op{OpPutAutomation}, func(t *testing.T, c *Changes) {
			if d := c.Actions[0].Diffs; len(d) != 1 || d[0].From != "600/min" || d[0].To != "900/min" {
				t.Errorf("diffs = %+v", d)
			}
		}},
		{"enforcement switched to shadow", func(s *State, m *Manifest) {
			m.Automation("danger-review").Enforcement = "shadow"
		}, []Op{OpPutAutomation}, func(t *testing.T, c *Changes) {
			if d := c.Actions[0].Diffs; len(d) != 1 || d[0].Field != "enforcement" || d[0].From != "enforce" || d[0].To != "shadow" {
				t.Errorf("diffs = %+v", d)
			}
			if text := c.Text(); !strings.Contains(text, "  ~ automation danger-review (owner gitlab-org/engineering-productivity)\n      # automation record differs from the manifest\n      enforcement: enforce -> shadow\n") {
				t.Errorf("plan text:\n%s", text)
			}
		}},
		{"enforcement written out is no change", func(s *State, m *Manifest) {
			m.Automation("danger-review").Enforcement = "enforce"
		}, nil, nil},
		{"enforcement back to enforce from a shadow record", func(s *State, m *Manifest) {
			for i := range s.Automations {
				if s.Automations[i].Name == "danger-review" {
					s.Automations[i].Enforcement = "shadow"
				}
			}
		}, []Op{OpPutAutomation}, func(t *testing.T, c *Changes) {
			if d := c.Actions[0].Diffs; len(d) != 1 || d[0].From != "shadow" || d[0].To != "enforce" {
				t.Errorf("diffs = %+v", d)
			}
		}},
		{"service account membership lowered by hand", func(s *State, m *Manifest) {
			for i := range s.Members {
				if s.Members[i].User == "mirror-bot" {
					s.Members[i].AccessLevel = botgate.ReporterAccess
				}
			}
		}, []Op{OpSetMember, OpSetMember}, nil},
		{"service account added to a project by hand", func(s *State, m *Manifest) {
			s.Members = append(s.Members, LiveMember{Resource: Ref{botgate.ProjectResource, "gitlab-org/runner/gitlab-runner"}, User: "mirror-bot", AccessLevel: botgate.OwnerAccess})
		}, []Op{OpRemoveMember}, func(t *testing.T, c *Changes) {
			if a := c.Actions[0]; !a.Prune || a.Member.User != "mirror-bot" || !strings.Contains(a.Reason, "drift") {
				t.Errorf("action = %+v", a)
			}
		}},
		{"service account member of its owning team is left alone", func(s *State, m *Manifest) {
			s.Members = append(s.Members, LiveMember{Resource: Ref{botgate.GroupResource, "gitlab-org/delivery"}, User: "mirror-bot", AccessLevel: botgate.GuestAccess})
		}, nil, nil},
		{"person added to a project is left alone", func(s *State, m *Manifest) {
			s.Members = append(s.Members, LiveMember{Resource: Ref{botgate.ProjectResource, "gitlab-org/gitlab"}, User: "alice", AccessLevel: botgate.DeveloperAccess})
		}, nil, nil},
		{"service account owned elsewhere", func(s *State, m *Manifest) {
			for i := range s.ServiceAccounts {
				if s.ServiceAccounts[i].Username == "release-bot" {
					s.ServiceAccounts[i].Owner = "gitlab-org"
				}
			}
		}, nil, func(t *testing.T, c *Changes) {
			if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], `release-bot is owned by "gitlab-org"`) || !strings.Contains(c.Text(), "Warning: ") {
				t.Errorf("warnings = %v", c.Warnings)
			}
		}},
		{"service account deleted", func(s *State, m *Manifest) {
			s.ServiceAccounts = slices.DeleteFunc(s.ServiceAccounts, func(a LiveServiceAccount) bool { return a.Username == "tooling-bot" })
		}, []Op{OpCreateServiceAccount}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cloneState(base)
			s.Tokens = slices.Clone(base.Tokens)
			mc := *m
			mc.Automations = slices.Clone(m.Automations)
			tt.mutate(&s, &mc)
			c := Plan(&mc, s, now)
			if got := ops(c); !slices.Equal(got, tt.want) {
				t.Fatalf("ops = %v, want %v\n%s", got, tt.want, c.Text())
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			s2, err := Simulate(c, s, now)
			if err != nil {
				t.Fatal(err)
			}
			if again := Plan(&mc, s2, now); !again.Empty() {
				t.Errorf("plan after apply is not empty:\n%s", again.Text())
			}
		})
	}
}
