package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
	"github.com/botgate/botgate/console"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/identity"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/vault"
)

// The authorization matrix's fixture: one team (group "platform" with the
// project "platform/app"), an actor at each role with a token of each scope
// and a token in each dead state, and the shared targets the read cases
// look at. Writing cases get targets of their own (see mx.fresh*).

// mActor is who presents a token in the matrix.
type mActor struct {
	name        string
	kind        string // the token kind: personal, project, group, service-account
	admin       bool
	deactivated bool
	onG, onP    botgate.AccessLevel // direct memberships of the group and the project
}

// human reports whether the actor is a person (not a bot or service account).
func (a *mActor) human() bool { return a.kind == "personal" }

// bot reports whether the actor is a project or group bot.
func (a *mActor) bot() bool { return a.kind == "project" || a.kind == "group" }

// level is the actor's effective access on the team's group ("G"), its
// project ("P"), or a new child of the group ("inG").
func (a *mActor) level(where string) botgate.AccessLevel {
	if a.admin {
		return botgate.OwnerAccess
	}
	switch where {
	case "G", "inG":
		return a.onG
	case "P":
		return max(a.onG, a.onP)
	}
	panic("unknown place " + where)
}

var matrixActors = []*mActor{
	{name: "admin", kind: "personal", admin: true},
	{name: "owner", kind: "personal", onG: botgate.OwnerAccess},
	{name: "maintainer", kind: "personal", onG: botgate.MaintainerAccess},
	{name: "developer", kind: "personal", onG: botgate.DeveloperAccess},
	{name: "reporter", kind: "personal", onG: botgate.ReporterAccess},
	{name: "nonmember", kind: "personal"},
	{name: "project-maintainer", kind: "personal", onP: botgate.MaintainerAccess}, // outside the team
	{name: "project-bot", kind: "project", onP: botgate.MaintainerAccess},
	{name: "group-bot", kind: "group", onG: botgate.DeveloperAccess},
	{name: "service-account", kind: "service-account", onP: botgate.DeveloperAccess},
	{name: "deactivated", kind: "personal", onG: botgate.DeveloperAccess, deactivated: true},
}

// matrixScopes are the scopes each actor holds a token of, one scope a
// token; bots cannot hold read_user, and only administrators hold the
// administrator scopes (sudo alone gives no access to the API).
func matrixScopes(a *mActor) []string {
	switch {
	case a.bot():
		return []string{"api", "read_api", "self_rotate", "read_secret", "manage_automations"}
	case a.admin:
		return []string{"api", "read_api", "read_user", "self_rotate", "read_secret", "sudo", "admin_mode", "manage_automations"}
	}
	return []string{"api", "read_api", "read_user", "self_rotate", "read_secret", "manage_automations"}
}

// The token states.
const (
	stActive  = "active"
	stExpired = "expired"
	stRevoked = "revoked"
	stRotated = "rotated-out"
)

var matrixStates = []string{stActive, stExpired, stRevoked, stRotated}

type tokKey struct{ actor, scope, state string }

type mToken struct {
	secret string
	id     int64
	userID int64
}

// mx is the running server and its fixture.
type mx struct {
	*env
	ctx     context.Context
	admin   authority.Actor
	v       *authority.Vault
	g       *botgate.Group
	p       *botgate.Project
	users   map[string]*botgate.User // actor name -> user (bots: the first token's bot)
	sa      *botgate.User            // the service account actor
	tokens  map[tokKey]mToken
	victim  *botgate.User // a person who is no actor
	victimT mToken        // one of the victim's tokens
	// Shared targets for the cases that never reach a handler, and for reads.
	pTok, gTok     int64 // a Guest project and group access token
	teamSA, projSA *botgate.User
	teamSATok      mToken // read_secret, bindable
	projSATok      int64
	upstreamID     int64
	n              int
	deadURL        string
	// The gateway: its proxy, and how many requests reached the API
	// behind it.
	proxy     *httptest.Server
	forwarded *atomic.Int64
	// The console's sessions, by the token that signed in; the team's
	// automation (a project access token on its project).
	sessions   map[string]consoleSession
	automation string
	st         botgate.Store
	// cfg is the server's configuration (checkParts looks at it).
	cfg httpapi.Config
}

// partsLeftOut are the httpapi.Config fields the matrix's server leaves
// unset, each with the reason. Every other field must be set: an optional
// part left out registers no routes, and the matrix would not see them.
var partsLeftOut = map[string]string{
	"Ready":                "always ready: the readiness route is covered either way",
	"Trust":                "no reverse proxy in front; forwarded headers are not what the matrix is about",
	"MaxBodyBytes":         "the default",
	"BodyReadTimeout":      "the default",
	"Limiter":              "rate limiting has its own tests; a 429 would hide the outcome under test",
	"APILimit":             "no limiter",
	"Leaks":                "tells no one; registers no route",
	"TokenRevocationToken": "none configured: the token revocation rows expect every call refused",
}

// checkParts fails for every httpapi.Config field the matrix's server
// leaves unset without a reason in partsLeftOut, so that a new optional
// part (and its routes) cannot be left out of the matrix unnoticed.
func checkParts(t *testing.T, cfg httpapi.Config) {
	t.Helper()
	v := reflect.ValueOf(cfg)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		_, left := partsLeftOut[name]
		switch zero := v.Field(i).IsZero(); {
		case zero && !left:
			t.Errorf("the matrix's server leaves httpapi.Config.%s unset: set it, so its routes are in the matrix, or say in partsLeftOut why not", name)
		case !zero && left:
			t.Errorf("httpapi.Config.%s is set, but partsLeftOut says it is left out", name)
		}
	}
	for name := range partsLeftOut {
		if _, ok := v.Type().FieldByName(name); !ok {
			t.Errorf("partsLeftOut names httpapi.Config.%s, which does not exist", name)
		}
	}
}

func openSQLiteMatrix(t *testing.T, log *slog.Logger) botgate.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "botgate.db"), sqlite.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openPostgresMatrix(t *testing.T, log *slog.Logger) botgate.Store {
	st, err := postgres.Open(context.Background(), pgtest.Schema(t, pgtest.URL(t, "the authorization matrix on PostgreSQL")), postgres.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newMatrix starts the server on the store with every optional part
// enabled (vault, broker, lint), and builds the fixture through the
// authority.
func newMatrix(t *testing.T, open func(t *testing.T, log *slog.Logger) botgate.Store) *mx {
	t.Helper()
	ctx := context.Background()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := open(t, log)
	pepper := make([]byte, 32)
	if _, err := rand.Read(pepper); err != nil {
		t.Fatal(err)
	}
	clock := ratelimit.NewManualClock(time.Date(2026, 11, 24, 10, 11, 12, 0, time.UTC))
	auth, err := authority.New(authority.Config{Store: st, Pepper: pepper, Clock: clock, Logger: log, Host: "botgate.test"})
	if err != nil {
		t.Fatal(err)
	}
	rootUser, tok, secret, err := auth.Bootstrap(ctx, authority.NewUser{Username: "root", Name: "Administrator", Email: "root@botgate.test"})
	if err != nil {
		t.Fatal(err)
	}
	mk, err := vault.NewMasterKey(bytes.Repeat([]byte{7}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := vault.NewKeyring(rand.Reader, mk)
	if err != nil {
		t.Fatal(err)
	}
	v := auth.Vault(kr)
	b, err := broker.New(broker.Config{Store: st, Vault: v, Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway as serve mounts it: forward-auth and metrics on the API's
	// listener, the proxy on its own, in front of a stand-in GitLab.
	forwarded := &atomic.Int64{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(upstream.Close)
	gwCfg, err := gateway.ParseConfig([]byte("routes:\n  - {name: gitlab, upstream: " + upstream.URL + ", gitlab: true, credential: 'env:UPSTREAM_TOKEN'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Authority: auth, Store: st, Config: gwCfg, Clock: clock, Logger: log,
		Getenv: func(k string) string { return map[string]string{"UPSTREAM_TOKEN": "upstream-credential"}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	// Every part server.New gives the API: the console and the workload
	// identity exchange too.
	linter := func(ctx context.Context, cfg lint.Config) (*lint.Report, error) { return &lint.Report{}, nil }
	con, err := console.New(console.Config{Authority: auth, Store: st, Vault: v, Linter: linter, Logger: log, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	gov, err := governance.New(governance.Config{Authority: auth, Store: st, Vault: v, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	x, err := identity.New(identity.Config{Store: st, Minter: auth, Upstream: b, Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Authority: auth, Store: st, Logger: log, Version: "test", Clock: clock,
		Vault: v, Broker: b, Linter: linter, Console: con, Exchanger: x, Governance: governance.API{Governor: gov}, Reissuer: gov.Reissue,
		ForwardAuth: gw.ForwardAuth(), Metrics: gw.MetricsHandler(), MetricsPublic: true}
	api := httpapi.New(cfg)
	proxy := httptest.NewServer(gw.Proxy())
	srv := httptest.NewServer(api)
	e := &env{t: t, srv: srv, auth: auth, clock: clock, logs: logs, root: secret, rootID: tok.ID}
	e.remember(secret)
	t.Cleanup(func() {
		srv.Close()
		proxy.Close()
		if err := gw.Close(); err != nil {
			t.Errorf("closing gateway: %v", err)
		}
		if err := auth.Close(); err != nil {
			t.Errorf("closing authority: %v", err)
		}
		if c, ok := st.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				t.Errorf("closing store: %v", err)
			}
		}
		e.checkLogs()
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	m := &mx{env: e, ctx: ctx, admin: authority.Actor{User: rootUser}, v: v,
		users: map[string]*botgate.User{}, tokens: map[tokKey]mToken{}, deadURL: dead.URL, sessions: map[string]consoleSession{}, st: st,
		proxy: proxy, forwarded: forwarded, cfg: cfg}
	m.build(t)
	return m
}

func (m *mx) name(prefix string) string {
	m.n++
	return fmt.Sprintf("%s%d", prefix, m.n)
}

func (m *mx) check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (m *mx) res(where string) botgate.Resource {
	if where == "G" {
		return botgate.Resource{Type: botgate.GroupResource, ID: m.g.ID}
	}
	return botgate.Resource{Type: botgate.ProjectResource, ID: m.p.ID}
}

func (m *mx) keep(c *authority.Created) mToken {
	m.remember(c.Secret)
	uid := c.Token.UserID
	return mToken{secret: c.Secret, id: c.Token.ID, userID: uid}
}

// mint makes a new token for the actor with the scope (an active one,
// valid for the policy's default lifetime unless exp is set).
func (m *mx) mint(t *testing.T, a *mActor, scope string, exp *time.Time) mToken {
	t.Helper()
	in := authority.NewToken{Name: m.name(a.name + "-"), Scopes: []string{scope}, ExpiresAt: exp}
	var c *authority.Created
	var err error
	switch a.kind {
	case "personal":
		c, err = m.auth.CreatePersonalToken(m.ctx, m.admin, m.users[a.name].ID, in)
	case "project":
		in.AccessLevel = a.onP
		c, err = m.auth.CreateResourceToken(m.ctx, m.admin, m.res("P"), in)
	case "group":
		in.AccessLevel = a.onG
		c, err = m.auth.CreateResourceToken(m.ctx, m.admin, m.res("G"), in)
	case "service-account":
		c, err = m.auth.CreateServiceAccountToken(m.ctx, m.admin, m.sa.ID, in)
	}
	m.check(t, err)
	if a.bot() && m.users[a.name] == nil {
		m.users[a.name] = c.User
	}
	return m.keep(c)
}

func (m *mx) build(t *testing.T) {
	t.Helper()
	ctx, admin := m.ctx, m.admin
	var err error
	mkUser := func(name string) *botgate.User {
		u, err := m.auth.CreateUser(ctx, admin, authority.NewUser{Username: name, Name: name, Email: name + "@botgate.test"})
		m.check(t, err)
		return u
	}
	m.users["admin"], err = m.auth.User(ctx, admin.User.ID)
	m.check(t, err)
	for _, a := range matrixActors {
		if a.human() && !a.admin {
			m.users[a.name] = mkUser(a.name)
		}
	}
	m.victim = mkUser("victim")
	m.g, err = m.auth.CreateGroup(ctx, authority.Actor{User: m.users["owner"]}, authority.NewGroup{Name: "Platform", Path: "platform"})
	m.check(t, err)
	m.p, err = m.auth.CreateProject(ctx, admin, authority.NewProject{Name: "App", Path: "app", NamespaceID: m.g.ID})
	m.check(t, err)
	// The team's automation, which the console creates tokens of, and
	// which trusts a workload identity (of an issuer nobody runs here).
	m.automation = "triage"
	m.check(t, m.st.Update(ctx, func(tx botgate.Tx) error {
		return tx.CreateAutomation(ctx, &botgate.Automation{Name: m.automation, OwnerGroupID: m.g.ID, Kind: botgate.AutomationProjectToken,
			Projects: []string{"platform/app"}, Scopes: botgate.Scopes{botgate.ScopeReadAPI}, AccessLevel: botgate.ReporterAccess,
			Trust: []botgate.TrustPolicy{{Issuer: m.deadURL, Audience: "botgate", MaxTTL: botgate.DefaultWorkloadTTL,
				Claims: map[string]string{"project_path": "platform/app"}}},
			CreatedAt: m.clock.Now(), UpdatedAt: m.clock.Now()})
	}))
	m.sa, err = m.auth.CreateServiceAccount(ctx, admin, m.res("G"), authority.NewServiceAccount{Name: "sa-actor", Username: "sa-actor"})
	m.check(t, err)
	m.users["service-account"] = m.sa
	for _, a := range matrixActors {
		u := m.users[a.name]
		if u == nil || a.admin || a.name == "owner" {
			continue
		}
		if a.onG > 0 {
			_, err = m.auth.AddMember(ctx, admin, m.res("G"), u.ID, a.onG, nil)
			m.check(t, err)
		}
		if a.onP > 0 {
			_, err = m.auth.AddMember(ctx, admin, m.res("P"), u.ID, a.onP, nil)
			m.check(t, err)
		}
	}
	// Expired tokens first: they expire tomorrow, and the clock then moves
	// two days on.
	tomorrow := botgate.Date(m.clock.Now()).AddDate(0, 0, 1)
	for _, a := range matrixActors {
		m.tokens[tokKey{a.name, "api", stExpired}] = m.mint(t, a, "api", &tomorrow)
	}
	m.clock.Advance(48 * time.Hour)
	for _, a := range matrixActors {
		for _, sc := range matrixScopes(a) {
			m.tokens[tokKey{a.name, sc, stActive}] = m.mint(t, a, sc, nil)
		}
		rv := m.mint(t, a, "api", nil)
		m.check(t, m.auth.RevokeToken(ctx, admin, rv.id))
		m.tokens[tokKey{a.name, "api", stRevoked}] = rv
		ro := m.mint(t, a, "api", nil)
		succ, err := m.auth.RotateToken(ctx, admin, ro.id, nil)
		m.check(t, err)
		m.remember(succ.Secret)
		m.tokens[tokKey{a.name, "api", stRotated}] = ro
	}
	m.check(t, m.auth.DeactivateUser(ctx, admin, m.users["deactivated"].ID))
	m.victimT = m.freshPAT(t, m.victim.ID)
	m.pTok = m.freshResToken(t, "P", botgate.GuestAccess)
	m.gTok = m.freshResToken(t, "G", botgate.GuestAccess)
	m.teamSA = m.freshSA(t, "G")
	c, err := m.auth.CreateServiceAccountToken(ctx, admin, m.teamSA.ID, authority.NewToken{Name: "team-sa", Scopes: []string{"read_secret"}})
	m.check(t, err)
	m.teamSATok = m.keep(c)
	m.projSA = m.freshSA(t, "P")
	c, err = m.auth.CreateServiceAccountToken(ctx, admin, m.projSA.ID, authority.NewToken{Name: "proj-sa", Scopes: []string{"read_api"}})
	m.check(t, err)
	m.projSATok = m.keep(c).id
	// The team's secret, bound to the service account actor's read_secret
	// token family, and the upstream broker's admin credential.
	m.freshSecret(t, "deploy-key", m.tokens[tokKey{"service-account", "read_secret", stActive}].id)
	m.freshSecret(t, "gitlab-admin", 0)
	m.upstreamID = m.freshUpstream(t)
}

func (m *mx) freshUser(t *testing.T) *botgate.User {
	n := m.name("user")
	u, err := m.auth.CreateUser(m.ctx, m.admin, authority.NewUser{Username: n, Name: n, Email: n + "@botgate.test"})
	m.check(t, err)
	return u
}

func (m *mx) freshSubgroup(t *testing.T) int64 {
	n := m.name("sub")
	g, err := m.auth.CreateGroup(m.ctx, m.admin, authority.NewGroup{Name: n, Path: n, ParentID: m.g.ID})
	m.check(t, err)
	return g.ID
}

func (m *mx) freshProject(t *testing.T) int64 {
	n := m.name("proj")
	p, err := m.auth.CreateProject(m.ctx, m.admin, authority.NewProject{Name: n, Path: n, NamespaceID: m.g.ID})
	m.check(t, err)
	return p.ID
}

func (m *mx) freshMember(t *testing.T, where string, level botgate.AccessLevel) int64 {
	u := m.freshUser(t)
	_, err := m.auth.AddMember(m.ctx, m.admin, m.res(where), u.ID, level, nil)
	m.check(t, err)
	return u.ID
}

func (m *mx) freshResToken(t *testing.T, where string, level botgate.AccessLevel) int64 {
	c, err := m.auth.CreateResourceToken(m.ctx, m.admin, m.res(where), authority.NewToken{Name: m.name("restok"), Scopes: []string{"read_api"}, AccessLevel: level})
	m.check(t, err)
	return m.keep(c).id
}

// freshBoundResToken is a read_secret access token of the group or project,
// bound to a new secret of the team.
func (m *mx) freshBoundResToken(t *testing.T, where string) int64 {
	c, err := m.auth.CreateResourceToken(m.ctx, m.admin, m.res(where), authority.NewToken{Name: m.name("bound"), Scopes: []string{"read_secret"}, AccessLevel: botgate.GuestAccess})
	m.check(t, err)
	id := m.keep(c).id
	m.freshSecret(t, "", id)
	return id
}

// freshBoundSAToken is a read_secret token of the service account, bound
// to a new secret of the team.
func (m *mx) freshBoundSAToken(t *testing.T, saID int64) int64 {
	c, err := m.auth.CreateServiceAccountToken(m.ctx, m.admin, saID, authority.NewToken{Name: m.name("bound"), Scopes: []string{"read_secret"}})
	m.check(t, err)
	id := m.keep(c).id
	m.freshSecret(t, "", id)
	return id
}

func (m *mx) freshSA(t *testing.T, where string) *botgate.User {
	owner := botgate.Resource{}
	if where != "" {
		owner = m.res(where)
	}
	u, err := m.auth.CreateServiceAccount(m.ctx, m.admin, owner, authority.NewServiceAccount{Name: m.name("sa")})
	m.check(t, err)
	return u
}

func (m *mx) freshSAToken(t *testing.T, saID int64) int64 {
	c, err := m.auth.CreateServiceAccountToken(m.ctx, m.admin, saID, authority.NewToken{Name: m.name("satok"), Scopes: []string{"read_api"}})
	m.check(t, err)
	return m.keep(c).id
}

func (m *mx) freshPAT(t *testing.T, userID int64) mToken {
	c, err := m.auth.CreatePersonalToken(m.ctx, m.admin, userID, authority.NewToken{Name: m.name("pat"), Scopes: []string{"read_api"}})
	m.check(t, err)
	return m.keep(c)
}

// freshSecret stores a secret in the team's vault, bound to the token's
// family if bindTo is not zero.
func (m *mx) freshSecret(t *testing.T, name string, bindTo int64) string {
	if name == "" {
		name = m.name("secret")
	}
	_, _, err := m.v.PutSecret(m.ctx, m.admin, authority.NewSecret{GroupID: m.g.ID, Name: name, Value: []byte("value-of-" + name)})
	m.check(t, err)
	if bindTo != 0 {
		_, err = m.v.BindSecret(m.ctx, m.admin, m.g.ID, name, bindTo)
		m.check(t, err)
	}
	return name
}

func (m *mx) upstreamBody(automation string) map[string]any {
	return map[string]any{"group": "platform", "automation": automation, "upstream_url": m.deadURL, "admin_secret": "gitlab-admin",
		"kind": "project_access", "target": "acme/app", "scopes": []string{"read_api"}, "lifetime_days": 10, "rotate_before_days": 2}
}

// freshUpstream registers an upstream credential (pending: its upstream is
// down) through the API as the administrator.
func (m *mx) freshUpstream(t *testing.T) int64 {
	r := m.postJSON("POST", "/api/botgate/v1/upstream_credentials", m.root, m.upstreamBody(m.name("auto")))
	if r.status != http.StatusAccepted {
		t.Fatalf("registering an upstream credential = %d %s", r.status, r.body)
	}
	return int64(r.json(t)["id"].(float64))
}

// auditSeq is the sequence number of the newest audit event.
func (m *mx) auditSeq(t *testing.T) int64 {
	evs, err := m.auth.AuditEvents(m.ctx, m.admin, botgate.AuditFilter{Descending: true, Page: botgate.Page{Limit: 1}})
	m.check(t, err)
	if len(evs) == 0 {
		return 0
	}
	return evs[0].Seq
}

// changesSince returns the audited state changes after seq: every event
// but authentication failures and refused secret access.
func (m *mx) changesSince(t *testing.T, seq int64, allow ...string) []string {
	evs, err := m.auth.AuditEvents(m.ctx, m.admin, botgate.AuditFilter{AfterSeq: seq, Page: botgate.Page{Limit: 100}})
	m.check(t, err)
	var out []string
	for _, e := range evs {
		switch e.Action {
		case botgate.ActionAuthFailed, botgate.ActionAuthFailedSummary, botgate.ActionSecretReadDenied, botgate.ActionSecretDenied, botgate.ActionSecretRead:
			continue
		}
		if slices.Contains(allow, e.Action) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s#%d", e.Action, e.TargetType, e.TargetID))
	}
	return out
}
