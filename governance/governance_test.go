package governance_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"
)

func TestEmbeddedExampleMatchesRepository(t *testing.T) {
	repo, err := os.ReadFile("../examples/automations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, governance.ExampleManifestSource()) {
		t.Fatal("governance/automations.yaml differs from examples/automations.yaml: copy the example over (cp examples/automations.yaml governance/)")
	}
}

func TestApplyExample(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	m := example(t)
	var progress bytes.Buffer
	res, err := e.gov.Apply(ctx, e.plan(m), governance.ApplyOptions{Progress: &progress})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}

	t.Run("OneTokenPerAutomation", func(t *testing.T) {
		live := e.activeTokens()
		for _, a := range m.Automations {
			ts := live[a.Name]
			if len(ts) != 1 {
				t.Errorf("automation %s has %d active tokens, want 1", a.Name, len(ts))
				continue
			}
			tk := ts[0]
			if want := a.EffectiveKind().TokenKind(); tk.Kind != want {
				t.Errorf("%s: token kind %s, want %s", a.Name, tk.Kind, want)
			}
			if !slices.Equal(tk.Scopes, a.ScopeSet()) {
				t.Errorf("%s: scopes %v, want %v", a.Name, tk.Scopes, a.ScopeSet())
			}
			want := botgate.Date(e.clock.Now()).AddDate(0, 0, a.Lifetime())
			if tk.ExpiresAt == nil || !tk.ExpiresAt.Equal(want) {
				t.Errorf("%s: expires %v, want %v", a.Name, tk.ExpiresAt, want)
			}
		}
	})

	t.Run("SecretsKeptInOwnersVault", func(t *testing.T) {
		if len(res.Tokens) != len(m.Automations) {
			t.Fatalf("Apply issued %d tokens, want %d", len(res.Tokens), len(m.Automations))
		}
		for _, is := range res.Issued() {
			if is.Secret != "" {
				t.Errorf("%s: secret left in the apply's steps although the vault keeps it and ShowSecrets is off", is.Automation)
			}
		}
		for _, is := range res.Tokens {
			if is.Secret != "" {
				t.Errorf("%s: secret handed back although the vault keeps it and ShowSecrets is off", is.Automation)
			}
			a := m.Automation(is.Automation)
			wantRef := "vault:" + a.Owner + "/" + governance.SecretName(a.Name)
			if is.SecretRef != wantRef {
				t.Errorf("%s: secret ref %q, want %q", a.Name, is.SecretRef, wantRef)
			}
			value, _, err := e.vault.ReadSecretRef(ctx, authority.SystemActor(), wantRef)
			if err != nil {
				t.Fatalf("ReadSecretRef(%s): %v", wantRef, err)
			}
			id, err := e.auth.Authenticate(ctx, string(value), authority.RequestMeta{})
			if err != nil {
				t.Fatalf("%s: the vault's secret does not authenticate: %v", a.Name, err)
			}
			if id.Token.ID != is.TokenID || id.Token.Automation != a.Name {
				t.Errorf("%s: vault secret proves token %d (%s), want %d", a.Name, id.Token.ID, id.Token.Automation, is.TokenID)
			}
		}
		if strings.Contains(progress.String(), "glpat-") {
			t.Error("progress output holds a token secret")
		}
	})

	t.Run("RecordsMatchManifest", func(t *testing.T) {
		for _, a := range m.Automations {
			var rec *botgate.Automation
			err := e.store.View(ctx, func(tx botgate.Tx) error {
				var err error
				rec, err = tx.AutomationByName(ctx, a.Name)
				return err
			})
			if err != nil {
				t.Fatalf("AutomationByName(%s): %v", a.Name, err)
			}
			if rec.Purpose != a.Purpose || string(rec.Kind) != string(a.EffectiveKind()) || rec.RateLimit != a.Limit() ||
				rec.ExpiresInDays != a.Lifetime() || rec.Upstream != a.Upstream || !slices.Equal(rec.Scopes, a.ScopeSet()) {
				t.Errorf("record of %s = %+v, does not match the manifest", a.Name, rec)
			}
		}
	})

	t.Run("SecondPlanIsEmpty", func(t *testing.T) {
		if ch := e.plan(m); !ch.Empty() {
			t.Fatalf("second plan has steps: %q", ops(ch))
		}
	})

	t.Run("ServiceAccountsOwnedByTeams", func(t *testing.T) {
		st, err := e.gov.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sa := range m.ServiceAccounts {
			i := slices.IndexFunc(st.ServiceAccounts, func(l manifest.LiveServiceAccount) bool { return l.Username == sa.Name })
			if i < 0 || st.ServiceAccounts[i].Owner != sa.Owner {
				t.Errorf("service account %s: live %+v, want owner %s", sa.Name, st.ServiceAccounts, sa.Owner)
			}
		}
	})
}

func TestApplyWithoutVault(t *testing.T) {
	tests := []struct {
		name        string
		showSecrets bool
		wantErr     bool
	}{
		{"RefusesToLoseSecrets", false, true},
		{"ShowSecretsHandsThemBack", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			m := example(t)
			res, err := e.gov.Apply(t.Context(), e.plan(m), governance.ApplyOptions{ShowSecrets: tt.showSecrets})
			if tt.wantErr {
				if !botgate.IsKind(err, botgate.KindInvalid) || !strings.Contains(err.Error(), "--show-secrets") {
					t.Fatalf("Apply = %v, want KindInvalid naming --show-secrets", err)
				}
				st, _ := e.gov.State(t.Context())
				if len(st.Groups) != 0 || len(st.Tokens) != 0 {
					t.Fatalf("a refused apply changed the instance: %d groups, %d tokens", len(st.Groups), len(st.Tokens))
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			for _, is := range res.Tokens {
				id, err := e.auth.Authenticate(t.Context(), is.Secret, authority.RequestMeta{})
				if err != nil || id.Token.ID != is.TokenID || is.SecretRef != "" {
					t.Errorf("%s: secret does not prove token %d (%v), ref %q", is.Automation, is.TokenID, err, is.SecretRef)
				}
			}
		})
	}
}

// cancelAfter cancels its context after n progress lines.
type cancelAfter struct {
	n      int32
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if atomic.AddInt32(&c.n, -int32(bytes.Count(p, []byte("\n")))) <= 0 {
		c.cancel()
	}
	return len(p), nil
}

func TestApplyResumesAfterFailure(t *testing.T) {
	for _, stopAfter := range []int32{3, 12, 25} {
		t.Run(fmt.Sprintf("StopAfter%d", stopAfter), func(t *testing.T) {
			e := newEnv(t, true)
			m := example(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			first := e.plan(m)
			if int(stopAfter) >= len(first.Actions) {
				t.Fatalf("the example plan has %d steps; stop earlier", len(first.Actions))
			}
			_, err := e.gov.Apply(ctx, first, governance.ApplyOptions{Progress: &cancelAfter{n: stopAfter, cancel: cancel}})
			if err == nil {
				t.Fatal("Apply with a cancelled context succeeded")
			}
			rest := e.plan(m)
			if rest.Empty() || len(rest.Actions) >= len(first.Actions) {
				t.Fatalf("after a failed apply the plan has %d of %d steps, want fewer but some", len(rest.Actions), len(first.Actions))
			}
			e.apply(m, governance.ApplyOptions{})
			if ch := e.plan(m); !ch.Empty() {
				t.Fatalf("plan after resuming: %q", ops(ch))
			}
			for _, a := range m.Automations {
				if n := len(e.activeTokens()[a.Name]); n != 1 {
					t.Errorf("%s has %d active tokens after resuming, want 1", a.Name, n)
				}
			}
		})
	}
}

func TestVaultFailureRevokesNewToken(t *testing.T) {
	e := newEnv(t, true)
	m := parse(t, `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: deploy-notifier
    purpose: Tells chat about deployments.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
`)
	e.kr.Destroy() // sealing now fails
	_, err := e.gov.Apply(t.Context(), e.plan(m), governance.ApplyOptions{})
	if err == nil {
		t.Fatal("Apply succeeded with a broken vault")
	}
	if n := len(e.activeTokens()["deploy-notifier"]); n != 0 {
		t.Fatalf("%d active tokens left whose secret nobody holds, want 0", n)
	}
	ch := e.plan(m)
	if i := slices.IndexFunc(ch.Actions, func(a manifest.Action) bool { return a.Op == manifest.OpCreateToken }); i < 0 {
		t.Fatalf("plan after the failure does not issue the token again: %q", ops(ch))
	}
}

func TestPlanDrift(t *testing.T) {
	base := `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: deploy-notifier
    purpose: Tells chat about deployments.
    owner: infra
    projects: [infra/deploy]
    scopes: [%s]
    access_level: reporter
    expires_in: %s
    rate_limit: %s
`
	mk := func(scopes, expires, rate string) *manifest.Manifest {
		s := base
		for _, v := range []string{scopes, expires, rate} {
			s = strings.Replace(s, "%s", v, 1)
		}
		return parse(t, s)
	}
	e := newEnv(t, true)
	ctx := t.Context()
	e.apply(mk("read_api", "90d", "60/min"), governance.ApplyOptions{})

	t.Run("SameRateSpelledDifferently", func(t *testing.T) {
		if ch := e.plan(mk("read_api", "90d", "1/s")); !ch.Empty() {
			t.Fatalf("60/min written as 1/s plans %q", ops(ch))
		}
	})

	t.Run("ScopeWidened", func(t *testing.T) {
		ch := e.plan(mk("api", "90d", "60/min"))
		var replace, record bool
		for _, a := range ch.Actions {
			replace = replace || a.Op == manifest.OpReplaceToken
			record = record || (a.Op == manifest.OpPutAutomation && slices.ContainsFunc(a.Diffs, func(d manifest.Diff) bool {
				return d.Field == "scopes" && d.From == "read_api" && d.To == "api"
			}))
		}
		if !replace || !record {
			t.Fatalf("widening scopes plans %q; want a token replacement and a record change", ops(ch))
		}
	})

	t.Run("TokenMadeByHand", func(t *testing.T) {
		var proj *botgate.Project
		e.store.View(ctx, func(tx botgate.Tx) error {
			var err error
			proj, err = tx.ProjectByPath(ctx, "infra/deploy")
			return err
		})
		c, err := e.auth.CreateResourceToken(ctx, authority.SystemActor(), botgate.Resource{Type: botgate.ProjectResource, ID: proj.ID},
			authority.NewToken{Name: "quick fix", Scopes: []string{"api"}, AccessLevel: botgate.MaintainerAccess})
		if err != nil {
			t.Fatal(err)
		}
		m := mk("read_api", "90d", "60/min")
		ch := e.plan(m)
		if len(ch.Actions) != 1 || ch.Actions[0].Op != manifest.OpRevokeToken || !ch.Actions[0].Prune || ch.Actions[0].Old.ID != c.Token.ID {
			t.Fatalf("plan with a hand-made token = %q; want one prune revocation of token %d", ops(ch), c.Token.ID)
		}
		res := e.apply(m, governance.ApplyOptions{})
		if len(res.Steps) != 0 || len(e.activeTokens()[""]) != 1 {
			t.Fatalf("apply without prune ran %d steps; the hand-made token must stay", len(res.Steps))
		}
		e.apply(m, governance.ApplyOptions{Prune: true})
		if n := len(e.activeTokens()[""]); n != 0 {
			t.Fatalf("apply with prune left %d hand-made tokens", n)
		}
		if ch := e.plan(m); !ch.Empty() {
			t.Fatalf("plan after prune: %q", ops(ch))
		}
	})

	t.Run("LifetimeShortened", func(t *testing.T) {
		m := mk("read_api", "30d", "60/min")
		ch := e.plan(m)
		var rotate, record bool
		for _, a := range ch.Actions {
			rotate = rotate || a.Op == manifest.OpRotateToken
			record = record || (a.Op == manifest.OpPutAutomation && slices.ContainsFunc(a.Diffs, func(d manifest.Diff) bool { return d.Field == "expires_in" }))
		}
		if !rotate || !record {
			t.Fatalf("shortening expires_in plans %q; want a rotation and a record change", ops(ch))
		}
		before := e.activeTokens()["deploy-notifier"][0]
		res := e.apply(m, governance.ApplyOptions{})
		after := e.activeTokens()["deploy-notifier"]
		if len(after) != 1 || after[0].ID == before.ID || after[0].FamilyID != before.FamilyID {
			t.Fatalf("rotation left %d tokens (old %d, family %d)", len(after), before.ID, before.FamilyID)
		}
		value, _, err := e.vault.ReadSecretRef(ctx, authority.SystemActor(), res.Tokens[0].SecretRef)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := e.auth.Authenticate(ctx, string(value), authority.RequestMeta{}); err != nil || id.Token.ID != after[0].ID {
			t.Fatalf("the vault does not hold the rotated secret: %v", err)
		}
	})

	t.Run("RotatedBeforeExpiry", func(t *testing.T) {
		m := mk("read_api", "30d", "60/min")
		before := e.activeTokens()["deploy-notifier"][0]
		e.clock.Advance(20 * 24 * time.Hour) // 10 days left, within the 14-day lead time
		ch := e.plan(m)
		if len(ch.Actions) != 1 || ch.Actions[0].Op != manifest.OpRotateToken || ch.Actions[0].Old.ID != before.ID {
			t.Fatalf("plan 10 days before expiry = %q; want one rotation of token %d", ops(ch), before.ID)
		}
		e.apply(m, governance.ApplyOptions{})
		after := e.activeTokens()["deploy-notifier"]
		want := botgate.Date(e.clock.Now()).AddDate(0, 0, 30)
		if len(after) != 1 || after[0].ExpiresAt == nil || !after[0].ExpiresAt.Equal(want) {
			t.Fatalf("after rotation: %d tokens, expiry %v; want one expiring %v", len(after), after[0].ExpiresAt, want)
		}
	})

	t.Run("ServiceAccountAccessNoLongerDeclared", func(t *testing.T) {
		src := `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}, {path: web, group: infra}]
service_accounts: [{name: deploy-bot, owner: infra}]
automations:
  - name: deployer
    purpose: Deploys.
    owner: infra
    kind: service_account
    service_account: deploy-bot
    projects: [infra/deploy, infra/web]
    scopes: [api]
    access_level: developer
`
		e2 := newEnv(t, true)
		e2.apply(parse(t, src), governance.ApplyOptions{})
		narrower := parse(t, strings.Replace(src, "projects: [infra/deploy, infra/web]", "projects: [infra/deploy]", 1))
		ch := e2.plan(narrower)
		var remove *manifest.Action
		for i, a := range ch.Actions {
			if a.Op == manifest.OpRemoveMember {
				remove = &ch.Actions[i]
			}
		}
		if remove == nil || !remove.Prune || remove.Member.User != "deploy-bot" || remove.Member.Resource.Path != "infra/web" {
			t.Fatalf("plan after narrowing = %q; want a prune step taking deploy-bot off infra/web", ops(ch))
		}
		e2.apply(narrower, governance.ApplyOptions{Prune: true})
		st, err := e2.gov.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(st.Members, func(m manifest.LiveMember) bool { return m.User == "deploy-bot" && m.Resource.Path == "infra/web" }) {
			t.Fatal("deploy-bot is still a member of infra/web after apply --prune")
		}
		if ch := e2.plan(narrower); !ch.Empty() {
			t.Fatalf("plan after pruning: %q", ops(ch))
		}
	})
}

func TestLimits(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	src := `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: fast
    purpose: A busy bot.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
    rate_limit: RATE
  - name: plain
    purpose: A bot with the default limit.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
`
	e.apply(parse(t, strings.Replace(src, "RATE", "120/min", 1)), governance.ApplyOptions{ShowSecrets: true})
	lim := governance.NewLimits(e.store, e.clock, time.Minute, nil)
	tests := []struct {
		name   string
		auto   string
		want   botgate.Limit
		wantOK bool
	}{
		{"Declared", "fast", botgate.Limit{Rate: 120, Period: time.Minute}, true},
		{"NoLimitDeclared", "plain", botgate.Limit{}, false},
		{"Unknown", "nobody", botgate.Limit{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lim.AutomationLimit(ctx, tt.auto)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("AutomationLimit(%s) = %+v, %v; want %+v, %v", tt.auto, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	e.apply(parse(t, strings.Replace(src, "RATE", "30/min", 1)), governance.ApplyOptions{ShowSecrets: true})
	t.Run("CachedWithinTTL", func(t *testing.T) {
		if got, _ := lim.AutomationLimit(ctx, "fast"); got.Rate != 120 {
			t.Fatalf("within the TTL AutomationLimit = %+v, want the cached 120/min", got)
		}
	})
	t.Run("FreshAfterTTL", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		if got, _ := lim.AutomationLimit(ctx, "fast"); got.Rate != 30 {
			t.Fatalf("after the TTL AutomationLimit = %+v, want 30/min", got)
		}
	})
	e.apply(parse(t, strings.Replace(src, "RATE", "60/min", 1)), governance.ApplyOptions{ShowSecrets: true})
	t.Run("FreshAfterPurge", func(t *testing.T) {
		lim.Purge()
		if got, _ := lim.AutomationLimit(ctx, "fast"); got.Rate != 60 {
			t.Fatalf("after Purge AutomationLimit = %+v, want 60/min", got)
		}
	})
	t.Run("PurgeDuringReadNotLost", func(t *testing.T) {
		// Every read is overtaken by a purge (a change committed while it
		// ran): its answer is used but not kept, so the next call reads
		// the store again and sees the change.
		ps := &purgingStore{Store: e.store}
		racy := governance.NewLimits(ps, e.clock, time.Minute, nil)
		ps.purge = racy.Purge
		if got, _ := racy.AutomationLimit(ctx, "fast"); got.Rate != 60 {
			t.Fatalf("AutomationLimit = %+v, want 60/min", got)
		}
		if _, _ = racy.AutomationLimit(ctx, "fast"); ps.views != 2 {
			t.Fatalf("%d store reads for two calls, each overtaken by a purge; want 2", ps.views)
		}
	})
}

// purgingStore runs purge in the middle of every read, as a change
// committed on another goroutine would.
type purgingStore struct {
	botgate.Store
	purge func()
	views int
}

func (s *purgingStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	s.views++
	return s.Store.View(ctx, func(tx botgate.Tx) error {
		err := fn(tx)
		s.purge()
		return err
	})
}

func TestNewChecksTheActor(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	admin, err := e.auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: "boss", Name: "Boss", Email: "boss@example.com", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	person, err := e.auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: "dev", Name: "Dev", Email: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	blocked := *admin
	blocked.State = botgate.UserBlocked
	tests := []struct {
		name  string
		actor *authority.Actor
		ok    bool
	}{
		{"DefaultIsBotgate", nil, true},
		{"System", &authority.Actor{System: true}, true},
		{"Administrator", &authority.Actor{User: admin}, true},
		{"Person", &authority.Actor{User: person}, false},
		{"BlockedAdministrator", &authority.Actor{User: &blocked}, false},
		{"Nobody", &authority.Actor{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := governance.New(governance.Config{Authority: e.auth, Store: e.store, Actor: tt.actor})
			if (err == nil) != tt.ok || (err != nil && !botgate.IsKind(err, botgate.KindInvalid)) {
				t.Fatalf("New with actor %s: %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
	t.Run("AdministratorAppliesAndIsAudited", func(t *testing.T) {
		g, err := governance.New(governance.Config{Authority: e.auth, Store: e.store, Actor: &authority.Actor{User: admin}})
		if err != nil {
			t.Fatal(err)
		}
		m := parse(t, "version: 1\nteams: [{path: infra}]\n")
		ch, err := g.Plan(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Apply(ctx, ch, governance.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		evs, err := e.auth.AuditEvents(ctx, authority.SystemActor(), botgate.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(evs, func(ev *botgate.AuditEvent) bool {
			return ev.Action == botgate.ActionGroupCreate && ev.TargetName == "infra"
		})
		if i < 0 || evs[i].ActorName != "boss" {
			t.Fatalf("group creation not audited as boss: %+v", evs)
		}
	})
}

func TestPruneRemovesUndeclaredRecords(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	two := `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - {name: keeper, purpose: Stays., owner: infra, projects: [infra/deploy], scopes: [read_api], access_level: reporter}
  - {name: leaver, purpose: Goes., owner: infra, projects: [infra/deploy], scopes: [read_api], access_level: reporter}
`
	e.apply(parse(t, two), governance.ApplyOptions{})
	one := parse(t, strings.Replace(two, "  - {name: leaver, purpose: Goes., owner: infra, projects: [infra/deploy], scopes: [read_api], access_level: reporter}\n", "", 1))
	record := func(name string) error {
		return e.store.View(ctx, func(tx botgate.Tx) error { _, err := tx.AutomationByName(ctx, name); return err })
	}
	tests := []struct {
		name        string
		prune       bool
		wantRemoved []string
		wantRecord  bool
	}{
		{"WithoutPruneKept", false, nil, true},
		{"PruneRevokesThenRemoves", true, []string{"leaver"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := e.plan(one)
			if !slices.ContainsFunc(ch.Warnings, func(w string) bool { return strings.Contains(w, "automation record leaver is not declared") }) {
				t.Fatalf("plan warnings %q do not name the undeclared record", ch.Warnings)
			}
			res, err := e.gov.Apply(ctx, ch, governance.ApplyOptions{Prune: tt.prune, Manifest: one})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.RemovedRecords, tt.wantRemoved) {
				t.Fatalf("removed records %v, want %v", res.RemovedRecords, tt.wantRemoved)
			}
			if err := record("leaver"); (err == nil) != tt.wantRecord {
				t.Fatalf("record of leaver: %v, want present=%v", err, tt.wantRecord)
			}
			if err := record("keeper"); err != nil {
				t.Fatalf("record of keeper: %v", err)
			}
		})
	}
	if ch := e.plan(one); !ch.Empty() || len(ch.Warnings) != 0 {
		t.Fatalf("after pruning: %q, warnings %q", ops(ch), ch.Warnings)
	}
}

func TestLockSerializesApplies(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	other, err := governance.New(governance.Config{Authority: e.auth, Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := e.gov.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Run("SecondApplyRefused", func(t *testing.T) {
		_, err := other.Lock(ctx)
		if !botgate.IsKind(err, botgate.KindConflict) || !strings.Contains(err.Error(), "another apply is running") {
			t.Fatalf("Lock while held: %v, want KindConflict", err)
		}
		if _, err := other.Demo(ctx, nil); !botgate.IsKind(err, botgate.KindConflict) {
			t.Fatalf("Demo while an apply holds the lease: %v, want KindConflict", err)
		}
	})
	unlock()
	t.Run("FreeAfterUnlock", func(t *testing.T) {
		u, err := other.Lock(ctx)
		if err != nil {
			t.Fatalf("Lock after unlock: %v", err)
		}
		u()
	})
	t.Run("CrashedHolderExpires", func(t *testing.T) {
		if _, err := e.gov.Lock(ctx); err != nil { // never unlocked, as if the process died
			t.Fatal(err)
		}
		if _, err := other.Lock(ctx); !botgate.IsKind(err, botgate.KindConflict) {
			t.Fatalf("Lock while held: %v", err)
		}
		e.clock.Advance(16 * time.Minute)
		u, err := other.Lock(ctx)
		if err != nil {
			t.Fatalf("Lock after the lease expired: %v", err)
		}
		u()
	})
}
