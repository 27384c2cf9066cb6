package authority_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// TestMintWorkloadToken: a workload token is issued to the bot of the
// automation's newest project token, with the automation's scopes and
// label, and ends at the asked time; the rules around it (a bot must
// exist, the lifetime is minutes, the jti is single-use, an inactive bot
// gets nothing) are the authority's.
func TestMintWorkloadToken(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	rec := &botgate.Automation{Name: "triage", OwnerGroupID: w.group.ID, Kind: botgate.AutomationProjectToken,
		Projects: []string{"platform/api"}, Scopes: botgate.Scopes{botgate.ScopeReadAPI}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
	if err := e.store.Update(e.ctx, func(tx botgate.Tx) error { return tx.CreateAutomation(e.ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	grant := func(jti string, ttl time.Duration) authority.WorkloadGrant {
		return authority.WorkloadGrant{Automation: "triage", ExpiresAt: e.clock.Now().Add(ttl), Subject: "project_path:platform/api:ref_type:branch:ref:main",
			Issuer: "https://gitlab.example.com", JTI: jti, JTIExpiresAt: e.clock.Now().Add(5 * time.Minute),
			Identity: map[string]string{"pipeline_id": "7", "job_id": "70"}}
	}
	if _, err := e.svc.MintWorkloadToken(e.ctx, grant("j0", 10*time.Minute)); !botgate.IsKind(err, botgate.KindNotFound) || !strings.Contains(err.Error(), "no bot yet") {
		t.Fatalf("before apply made a bot: %v, want KindNotFound", err)
	}
	standing, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "triage", Scopes: []string{"api"}, AccessLevel: botgate.ReporterAccess, Automation: "triage"})
	if err != nil {
		t.Fatal(err)
	}

	c, err := e.svc.MintWorkloadToken(e.ctx, grant("j1", 10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.User.ID != standing.User.ID || c.Token.Automation != "triage" || c.Token.Scopes.String() != "read_api" ||
		c.Token.Resource != w.projectRes() || c.Token.AccessLevel != botgate.ReporterAccess || !c.Token.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("workload token = %+v of user %d, want the bot %d's read_api token ending in 10 minutes", c.Token, c.User.ID, standing.User.ID)
	}
	if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
		t.Fatalf("the workload token does not authenticate: %v", err)
	}
	if _, err := e.svc.MintWorkloadToken(e.ctx, grant("j1", 5*time.Minute)); !botgate.IsKind(err, botgate.KindConflict) || !strings.Contains(err.Error(), "already exchanged") {
		t.Fatalf("replayed jti: %v, want KindConflict", err)
	}
	e.clock.Advance(10 * time.Minute)
	if _, err := e.auth(c.Secret, authority.PurposeAPI); !botgate.IsKind(err, botgate.KindUnauthenticated) {
		t.Fatalf("the workload token after its end: %v, want KindUnauthenticated", err)
	}

	tests := []struct {
		name string
		g    authority.WorkloadGrant
		want botgate.Kind
		msg  string
	}{
		{"jti reusable once its record expired", grant("j1", 5*time.Minute), botgate.KindOther, ""},
		{"longer than an hour", grant("j2", 61*time.Minute), botgate.KindInvalid, "at most 1h0m0s"},
		{"already ended", grant("j3", 0), botgate.KindInvalid, "at most"},
		{"no jti", grant("", 5*time.Minute), botgate.KindInvalid, "jti"},
		{"unknown automation", func() authority.WorkloadGrant { g := grant("j4", time.Minute); g.Automation = "ghost"; return g }(), botgate.KindNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.MintWorkloadToken(e.ctx, tt.g)
			if tt.want == botgate.KindOther {
				wantOutcome(t, err, tt.want)
				return
			}
			if !botgate.IsKind(err, tt.want) || !strings.Contains(botgate.MessageOf(err)+err.Error(), tt.msg) {
				t.Fatalf("got %v, want kind %v saying %q", err, tt.want, tt.msg)
			}
		})
	}
}

// TestWorkloadTokenIsNotRotated: a workload token lives minutes (at most
// botgate.MaxWorkloadTTL); rotating it would give a successor whose life
// is counted in days (at least one, or the expires_at asked for). Neither
// the token itself (the job holding it) nor anyone managing it may turn
// an exchanged token into a long-lived one: the workload exchanges a new
// identity token instead.
func TestWorkloadTokenIsNotRotated(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	rec := &botgate.Automation{Name: "deployer", OwnerGroupID: w.group.ID, Kind: botgate.AutomationProjectToken,
		Projects: []string{"platform/api"}, Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
	if err := e.store.Update(e.ctx, func(tx botgate.Tx) error { return tx.CreateAutomation(e.ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deployer", Scopes: []string{"api"},
		AccessLevel: botgate.DeveloperAccess, Automation: "deployer"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	mint := func(t *testing.T) *authority.Created {
		n++
		c, err := e.svc.MintWorkloadToken(e.ctx, authority.WorkloadGrant{Automation: "deployer", ExpiresAt: e.clock.Now().Add(15 * time.Minute),
			Subject: "project_path:platform/api:ref_type:branch:ref:main", Issuer: "https://gitlab.example.com",
			JTI: "jti-" + strconv.Itoa(n), JTIExpiresAt: e.clock.Now().Add(5 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	later := botgate.Date(e.clock.Now()).AddDate(1, 0, 0)
	for _, tt := range []struct {
		name  string
		actor func(t *testing.T, c *authority.Created) authority.Actor
		exp   *time.Time
	}{
		{"by itself", func(t *testing.T, c *authority.Created) authority.Actor {
			id, err := e.auth(c.Secret, authority.PurposeRotate)
			if err != nil {
				t.Fatal(err)
			}
			return id.Actor(authority.RequestMeta{})
		}, nil},
		{"by itself, asking for a year", func(t *testing.T, c *authority.Created) authority.Actor {
			id, err := e.auth(c.Secret, authority.PurposeRotate)
			if err != nil {
				t.Fatal(err)
			}
			return id.Actor(authority.RequestMeta{})
		}, &later},
		{"by the team's Owner", func(*testing.T, *authority.Created) authority.Actor { return w.owner }, nil},
		{"by an administrator, asking for a year", func(*testing.T, *authority.Created) authority.Actor { return e.admin }, &later},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mint(t)
			got, err := e.svc.RotateToken(e.ctx, tt.actor(t, c), c.Token.ID, tt.exp)
			if err == nil {
				t.Fatalf("rotated a 15-minute workload token into token %d ending %s", got.Token.ID, got.Token.ExpiresAt)
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || !strings.Contains(botgate.MessageOf(err), "exchange") {
				t.Fatalf("got %v, want KindInvalid saying to exchange a new identity token", err)
			}
			if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
				t.Fatalf("the refused rotation changed the workload token: %v", err)
			}
		})
	}
}

// TestWorkloadTokenOnlyOnTheAutomationsTargets: the bot a workload token
// goes to is found by its tokens' automation label, which anyone managing
// a token can set. Someone outside the team labels their own project's bot
// token with the team's automation: the team's jobs must not be handed a
// token of that project (where the outsider reads what they write), only
// of a bot on a target the automation declares.
func TestWorkloadTokenOnlyOnTheAutomationsTargets(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	rec := &botgate.Automation{Name: "release", OwnerGroupID: w.group.ID, Kind: botgate.AutomationProjectToken,
		Projects: []string{"platform/api"}, Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
	if err := e.store.Update(e.ctx, func(tx botgate.Tx) error { return tx.CreateAutomation(e.ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	standing, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "release", Scopes: []string{"api"},
		AccessLevel: botgate.DeveloperAccess, Automation: "release"})
	if err != nil {
		t.Fatal(err)
	}
	// The outsider's own group and project, and a bot there labelled with
	// the team's automation.
	og, err := e.svc.CreateGroup(e.ctx, w.outsider, authority.NewGroup{Name: "Drop", Path: "drop"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := e.svc.CreateProject(e.ctx, w.outsider, authority.NewProject{Name: "Box", Path: "box", NamespaceID: og.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	decoy, err := e.svc.CreateResourceToken(e.ctx, w.outsider, botgate.Resource{Type: botgate.ProjectResource, ID: op.ID},
		authority.NewToken{Name: "decoy", Scopes: []string{"api"}, AccessLevel: botgate.MaintainerAccess})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetAutomation(e.ctx, w.outsider, decoy.Token.ID, "release"); err != nil {
		t.Logf("labelling another team's automation refused: %v", err)
	}
	c, err := e.svc.MintWorkloadToken(e.ctx, authority.WorkloadGrant{Automation: "release", ExpiresAt: e.clock.Now().Add(10 * time.Minute),
		Subject: "project_path:platform/api:ref_type:tag:ref:v1", Issuer: "https://gitlab.example.com", JTI: "j1", JTIExpiresAt: e.clock.Now().Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if c.User.ID != standing.User.ID || c.Token.Resource != w.projectRes() {
		t.Fatalf("the team's job got a token of bot %d on %+v, want the automation's bot %d on platform/api", c.User.ID, c.Token.Resource, standing.User.ID)
	}
}
