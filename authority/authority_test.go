package authority_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
)

// countingStore counts the transactions a Store is asked for. It wraps the
// real store; it does not replace it.
type countingStore struct {
	botgate.Store
	mu    sync.Mutex
	views int
}

func (c *countingStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	c.mu.Lock()
	c.views++
	c.mu.Unlock()
	return c.Store.View(ctx, fn)
}

func (c *countingStore) Views() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.views
}

type env struct {
	t      *testing.T
	ctx    context.Context
	clock  *ratelimit.ManualClock
	store  *countingStore
	path   string
	svc    *authority.Service
	admin  authority.Actor
	secret string // the admin's token
}

var pepper = []byte("0123456789abcdef0123456789abcdef")

func newEnv(t *testing.T, opts ...func(*authority.Config)) *env {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "botgate.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := ratelimit.NewManualClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	cs := &countingStore{Store: st}
	cfg := authority.Config{Store: cs, Pepper: pepper, Clock: c}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := authority.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	u, _, secret, err := svc.Bootstrap(ctx, authority.NewUser{Username: "root", Email: "root@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, clock: c, store: cs, path: path, svc: svc, admin: authority.Actor{User: u}, secret: secret}
}

// human creates a user and returns it as an actor.
func (e *env) human(name string) authority.Actor {
	e.t.Helper()
	u, err := e.svc.CreateUser(e.ctx, e.admin, authority.NewUser{Username: name, Email: name + "@example.com"})
	if err != nil {
		e.t.Fatal(err)
	}
	return authority.Actor{User: u}
}

// world is a group with a project and members at every role.
type world struct {
	group    *botgate.Group
	project  *botgate.Project
	owner    authority.Actor
	maint    authority.Actor
	dev      authority.Actor
	guest    authority.Actor
	outsider authority.Actor
}

func (e *env) world() *world {
	e.t.Helper()
	w := &world{owner: e.human("olivia"), maint: e.human("mario"), dev: e.human("dana"), guest: e.human("gus"), outsider: e.human("oscar")}
	var err error
	w.group, err = e.svc.CreateGroup(e.ctx, w.owner, authority.NewGroup{Name: "Platform", Path: "platform"})
	if err != nil {
		e.t.Fatal(err)
	}
	w.project, err = e.svc.CreateProject(e.ctx, w.owner, authority.NewProject{Name: "API", Path: "api", NamespaceID: w.group.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	g := botgate.Resource{Type: botgate.GroupResource, ID: w.group.ID}
	for _, m := range []struct {
		a authority.Actor
		l botgate.AccessLevel
	}{{w.maint, botgate.MaintainerAccess}, {w.dev, botgate.DeveloperAccess}, {w.guest, botgate.GuestAccess}} {
		if _, err := e.svc.AddMember(e.ctx, w.owner, g, m.a.User.ID, m.l, nil); err != nil {
			e.t.Fatal(err)
		}
	}
	return w
}

func (w *world) projectRes() botgate.Resource {
	return botgate.Resource{Type: botgate.ProjectResource, ID: w.project.ID}
}

func (w *world) groupRes() botgate.Resource {
	return botgate.Resource{Type: botgate.GroupResource, ID: w.group.ID}
}

func wantKind(t *testing.T, err error, k botgate.Kind) {
	t.Helper()
	if !botgate.IsKind(err, k) {
		t.Fatalf("err = %v (kind %v), want kind %v", err, botgate.KindOf(err), k)
	}
}

func (e *env) auth(secret string, p authority.Purpose) (*authority.Identity, error) {
	return e.svc.Authenticate(e.ctx, secret, authority.RequestMeta{IP: "192.0.2.1", UserAgent: "test/1.0", Purpose: p})
}

func TestResourceTokenRoleCaps(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	tests := []struct {
		name  string
		actor authority.Actor
		res   botgate.Resource
		level botgate.AccessLevel
		want  botgate.Kind // KindOther: success
	}{
		{"maintainer creates developer project token", w.maint, w.projectRes(), botgate.DeveloperAccess, botgate.KindOther},
		{"maintainer creates maintainer project token", w.maint, w.projectRes(), botgate.MaintainerAccess, botgate.KindOther},
		{"maintainer cannot exceed own role", w.maint, w.projectRes(), botgate.OwnerAccess, botgate.KindInvalid},
		{"developer cannot create project token", w.dev, w.projectRes(), botgate.ReporterAccess, botgate.KindForbidden},
		{"guest cannot create project token", w.guest, w.projectRes(), botgate.GuestAccess, botgate.KindForbidden},
		{"outsider does not see the project", w.outsider, w.projectRes(), botgate.GuestAccess, botgate.KindNotFound},
		{"owner creates group token", w.owner, w.groupRes(), botgate.OwnerAccess, botgate.KindOther},
		{"maintainer cannot create group token", w.maint, w.groupRes(), botgate.ReporterAccess, botgate.KindForbidden},
		{"admin is exempt from caps", e.admin, w.projectRes(), botgate.OwnerAccess, botgate.KindOther},
		{"invalid level", w.owner, w.projectRes(), botgate.AccessLevel(35), botgate.KindInvalid},
		{"unknown project", w.owner, botgate.Resource{Type: botgate.ProjectResource, ID: 9999}, botgate.GuestAccess, botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.svc.CreateResourceToken(e.ctx, tt.actor, tt.res, authority.NewToken{Name: "bot " + tt.name, Scopes: []string{"read_api"}, AccessLevel: tt.level})
			if tt.want == botgate.KindOther {
				if err != nil {
					t.Fatal(err)
				}
				if c.Token.AccessLevel != tt.level {
					t.Fatalf("level = %v, want %v", c.Token.AccessLevel, tt.level)
				}
				return
			}
			wantKind(t, err, tt.want)
		})
	}
}

func TestProjectTokenCreatesBot(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "danger-bot", Scopes: []string{"api"}, AccessLevel: botgate.DeveloperAccess, Automation: "mr-hygiene"})
	if err != nil {
		t.Fatal(err)
	}
	bot := c.User
	wantPrefix := "project_" + itoa(w.project.ID) + "_bot_"
	if !strings.HasPrefix(bot.Username, wantPrefix) || len(bot.Username) != len(wantPrefix)+32 {
		t.Errorf("bot username = %q, want %s + 32 hex", bot.Username, wantPrefix)
	}
	if bot.Name != "danger-bot" || bot.Kind != botgate.ProjectBot || bot.Owner != w.projectRes() {
		t.Errorf("bot = %+v", bot)
	}
	err = e.store.View(e.ctx, func(tx botgate.Tx) error {
		lvl, err := authority.AccessOn(e.ctx, tx, bot.ID, w.projectRes(), e.clock.Now())
		if err != nil {
			return err
		}
		if lvl != botgate.DeveloperAccess {
			t.Errorf("bot access on its project = %v, want Developer", lvl)
		}
		if lvl, _ := authority.AccessOn(e.ctx, tx, bot.ID, w.groupRes(), e.clock.Now()); lvl != botgate.NoAccess {
			t.Errorf("bot access on the group = %v, want none", lvl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.auth(c.Secret, authority.PurposeAPI)
	if err != nil {
		t.Fatal(err)
	}
	if id.User.ID != bot.ID || id.Token.Automation != "mr-hygiene" {
		t.Fatalf("identity = %+v", id)
	}
	// A bot belongs to its own project only.
	other, err := e.svc.CreateProject(e.ctx, w.owner, authority.NewProject{Name: "Web", NamespaceID: w.group.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AddMember(e.ctx, w.owner, botgate.Resource{Type: botgate.ProjectResource, ID: other.ID}, bot.ID, botgate.ReporterAccess, nil)
	wantKind(t, err, botgate.KindInvalid)
	// Its membership cannot be removed by hand either.
	wantKind(t, e.svc.RemoveMember(e.ctx, w.owner, w.projectRes(), bot.ID), botgate.KindInvalid)
	// Resource tokens cannot hold read_user or admin scopes.
	_, err = e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "x", Scopes: []string{"read_user"}})
	wantKind(t, err, botgate.KindInvalid)
}

func TestRevokeDeactivatesBot(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.groupRes(), authority.NewToken{Name: "triage", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
		t.Fatal(err)
	}
	// A developer may not revoke a group token (nor see it: not found); the owner may.
	wantKind(t, e.svc.RevokeToken(e.ctx, w.dev, c.Token.ID), botgate.KindNotFound)
	if err := e.svc.RevokeToken(e.ctx, w.owner, c.Token.ID); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.User(e.ctx, c.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.State != botgate.UserDeactivated {
		t.Fatalf("bot state = %v, want deactivated", u.State)
	}
	_, err = e.auth(c.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
	if r := botgate.ReasonOf(err); r != botgate.ReasonTokenRevoked {
		t.Fatalf("reason = %v", r)
	}
	// Revoking again succeeds and changes nothing, as GitLab.
	before, err := e.svc.AuditEvents(e.ctx, authority.SystemActor(), botgate.AuditFilter{Page: botgate.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeToken(e.ctx, w.owner, c.Token.ID); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	after, err := e.svc.AuditEvents(e.ctx, authority.SystemActor(), botgate.AuditFilter{Page: botgate.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("revoking again audited %d events", len(after)-len(before))
	}
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	exp := e.clock.Now().AddDate(0, 0, 30)
	c, err := e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "poller", Scopes: []string{"read_api", "read_repository"}, AccessLevel: botgate.ReporterAccess, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * 24 * time.Hour)
	r, err := e.svc.RotateToken(e.ctx, w.maint, c.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	nt := r.Token
	if nt.ID == c.Token.ID || nt.FamilyID != c.Token.FamilyID || nt.PreviousID != c.Token.ID {
		t.Errorf("family: new %+v old %+v", nt, c.Token)
	}
	if nt.Name != "poller" || nt.Scopes.String() != "read_api read_repository" || nt.AccessLevel != botgate.ReporterAccess || nt.UserID != c.Token.UserID {
		t.Errorf("rotated token differs: %+v", nt)
	}
	// Same lifetime policy: 30 days from the rotation day.
	if want := botgate.Date(e.clock.Now()).AddDate(0, 0, 30); nt.ExpiresAt == nil || !nt.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", nt.ExpiresAt, want)
	}
	if r.Secret == c.Secret {
		t.Fatal("rotation returned the same secret")
	}
	if _, err := e.auth(r.Secret, authority.PurposeAPI); err != nil {
		t.Fatalf("new token: %v", err)
	}
	_, err = e.auth(c.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
	// Rotating a revoked token by ID is refused.
	_, err = e.svc.RotateToken(e.ctx, w.maint, c.Token.ID, nil)
	wantKind(t, err, botgate.KindInvalid)
	if !strings.Contains(botgate.MessageOf(err), "Token already revoked") {
		t.Fatalf("message = %q", botgate.MessageOf(err))
	}
	// The bot keeps working through the new token; the developer cannot
	// rotate it, nor see it.
	_, err = e.svc.RotateToken(e.ctx, w.dev, nt.ID, nil)
	wantKind(t, err, botgate.KindNotFound)
}

func TestReuseOfRotatedTokenRevokesFamily(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "laptop", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := e.svc.RotateToken(e.ctx, w.dev, c.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.svc.RotateToken(e.ctx, w.dev, r1.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(r2.Secret, authority.PurposeAPI); err != nil {
		t.Fatal(err)
	}
	// An ordinary use of the stolen old token is refused, and the family survives.
	_, err = e.auth(c.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
	if _, err := e.auth(r2.Secret, authority.PurposeAPI); err != nil {
		t.Fatalf("an ordinary reuse must not revoke the family: %v", err)
	}
	// Presenting it to rotate again revokes the whole family.
	_, err = e.auth(c.Secret, authority.PurposeRotate)
	wantKind(t, err, botgate.KindUnauthenticated)
	_, err = e.auth(r2.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
	if r := botgate.ReasonOf(err); r != botgate.ReasonTokenRevoked {
		t.Fatalf("reason = %v", r)
	}
	if err := e.svc.SyncAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	events := e.audit(botgate.AuditFilter{Action: botgate.ActionTokenFamilyRevoke})
	if len(events) != 1 || events[0].Details["revoked_ids"] != itoa(r2.Token.ID) {
		t.Fatalf("family revoke events = %+v", events)
	}
	failed := e.audit(botgate.AuditFilter{Action: botgate.ActionAuthFailed, TokenID: c.Token.ID})
	if len(failed) != 1 || failed[0].Details["reason"] != string(botgate.ReasonTokenRevoked) {
		t.Fatalf("failed-auth events for the old token = %+v", failed)
	}
}

// TestFamilyRevocationDeactivatesTheBot: a project access token's family
// revoked for reuse deactivates its bot user, as revoking the token does.
func TestFamilyRevocationDeactivatesTheBot(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "release-bot", Scopes: []string{"api"}, AccessLevel: botgate.DeveloperAccess})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := e.svc.RotateToken(e.ctx, w.maint, c.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Token.UserID != c.Token.UserID {
		t.Fatalf("rotation changed the bot: user %d, then %d", c.Token.UserID, r1.Token.UserID)
	}
	_, err = e.auth(c.Secret, authority.PurposeRotate)
	wantKind(t, err, botgate.KindUnauthenticated)
	var bot *botgate.User
	if err := e.store.View(e.ctx, func(tx botgate.Tx) (err error) {
		bot, err = tx.User(e.ctx, c.Token.UserID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if bot.State != botgate.UserDeactivated {
		t.Fatalf("the bot %s is %s after its family was revoked, want deactivated", bot.Username, bot.State)
	}
	if err := e.svc.SyncAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	evs := e.audit(botgate.AuditFilter{Action: botgate.ActionUserDeactivate, TargetID: bot.ID})
	if len(evs) != 1 || !strings.Contains(evs[0].Details["reason"], "family was revoked") {
		t.Fatalf("user.deactivate events for the bot = %+v", evs)
	}
	// A personal token's family revocation leaves its person active.
	p, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "laptop", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RotateToken(e.ctx, w.dev, p.Token.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.auth(p.Secret, authority.PurposeRotate)
	wantKind(t, err, botgate.KindUnauthenticated)
	var dev *botgate.User
	if err := e.store.View(e.ctx, func(tx botgate.Tx) (err error) {
		dev, err = tx.User(e.ctx, w.dev.User.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !dev.Active() {
		t.Errorf("a person was deactivated by the revocation of a personal token family: %s", dev.State)
	}
}

func (e *env) audit(f botgate.AuditFilter) []*botgate.AuditEvent {
	e.t.Helper()
	var out []*botgate.AuditEvent
	err := e.store.View(e.ctx, func(tx botgate.Tx) (err error) {
		out, err = tx.FindAudit(e.ctx, f)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestConcurrentRotationHasOneWinner(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "ci", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.RotateToken(e.ctx, w.dev, c.Token.ID, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case botgate.IsKind(err, botgate.KindInvalid), botgate.IsKind(err, botgate.KindConflict):
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d rotations won, want exactly 1", wins)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	tomorrow := e.clock.Now().AddDate(0, 0, 1)
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "short", Scopes: []string{"read_api"}, ExpiresAt: &tomorrow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(12 * time.Hour) // 00:00 UTC on the expiry date
	_, err = e.auth(c.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
	if r := botgate.ReasonOf(err); r != botgate.ReasonTokenExpired {
		t.Fatalf("reason = %v, want expired", r)
	}

	today := e.clock.Now()
	past := today.AddDate(0, 0, -3)
	far := today.AddDate(2, 0, 0)
	tests := []struct {
		name string
		exp  *time.Time
	}{
		{"today", &today},
		{"past", &past},
		{"beyond max lifetime", &far},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "x", Scopes: []string{"api"}, ExpiresAt: tt.exp})
			wantKind(t, err, botgate.KindInvalid)
			if botgate.FieldOf(err) != "expires_at" {
				t.Fatalf("field = %q", botgate.FieldOf(err))
			}
		})
	}
}

func TestRequireExpiry(t *testing.T) {
	e := newEnv(t, func(c *authority.Config) { c.RequireExpiry = true; c.MaxLifetime = 90 * 24 * time.Hour })
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "x", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := botgate.Date(e.clock.Now()).AddDate(0, 0, 90); c.Token.ExpiresAt == nil || !c.Token.ExpiresAt.Equal(want) {
		t.Fatalf("default expiry = %v, want %v", c.Token.ExpiresAt, want)
	}
}

func TestServiceAccounts(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	_, err := e.svc.CreateServiceAccount(e.ctx, w.maint, w.groupRes(), authority.NewServiceAccount{Name: "triage-bot"})
	wantKind(t, err, botgate.KindForbidden)
	sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Name: "triage-bot"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sa.Username, "service_account_group_"+itoa(w.group.ID)+"_") || sa.Owner != w.groupRes() {
		t.Fatalf("service account = %+v", sa)
	}
	tests := []struct {
		name  string
		actor authority.Actor
		want  botgate.Kind
	}{
		{"maintainer of the team", w.maint, botgate.KindOther},
		{"owner of the team", w.owner, botgate.KindOther},
		{"admin", e.admin, botgate.KindOther},
		{"developer of the team", w.dev, botgate.KindForbidden},
		{"outsider", w.outsider, botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.svc.CreateServiceAccountToken(e.ctx, tt.actor, sa.ID, authority.NewToken{Name: "triage", Scopes: []string{"api"}})
			if tt.want == botgate.KindOther {
				if err != nil {
					t.Fatal(err)
				}
				if c.Token.Kind != botgate.ServiceAccountToken {
					t.Fatalf("kind = %v", c.Token.Kind)
				}
				return
			}
			wantKind(t, err, tt.want)
		})
	}
	// Personal tokens of a service account go through its team, not the user.
	_, err = e.svc.CreatePersonalToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "x", Scopes: []string{"api"}})
	wantKind(t, err, botgate.KindForbidden)
	_, err = e.svc.CreateServiceAccount(e.ctx, w.owner, botgate.Resource{}, authority.NewServiceAccount{})
	wantKind(t, err, botgate.KindForbidden)
}

func TestPersonalTokens(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	tests := []struct {
		name   string
		actor  authority.Actor
		user   int64
		scopes []string
		tname  string
		want   botgate.Kind
	}{
		{"own token", w.dev, w.dev.User.ID, []string{"read_api"}, "mine", botgate.KindOther},
		{"for another user", w.dev, w.maint.User.ID, []string{"read_api"}, "theirs", botgate.KindForbidden},
		{"admin for another user", e.admin, w.maint.User.ID, []string{"read_api"}, "given", botgate.KindOther},
		{"admin-only scope", w.dev, w.dev.User.ID, []string{"sudo"}, "sudo", botgate.KindInvalid},
		{"unknown scope", w.dev, w.dev.User.ID, []string{"write_everything"}, "x", botgate.KindInvalid},
		{"no scopes", w.dev, w.dev.User.ID, nil, "x", botgate.KindInvalid},
		{"empty name", w.dev, w.dev.User.ID, []string{"api"}, " ", botgate.KindInvalid},
		{"name too long", w.dev, w.dev.User.ID, []string{"api"}, strings.Repeat("n", 256), botgate.KindInvalid},
		{"unknown user", e.admin, 424242, []string{"api"}, "x", botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.svc.CreatePersonalToken(e.ctx, tt.actor, tt.user, authority.NewToken{Name: tt.tname, Scopes: tt.scopes})
			if tt.want == botgate.KindOther {
				if err != nil {
					t.Fatal(err)
				}
				if c.Token.UserID != tt.user || !strings.HasPrefix(c.Secret, "glpat-") {
					t.Fatalf("token = %+v", c.Token)
				}
				return
			}
			wantKind(t, err, tt.want)
		})
	}
}

func TestDuplicatesAndBadNames(t *testing.T) {
	e := newEnv(t)
	e.human("alice")
	_, err := e.svc.CreateUser(e.ctx, e.admin, authority.NewUser{Username: "ALICE", Email: "other@example.com"})
	wantKind(t, err, botgate.KindConflict)
	for _, bad := range []string{"", "-x", "a b", "x.git", "dot."} {
		_, err := e.svc.CreateUser(e.ctx, e.admin, authority.NewUser{Username: bad, Email: "z@example.com"})
		wantKind(t, err, botgate.KindInvalid)
	}
	_, err = e.svc.CreateUser(e.ctx, e.admin, authority.NewUser{Username: "bob", Email: "not-an-email"})
	wantKind(t, err, botgate.KindInvalid)
	bob := e.human("bob")
	_, err = e.svc.CreateUser(e.ctx, bob, authority.NewUser{Username: "carol", Email: "c@example.com"})
	wantKind(t, err, botgate.KindForbidden)
	if _, err := e.svc.CreateGroup(e.ctx, bob, authority.NewGroup{Name: "Ops", Path: "ops"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateGroup(e.ctx, bob, authority.NewGroup{Name: "Ops 2", Path: "OPS"})
	wantKind(t, err, botgate.KindInvalid)
}

func TestMalformedTokenSkipsStore(t *testing.T) {
	e := newEnv(t)
	before := e.store.Views()
	for _, s := range []string{"", "glpat-", "glpat-abcdefghijklmnopqrst", corrupt(e.secret), "Bearer " + e.secret} {
		_, err := e.auth(s, authority.PurposeAPI)
		wantKind(t, err, botgate.KindUnauthenticated)
		if r := botgate.ReasonOf(err); r != botgate.ReasonTokenMalformed {
			t.Fatalf("%q: reason %v", s, r)
		}
	}
	if got := e.store.Views() - before; got != 0 {
		t.Fatalf("malformed tokens caused %d store reads", got)
	}
	if _, err := e.auth(e.secret, authority.PurposeAPI); err != nil {
		t.Fatal(err)
	}
	if got := e.store.Views() - before; got != 1 {
		t.Fatalf("first valid authentication: %d store reads, want 1", got)
	}
	for range 100 {
		if _, err := e.auth(e.secret, authority.PurposeAPI); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.store.Views() - before; got != 1 {
		t.Fatalf("cached authentications read the store: %d reads", got)
	}
}

func TestUsageIsCoalesced(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "x", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		ip := "198.51.100." + itoa(int64(i%3))
		if _, err := e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{IP: ip, UserAgent: "danger-js/11.3.1"}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	if err := e.svc.FlushUsage(e.ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := e.svc.Token(e.ctx, w.dev, c.Token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(e.clock.Now().Add(-time.Second)) {
		t.Fatalf("last_used_at = %v", tok.LastUsedAt)
	}
	if len(tok.LastUsedIPs) != 3 || tok.LastUsedIPs[0] != "198.51.100.1" {
		t.Fatalf("last_used_ips = %v", tok.LastUsedIPs)
	}
	if len(tok.UserAgents) != 1 || tok.UserAgents[0] != "danger-js/11.3.1" {
		t.Fatalf("user agents = %v", tok.UserAgents)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  string
		wantSeq func(last int64) int64
	}{
		{"edited event", "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 3", func(int64) int64 { return 3 }},
		{"edited details", `UPDATE audit_events SET details = '{"scopes":"api sudo"}' WHERE seq = 5`, func(int64) int64 { return 5 }},
		{"deleted event", "DELETE FROM audit_events WHERE seq = 4", func(int64) int64 { return 4 }},
		{"deleted newest events", "DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events)", func(last int64) int64 { return last - 1 }},
		// A writer of the database who also rewrites the recorded head to
		// the new newest event, in the old unsigned form or keeping the
		// old signature: the head's MAC needs the key.
		{"deleted newest events, head rewritten", `DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events);
			UPDATE audit_lanes SET seq = (SELECT max(seq) FROM audit_events), hash = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
				signed = (SELECT seq || ':' || hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE lane = 0`,
			func(last int64) int64 { return last - 1 }},
		{"deleted newest events, head rewritten keeping its signature", `DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events);
			UPDATE audit_lanes SET seq = (SELECT max(seq) FROM audit_events), hash = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
				signed = (SELECT seq || ':' || hash FROM audit_events ORDER BY seq DESC LIMIT 1) || ':' || substr(signed, length(signed) - 63) WHERE lane = 0`,
			func(last int64) int64 { return last - 1 }},
		{"head deleted with the newest events", `DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events);
			UPDATE audit_lanes SET seq = 0, hash = '', signed = '' WHERE lane = 0`, func(last int64) int64 { return last - 1 }},
		{"every event and the head deleted", `DELETE FROM audit_events; UPDATE audit_lanes SET seq = 0, hash = '', signed = ''`, func(int64) int64 { return 1 }},
		{"event inserted", `INSERT INTO audit_events (seq, "time", actor_id, actor_name, token_id, action, target_type, target_id, target_name,
				ip, user_agent, details, prev_hash, hash, lane, lane_seq)
			SELECT (SELECT max(seq) + 1 FROM audit_events), "time", actor_id, 'mallory', token_id, action, target_type, target_id, target_name,
				ip, user_agent, details, hash, hash, lane, (SELECT max(lane_seq) + 1 FROM audit_events) FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)`,
			func(last int64) int64 { return last + 1 }},
		{"events reordered", `UPDATE audit_events SET seq = -seq WHERE seq IN (3, 4);
			UPDATE audit_events SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END WHERE seq IN (-3, -4)`, func(int64) int64 { return 3 }},
		{"event moved to another lane", `UPDATE audit_events SET lane = 1 WHERE seq = (SELECT max(seq) FROM audit_events)`, func(last int64) int64 { return last }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.world()
			if _, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "x", Scopes: []string{"api"}}); err != nil {
				t.Fatal(err)
			}
			res, err := e.svc.VerifyAudit(e.ctx)
			if err != nil || !res.OK() {
				t.Fatalf("clean chain: %+v %v", res, err)
			}
			last := res.Head.Seq
			db, err := sql.Open("sqlite", e.path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tt.tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			res, err = e.svc.VerifyAudit(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() {
				t.Fatal("tampering not detected")
			}
			if want := tt.wantSeq(last); res.Break.Seq != want {
				t.Fatalf("break at %d (%s), want %d", res.Break.Seq, res.Break.Reason, want)
			}
		})
	}
}

func TestAuditRecordsNoSecrets(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "x", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.RotateToken(e.ctx, w.owner, c.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.auth(c.Secret, authority.PurposeRotate)
	if err := e.svc.SyncAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.audit(botgate.AuditFilter{}) {
		blob := ev.ActorName + ev.TargetName + ev.UserAgent
		for k, v := range ev.Details {
			blob += k + v
		}
		for _, s := range []string{c.Secret, r.Secret, e.secret} {
			if strings.Contains(blob, s) || strings.Contains(blob, s[6:20]) {
				t.Fatalf("audit event %d holds a secret", ev.Seq)
			}
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// corrupt changes the last character of a token (part of its checksum) to
// a different one, so that the result is always malformed.
func corrupt(secret string) string {
	last := secret[len(secret)-1]
	repl := byte('x')
	if last == 'x' {
		repl = 'y'
	}
	return secret[:len(secret)-1] + string(repl)
}

// TestAuditAnchors: the log must hold every anchor's event with its hash,
// and the recorded head and the checkpoint are signed with the audit key.
func TestAuditAnchors(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	key := authority.AuditKey(pepper)
	res, err := authority.VerifyAudit(e.ctx, e.store, key)
	if err != nil || !res.OK() {
		t.Fatalf("clean chain: %+v %v", res, err)
	}
	anchored := res.Head
	if _, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "x", Scopes: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	rec, err := authority.RecordedAuditHead(e.ctx, e.store, key)
	if err != nil || rec.Seq <= anchored.Seq {
		t.Fatalf("RecordedAuditHead = %+v, %v; want past %d", rec, err, anchored.Seq)
	}
	wrongHash := botgate.AuditHead{Seq: anchored.Seq, Hash: strings.Repeat("0", 64)}
	tests := []struct {
		name   string
		anchor botgate.AuditHead
		ok     bool
	}{
		{"Held", anchored, true},
		{"Newest", rec, true},
		{"OtherHash", wrongHash, false},
		{"PastTheEnd", botgate.AuditHead{Seq: rec.Seq + 5, Hash: rec.Hash}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := authority.VerifyAuditAnchored(e.ctx, e.store, key, authority.Anchor{Name: "expected head", Head: tt.anchor})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() != tt.ok {
				t.Fatalf("anchor %s: %+v (break %+v), want ok %v", authority.FormatAuditHead(tt.anchor), res, res.Break, tt.ok)
			}
			if !tt.ok && !strings.Contains(res.Break.Reason, "expected head") {
				t.Errorf("reason %q does not name the anchor", res.Break.Reason)
			}
		})
	}
	t.Run("Checkpoint", func(t *testing.T) {
		cp := authority.SignCheckpoint(key, rec)
		if h, err := authority.OpenCheckpoint(key, cp); err != nil || h != rec {
			t.Fatalf("OpenCheckpoint = %+v, %v", h, err)
		}
		forged := authority.FormatAuditHead(anchored) + cp[strings.LastIndexByte(cp, ':'):]
		if _, err := authority.OpenCheckpoint(key, forged); err == nil {
			t.Error("a checkpoint moved to another event with the old signature opens")
		}
		if _, err := authority.OpenCheckpoint(key, authority.FormatAuditHead(anchored)); err == nil {
			t.Error("an unsigned checkpoint opens")
		}
		if _, err := authority.OpenCheckpoint(authority.AuditKey([]byte("another pepper, 32 bytes long...")), cp); err == nil {
			t.Error("a checkpoint opens under another key")
		}
	})
}

func TestServiceAccountsListAndRead(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	var made []*botgate.User
	for _, name := range []string{"b-bot", "c-bot", "a-bot"} {
		sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Name: name, Username: name})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, sa)
	}
	// One of the instance's own, which a group's list never shows.
	if _, err := e.svc.CreateServiceAccount(e.ctx, e.admin, botgate.Resource{}, authority.NewServiceAccount{Username: "0-instance"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		q     authority.ServiceAccountQuery
		want  []string
		total int
	}{
		{"default is newest first", authority.ServiceAccountQuery{}, []string{"a-bot", "c-bot", "b-bot"}, 3},
		{"id asc", authority.ServiceAccountQuery{Sort: "asc"}, []string{"b-bot", "c-bot", "a-bot"}, 3},
		{"username asc", authority.ServiceAccountQuery{OrderBy: "username", Sort: "asc"}, []string{"a-bot", "b-bot", "c-bot"}, 3},
		{"username desc, second page", authority.ServiceAccountQuery{OrderBy: "username", Page: botgate.Page{Offset: 2, Limit: 2}}, []string{"a-bot"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Owner = w.groupRes()
			got, total, err := e.svc.ServiceAccounts(e.ctx, w.maint, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range got {
				names = append(names, u.Username)
			}
			if !slices.Equal(names, tt.want) || total != tt.total {
				t.Fatalf("ServiceAccounts = %v (total %d), want %v (total %d)", names, total, tt.want, tt.total)
			}
		})
	}
	_, _, err := e.svc.ServiceAccounts(e.ctx, w.maint, authority.ServiceAccountQuery{Owner: w.groupRes(), OrderBy: "name"})
	wantKind(t, err, botgate.KindInvalid)
	_, _, err = e.svc.ServiceAccounts(e.ctx, w.dev, authority.ServiceAccountQuery{Owner: w.groupRes()})
	wantKind(t, err, botgate.KindForbidden)

	if u, err := e.svc.ServiceAccount(e.ctx, w.maint, w.groupRes(), made[0].ID); err != nil || u.ID != made[0].ID {
		t.Fatalf("ServiceAccount(maintainer) = %v, %v", u, err)
	}
	_, err = e.svc.ServiceAccount(e.ctx, w.dev, w.groupRes(), made[0].ID)
	wantKind(t, err, botgate.KindForbidden)
	_, err = e.svc.ServiceAccount(e.ctx, w.maint, w.groupRes(), w.dev.User.ID)
	wantKind(t, err, botgate.KindNotFound)
}
