package broker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
	"github.com/botgate/botgate/broker/vaultcred"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/vault"
)

// upstream is a second, real botgate serving /api/v4, in front of which
// faults can be switched on.
type upstream struct {
	auth    *authority.Service
	store   *sqlite.Store
	srv     *httptest.Server
	admin   string // the upstream admin's token
	adminA  authority.Actor
	group   *botgate.Group
	project *botgate.Project
	creates atomic.Int64 // token-creating requests seen
	failing atomic.Bool  // answer token-creating requests with 502
	// onCreate, if set, runs before each token-creating request is served.
	onCreate atomic.Pointer[func()]
}

func newUpstream(t *testing.T, c *ratelimit.ManualClock, logs io.Writer) *upstream {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "upstream.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth, err := authority.New(authority.Config{Store: st, Pepper: []byte("upstream pepper, thirty-two byte"), Clock: c, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	u, _, secret, err := auth.Bootstrap(ctx, authority.NewUser{Username: "root", Email: "root@upstream.example"})
	if err != nil {
		t.Fatal(err)
	}
	up := &upstream{auth: auth, store: st, admin: secret, adminA: authority.Actor{User: u}}
	if up.group, err = auth.CreateGroup(ctx, up.adminA, authority.NewGroup{Name: "Acme", Path: "acme"}); err != nil {
		t.Fatal(err)
	}
	if up.project, err = auth.CreateProject(ctx, up.adminA, authority.NewProject{Name: "App", Path: "app", NamespaceID: up.group.ID}); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Authority: auth, Store: st, Logger: log, Version: botgate.Version})
	up.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creating := r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/access_tokens") || strings.HasSuffix(r.URL.Path, "/personal_access_tokens"))
		if creating {
			up.creates.Add(1)
			if f := up.onCreate.Load(); f != nil {
				(*f)()
			}
			if up.failing.Load() {
				http.Error(w, `{"message":"502 Bad Gateway"}`, http.StatusBadGateway)
				return
			}
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(up.srv.Close)
	return up
}

// works reports whether a token authenticates on the upstream.
func (up *upstream) works(t *testing.T, secret string) bool {
	t.Helper()
	up.auth.Purge()
	_, err := up.auth.Authenticate(context.Background(), secret, authority.RequestMeta{})
	return err == nil
}

// local is the botgate that brokers: its store, vault and broker.
type local struct {
	store *sqlite.Store
	auth  *authority.Service
	vault *authority.Vault
	b     *broker.Broker
	owner authority.Actor
	team  *botgate.Group
	dev   authority.Actor
}

func newLocal(t *testing.T, c *ratelimit.ManualClock, path string, logs io.Writer, bootstrap bool) *local {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth, err := authority.New(authority.Config{Store: st, Pepper: []byte("local pepper, thirty-two bytes.."), Clock: c, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	mk, err := vault.NewMasterKey(bytes.Repeat([]byte{7}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := vault.NewKeyring(rand.Reader, mk)
	if err != nil {
		t.Fatal(err)
	}
	l := &local{store: st, auth: auth, vault: auth.Vault(kr)}
	l.b, err = broker.New(broker.Config{Store: st, Vault: l.vault, Clock: c, Logger: log, BackoffBase: time.Minute, BackoffMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !bootstrap {
		return l
	}
	if _, _, _, err := auth.Bootstrap(ctx, authority.NewUser{Username: "root", Email: "root@local.example"}); err != nil {
		t.Fatal(err)
	}
	ou, err := auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: "olivia", Email: "olivia@local.example"})
	if err != nil {
		t.Fatal(err)
	}
	l.owner = authority.Actor{User: ou}
	if l.team, err = auth.CreateGroup(ctx, l.owner, authority.NewGroup{Name: "Platform", Path: "platform"}); err != nil {
		t.Fatal(err)
	}
	du, err := auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: "dana", Email: "dana@local.example"})
	if err != nil {
		t.Fatal(err)
	}
	l.dev = authority.Actor{User: du}
	if _, err := auth.AddMember(ctx, l.owner, botgate.Resource{Type: botgate.GroupResource, ID: l.team.ID}, du.ID, botgate.DeveloperAccess, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

// value reads the automation's minted token from the vault.
func (l *local) value(t *testing.T, automation string) string {
	t.Helper()
	v, _, err := l.vault.ReadSecret(context.Background(), l.owner, l.team.ID, broker.SecretName(automation))
	if err != nil {
		t.Fatalf("reading the minted token of %s: %v", automation, err)
	}
	return string(v)
}

func (l *local) audit(t *testing.T, action string) []*botgate.AuditEvent {
	t.Helper()
	var out []*botgate.AuditEvent
	if err := l.store.View(context.Background(), func(tx botgate.Tx) (err error) {
		out, err = tx.FindAudit(context.Background(), botgate.AuditFilter{Action: action})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

type fixture struct {
	clock *ratelimit.ManualClock
	logs  *logbuf.Buffer
	up    *upstream
	l     *local
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)), logs: &logbuf.Buffer{}}
	f.up = newUpstream(t, f.clock, f.logs)
	f.l = newLocal(t, f.clock, filepath.Join(t.TempDir(), "local.db"), f.logs, true)
	if _, _, err := f.l.vault.PutSecret(context.Background(), f.l.owner, authority.NewSecret{
		GroupID: f.l.team.ID, Name: "gitlab-admin", Value: []byte(f.up.admin)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(t *testing.T, in broker.NewCredential) *botgate.UpstreamCredential {
	t.Helper()
	in.GroupID, in.UpstreamURL, in.AdminSecret = f.l.team.ID, f.up.srv.URL, "gitlab-admin"
	c, err := f.l.b.Create(context.Background(), f.l.owner, in)
	if err != nil {
		t.Fatalf("Create(%s): %v", in.Automation, err)
	}
	return c
}

func TestBrokerMintRotateRevoke(t *testing.T) {
	kinds := []struct {
		name   string
		kind   botgate.TokenKind
		target func(up *upstream) string
		check  func(t *testing.T, up *upstream, u *botgate.User)
	}{
		{"project access token", botgate.ProjectAccessToken, func(up *upstream) string { return "acme/app" },
			func(t *testing.T, up *upstream, u *botgate.User) {
				if u.Kind != botgate.ProjectBot || u.Owner != (botgate.Resource{Type: botgate.ProjectResource, ID: up.project.ID}) {
					t.Fatalf("minted token proves %+v, want a bot of project %d", u, up.project.ID)
				}
			}},
		{"group access token", botgate.GroupAccessToken, func(up *upstream) string { return fmt.Sprint(up.group.ID) },
			func(t *testing.T, up *upstream, u *botgate.User) {
				if u.Kind != botgate.GroupBot || u.Owner.ID != up.group.ID {
					t.Fatalf("minted token proves %+v, want a bot of group %d", u, up.group.ID)
				}
			}},
		{"service account token", botgate.ServiceAccountToken, func(up *upstream) string { return "acme" },
			func(t *testing.T, up *upstream, u *botgate.User) {
				if u.Kind != botgate.ServiceAccount || u.Owner.ID != up.group.ID {
					t.Fatalf("minted token proves %+v, want a service account of group %d", u, up.group.ID)
				}
			}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			c := f.create(t, broker.NewCredential{
				Automation: "triage", Kind: k.kind, Target: k.target(f.up), TokenName: "triage bot",
				Scopes: []string{"read_api", "read_repository"}, AccessLevel: botgate.ReporterAccess,
				Lifetime: 30 * 24 * time.Hour, RotateBefore: 7 * 24 * time.Hour, AutoRotate: true,
			})
			if c.State != botgate.UpstreamActive || c.UpstreamTokenID == 0 || c.ExpiresAt == nil {
				t.Fatalf("after Create: %+v", c)
			}
			if want := botgate.Date(f.clock.Now()).AddDate(0, 0, 30); !c.ExpiresAt.Equal(want) {
				t.Fatalf("expires %v, want %v", c.ExpiresAt, want)
			}
			first := f.l.value(t, "triage")
			id, err := f.up.auth.Authenticate(ctx, first, authority.RequestMeta{})
			if err != nil {
				t.Fatalf("the minted token does not authenticate upstream: %v", err)
			}
			k.check(t, f.up, id.User)
			if id.Token.ID != c.UpstreamTokenID || id.Token.Name != "triage bot" || id.Token.Scopes.String() != "read_api read_repository" {
				t.Fatalf("upstream token = %+v", id.Token)
			}

			// Outside the lead time, the scheduler leaves it alone.
			s, err := broker.NewScheduler(broker.SchedulerConfig{Broker: f.l.b, Holder: "server-a", NotifyWithin: -1})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(22 * 24 * time.Hour)
			if rep, err := s.RunOnce(ctx); err != nil || len(rep.Rotated) != 0 {
				t.Fatalf("run 8 days before expiry: %+v, %v", rep, err)
			}
			// Inside it, the token is rotated upstream before it expires.
			f.clock.Advance(24 * time.Hour)
			rep, err := s.RunOnce(ctx)
			if err != nil || len(rep.Rotated) != 1 || len(rep.Failed) != 0 {
				t.Fatalf("run 7 days before expiry: %+v, %v", rep, err)
			}
			second := f.l.value(t, "triage")
			if second == first || !f.up.works(t, second) || f.up.works(t, first) {
				t.Fatalf("after rotation: new token works=%v, old token works=%v", f.up.works(t, second), f.up.works(t, first))
			}
			got, err := f.l.b.Credential(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.PendingRevokeID != 0 || got.UpstreamTokenID == c.UpstreamTokenID || !got.ExpiresAt.After(*c.ExpiresAt) {
				t.Fatalf("after rotation: %+v", got)
			}
			if k.kind == botgate.ServiceAccountToken && got.ServiceAccountID != c.ServiceAccountID {
				t.Fatalf("service account changed on rotation: %d -> %d", c.ServiceAccountID, got.ServiceAccountID)
			}
			if ev := f.l.audit(t, botgate.ActionUpstreamRotate); len(ev) != 1 {
				t.Fatalf("rotate audit events: %d", len(ev))
			}

			// Removing the automation revokes upstream and drops the stored token.
			if err := f.l.b.RemoveAutomation(ctx, f.l.owner, f.l.team.ID, "triage"); err != nil {
				t.Fatal(err)
			}
			if f.up.works(t, second) {
				t.Fatal("the token still works upstream after the automation was removed")
			}
			if _, _, err := f.l.vault.ReadSecret(ctx, f.l.owner, f.l.team.ID, broker.SecretName("triage")); !botgate.IsKind(err, botgate.KindNotFound) {
				t.Fatalf("minted token still in the vault: %v", err)
			}
			for _, a := range []string{botgate.ActionUpstreamCreate, botgate.ActionUpstreamMint, botgate.ActionUpstreamRevoke} {
				if len(f.l.audit(t, a)) == 0 {
					t.Errorf("no %s audit event", a)
				}
			}
			// The admin credential is still there, and was never shown.
			assertNoSecrets(t, f, first, second)
		})
	}
}

// assertNoSecrets scans logs and the local audit log for the admin
// credential and the given token values.
func assertNoSecrets(t *testing.T, f *fixture, values ...string) {
	t.Helper()
	var hay strings.Builder
	hay.WriteString(f.logs.String())
	for _, e := range f.l.audit(t, "") {
		fmt.Fprintf(&hay, "%+v\n", *e)
	}
	if !strings.Contains(hay.String(), "upstream.") {
		t.Fatal("the scan saw no broker audit events; it would catch nothing")
	}
	for _, v := range append([]string{f.up.admin}, values...) {
		if v != "" && strings.Contains(hay.String(), v) {
			t.Errorf("a secret value appears in logs or audit: %.12s…", v)
		}
	}
}

func TestBrokerUpstreamFailureMidRotationKeepsOldToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.create(t, broker.NewCredential{Automation: "release", Kind: botgate.ProjectAccessToken, Target: "acme/app",
		Scopes: []string{"api"}, AutoRotate: true})
	old := f.l.value(t, "release")
	s, err := broker.NewScheduler(broker.SchedulerConfig{Broker: f.l.b, Holder: "a", NotifyWithin: -1})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * 24 * time.Hour) // inside the 7-day lead time of a 30-day token
	f.up.failing.Store(true)
	rep, err := s.RunOnce(ctx)
	if err != nil || len(rep.Failed) != 1 || len(rep.Rotated) != 0 {
		t.Fatalf("run against a failing upstream: %+v, %v", rep, err)
	}
	got, _ := f.l.b.Credential(ctx, c.ID)
	if got.UpstreamTokenID != c.UpstreamTokenID || got.Attempts != 1 || got.NextAttemptAt == nil ||
		!got.NextAttemptAt.Equal(f.clock.Now().Add(time.Minute)) || !strings.Contains(got.LastError, "502") {
		t.Fatalf("after a failed rotation: %+v", got)
	}
	if f.l.value(t, "release") != old || !f.up.works(t, old) {
		t.Fatal("the old token was replaced or stopped working although no new one was stored")
	}
	if ev := f.l.audit(t, botgate.ActionUpstreamRotateFailed); len(ev) != 1 || ev[0].Details["attempt"] != "1" {
		t.Fatalf("rotate_failed audit = %+v", ev)
	}
	// Backoff: no retry before the next attempt time, then twice as long.
	creates := f.up.creates.Load()
	if rep, _ := s.RunOnce(ctx); len(rep.Failed)+len(rep.Rotated) != 0 || f.up.creates.Load() != creates {
		t.Fatalf("retried before the backoff elapsed: %+v", rep)
	}
	f.clock.Advance(time.Minute)
	s.RunOnce(ctx)
	got, _ = f.l.b.Credential(ctx, c.ID)
	if got.Attempts != 2 || !got.NextAttemptAt.Equal(f.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("second failure: attempts %d next %v", got.Attempts, got.NextAttemptAt)
	}
	// The upstream recovers: the rotation goes through.
	f.up.failing.Store(false)
	f.clock.Advance(2 * time.Minute)
	rep, err = s.RunOnce(ctx)
	if err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("run after recovery: %+v, %v", rep, err)
	}
	fresh := f.l.value(t, "release")
	if fresh == old || !f.up.works(t, fresh) || f.up.works(t, old) {
		t.Fatal("after recovery the new token should work and the old one not")
	}
	got, _ = f.l.b.Credential(ctx, c.ID)
	if got.Attempts != 0 || got.NextAttemptAt != nil || got.LastError != "" {
		t.Fatalf("after success the failure state remains: %+v", got)
	}
	assertNoSecrets(t, f, old, fresh)
}

func TestBrokerRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := broker.NewCredential{GroupID: f.l.team.ID, Automation: "x", UpstreamURL: f.up.srv.URL, AdminSecret: "gitlab-admin",
		Kind: botgate.ProjectAccessToken, Target: "acme/app", Scopes: []string{"api"}}
	tests := []struct {
		name  string
		actor authority.Actor
		edit  func(*broker.NewCredential)
		want  botgate.Kind
	}{
		{"developer", f.l.dev, nil, botgate.KindForbidden},
		{"no scopes", f.l.owner, func(n *broker.NewCredential) { n.Scopes = nil }, botgate.KindInvalid},
		{"bad kind", f.l.owner, func(n *broker.NewCredential) { n.Kind = botgate.PersonalToken }, botgate.KindInvalid},
		{"credentials in url", f.l.owner, func(n *broker.NewCredential) { n.UpstreamURL = "https://u:p@gitlab.example" }, botgate.KindInvalid},
		{"unknown admin secret", f.l.owner, func(n *broker.NewCredential) { n.AdminSecret = "nope" }, botgate.KindInvalid},
		{"lead time too long", f.l.owner, func(n *broker.NewCredential) { n.RotateBefore = 40 * 24 * time.Hour }, botgate.KindInvalid},
		{"unknown upstream project", f.l.owner, func(n *broker.NewCredential) { n.Target = "acme/nothing" }, botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Automation = strings.ReplaceAll(tt.name, " ", "-")
			if tt.edit != nil {
				tt.edit(&in)
			}
			_, err := f.l.b.Create(ctx, tt.actor, in)
			if !botgate.IsKind(err, tt.want) {
				t.Fatalf("Create: %v (kind %v), want %v", err, botgate.KindOf(err), tt.want)
			}
		})
	}
	// A credential whose mint failed stays pending with the reason.
	var pending []*botgate.UpstreamCredential
	pending, err := f.l.b.List(ctx, f.l.owner, f.l.team.ID)
	if err != nil || len(pending) != 1 || pending[0].State != botgate.UpstreamPending || !strings.Contains(pending[0].LastError, "404") {
		t.Fatalf("pending credentials = %+v, %v", pending, err)
	}
}

func TestSchedulerLeaseTwoServers(t *testing.T) {
	c := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	logs := &logbuf.Buffer{}
	up := newUpstream(t, c, logs)
	path := filepath.Join(t.TempDir(), "shared.db")
	a := newLocal(t, c, path, logs, true)
	b := newLocal(t, c, path, logs, false) // a second server on the same database
	ctx := context.Background()
	if _, _, err := a.vault.PutSecret(ctx, a.owner, authority.NewSecret{GroupID: a.team.ID, Name: "gitlab-admin", Value: []byte(up.admin)}); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		if _, err := a.b.Create(ctx, a.owner, broker.NewCredential{GroupID: a.team.ID, Automation: fmt.Sprintf("bot-%d", i),
			UpstreamURL: up.srv.URL, AdminSecret: "gitlab-admin", Kind: botgate.ProjectAccessToken, Target: "acme/app",
			Scopes: []string{"read_api"}, AutoRotate: true}); err != nil {
			t.Fatal(err)
		}
	}
	sa, _ := broker.NewScheduler(broker.SchedulerConfig{Broker: a.b, Holder: "server-a", Interval: time.Minute, NotifyWithin: -1})
	sb, _ := broker.NewScheduler(broker.SchedulerConfig{Broker: b.b, Holder: "server-b", Interval: time.Minute, NotifyWithin: -1})
	c.Advance(24 * 24 * time.Hour)
	before := up.creates.Load()
	var wg sync.WaitGroup
	reps := make([]broker.Report, 2)
	errs := make([]error, 2)
	for i, s := range []*broker.Scheduler{sa, sb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = s.RunOnce(ctx)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("RunOnce: %v, %v", errs[0], errs[1])
	}
	if reps[0].Skipped == reps[1].Skipped {
		t.Fatalf("both or neither server ran: %+v / %+v", reps[0], reps[1])
	}
	rotated := len(reps[0].Rotated) + len(reps[1].Rotated)
	if rotated != n || up.creates.Load()-before != n {
		t.Fatalf("rotated %d credentials with %d upstream creates, want %d each", rotated, up.creates.Load()-before, n)
	}
	// The lease holder keeps it; the other server takes over once it lapses.
	winner, loser := sa, sb
	if reps[0].Skipped {
		winner, loser = sb, sa
	}
	if rep, _ := loser.RunOnce(ctx); !rep.Skipped {
		t.Fatal("the other server ran while the lease was held")
	}
	if rep, _ := winner.RunOnce(ctx); rep.Skipped {
		t.Fatal("the lease holder could not renew")
	}
	c.Advance(4 * time.Minute)
	if rep, _ := loser.RunOnce(ctx); rep.Skipped || len(rep.Rotated) != 0 {
		t.Fatalf("after the lease lapsed: %+v (want a run that rotates nothing more)", rep)
	}
}

// TestSchedulerWebhookFailureHidesURL checks that a webhook that cannot be
// reached is reported and logged without its URL, which for incoming
// webhooks is a credential.
func TestSchedulerWebhookFailureHidesURL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gone := httptest.NewServer(http.NotFoundHandler())
	hookURL := gone.URL + "/services/T0/B0/hook-secret"
	gone.Close() // nothing listens there any more
	f.create(t, broker.NewCredential{Automation: "mirror", Kind: botgate.ProjectAccessToken, Target: "acme/app",
		Scopes: []string{"read_repository"}, Notify: hookURL, AutoRotate: false})
	s, err := broker.NewScheduler(broker.SchedulerConfig{Broker: f.l.b, Holder: "a", NotifyWithin: 10 * 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * 24 * time.Hour)
	rep, err := s.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || len(rep.Notified) != 0 {
		t.Fatalf("report %+v; want one failed notice", rep)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "expiry webhook failed") {
		t.Fatalf("the failure was not logged:\n%s", logs)
	}
	if strings.Contains(logs, "hook-secret") {
		t.Fatalf("the log shows the webhook URL:\n%s", logs)
	}
}

func TestSchedulerWebhookForExpiringTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		notices []broker.ExpiryNotice
		status  atomic.Int64
	)
	status.Store(http.StatusInternalServerError)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n broker.ExpiryNotice
		if r.Header.Get("X-Botgate-Event") != "upstream_token_expiring" || json.NewDecoder(r.Body).Decode(&n) != nil {
			http.Error(w, "bad notice", http.StatusBadRequest)
			return
		}
		mu.Lock()
		notices = append(notices, n)
		mu.Unlock()
		w.WriteHeader(int(status.Load()))
	}))
	defer hook.Close()
	c := f.create(t, broker.NewCredential{Automation: "mirror", Kind: botgate.ProjectAccessToken, Target: "acme/app",
		Scopes: []string{"read_repository"}, Notify: hook.URL, AutoRotate: false})
	s, err := broker.NewScheduler(broker.SchedulerConfig{Broker: f.l.b, Holder: "a", NotifyWithin: 10 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		advance  time.Duration
		status   int
		notified int
		failed   int
		received int
	}{
		{"not yet within notice", 19 * 24 * time.Hour, 200, 0, 0, 0},
		{"within notice, hook fails", 24 * time.Hour, 500, 0, 1, 1},
		{"hook recovers", time.Minute, 200, 1, 0, 2},
		{"told once per token", time.Hour, 200, 0, 0, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clock.Advance(st.advance)
			status.Store(int64(st.status))
			rep, err := s.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := len(notices)
			mu.Unlock()
			if len(rep.Notified) != st.notified || len(rep.Failed) != st.failed || got != st.received || len(rep.Rotated) != 0 {
				t.Fatalf("report %+v, webhook received %d; want notified %d failed %d received %d", rep, got, st.notified, st.failed, st.received)
			}
		})
	}
	mu.Lock()
	n := notices[len(notices)-1]
	mu.Unlock()
	if n.Automation != "mirror" || n.UpstreamTokenID != c.UpstreamTokenID || n.DaysLeft != 10 || n.ExpiresAt != c.ExpiresAt.Format(botgate.DateFormat) {
		t.Fatalf("notice = %+v", n)
	}
	if ev := f.l.audit(t, botgate.ActionUpstreamExpiring); len(ev) != 1 {
		t.Fatalf("expiry audit events: %d", len(ev))
	}
}

func TestVaultCredentialsForGateway(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create(t, broker.NewCredential{Automation: "triage", Kind: botgate.ProjectAccessToken, Target: "acme/app", Scopes: []string{"read_api"}})
	minted := f.l.value(t, "triage")
	p, err := f.l.auth.CreateProject(ctx, f.l.owner, authority.NewProject{Name: "Triage", Path: "triage", NamespaceID: f.l.team.ID})
	if err != nil {
		t.Fatal(err)
	}
	res := botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}
	bound, err := f.l.auth.CreateResourceToken(ctx, f.l.owner, res, authority.NewToken{Name: "triage", Scopes: []string{"read_api", "read_secret"}, Automation: "triage"})
	if err != nil {
		t.Fatal(err)
	}
	// Another automation's token claiming the same label is not bound.
	imposter, err := f.l.auth.CreateResourceToken(ctx, f.l.owner, res, authority.NewToken{Name: "other", Scopes: []string{"read_api", "read_secret"}, Automation: "triage"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.l.vault.BindSecret(ctx, f.l.owner, f.l.team.ID, broker.SecretName("triage"), bound.Token.ID); err != nil {
		t.Fatal(err)
	}
	src := &vaultcred.Source{Vault: f.l.vault, Clock: f.clock, TTL: time.Minute}
	perAutomation := gateway.Route{Name: "gitlab", Credential: "vault:platform/upstream-{automation}", Header: "Private-Token"}
	routeWide := gateway.Route{Name: "gitlab-admin", Credential: "vault:platform/gitlab-admin", Header: "Authorization", Prefix: "Bearer "}
	tests := []struct {
		name   string
		route  gateway.Route
		id     *authority.Identity
		header string
		value  string
		want   botgate.Kind // KindOther: allowed
	}{
		{"bound automation gets its own token", perAutomation, &authority.Identity{User: bound.User, Token: bound.Token}, "Private-Token", minted, botgate.KindOther},
		{"unbound token with the same label", perAutomation, &authority.Identity{User: imposter.User, Token: imposter.Token}, "", "", botgate.KindNotFound},
		{"route credential read by botgate", routeWide, &authority.Identity{User: imposter.User, Token: imposter.Token}, "Authorization", "Bearer " + f.up.admin, botgate.KindOther},
		{"not a vault reference", gateway.Route{Name: "x", Credential: "env:X"}, nil, "", "", botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, v, err := src.Credential(ctx, tt.route, tt.id)
			if tt.want != botgate.KindOther {
				if !botgate.IsKind(err, tt.want) || v != "" {
					t.Fatalf("Credential = %q, %v; want kind %v", v, err, tt.want)
				}
				if strings.Contains(err.Error(), minted) {
					t.Fatal("the error shows the secret")
				}
				return
			}
			if err != nil || h != tt.header || v != tt.value {
				t.Fatalf("Credential = %q, %.14q…, %v", h, v, err)
			}
		})
	}
	// Within the TTL the value comes from memory: no further vault read.
	reads := len(f.l.audit(t, botgate.ActionSecretRead))
	id := &authority.Identity{User: bound.User, Token: bound.Token}
	for range 5 {
		if _, _, err := src.Credential(ctx, perAutomation, id); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.l.audit(t, botgate.ActionSecretRead)); got != reads {
		t.Fatalf("cached credential read the vault %d more times", got-reads)
	}
	f.clock.Advance(2 * time.Minute)
	if _, _, err := src.Credential(ctx, perAutomation, id); err != nil {
		t.Fatal(err)
	}
	if got := len(f.l.audit(t, botgate.ActionSecretRead)); got != reads+1 {
		t.Fatalf("after the TTL: %d new vault reads, want 1", got-reads)
	}
}

func TestSchedulerStopsWhenItLosesTheLease(t *testing.T) {
	c := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	logs := &logbuf.Buffer{}
	up := newUpstream(t, c, logs)
	path := filepath.Join(t.TempDir(), "shared.db")
	a := newLocal(t, c, path, logs, true)
	b := newLocal(t, c, path, logs, false)
	ctx := context.Background()
	if _, _, err := a.vault.PutSecret(ctx, a.owner, authority.NewSecret{GroupID: a.team.ID, Name: "gitlab-admin", Value: []byte(up.admin)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := a.b.Create(ctx, a.owner, broker.NewCredential{GroupID: a.team.ID, Automation: fmt.Sprintf("bot-%d", i),
			UpstreamURL: up.srv.URL, AdminSecret: "gitlab-admin", Kind: botgate.ProjectAccessToken, Target: "acme/app",
			Scopes: []string{"read_api"}, AutoRotate: true}); err != nil {
			t.Fatal(err)
		}
	}
	sa, _ := broker.NewScheduler(broker.SchedulerConfig{Broker: a.b, Holder: "server-a", Interval: time.Minute, NotifyWithin: -1})
	c.Advance(24 * 24 * time.Hour)
	// While server a mints its first replacement, it stalls past its lease
	// and server b takes the lease over.
	var once sync.Once
	hook := func() {
		once.Do(func() {
			c.Advance(10 * time.Minute)
			if err := b.store.Update(ctx, func(tx botgate.Tx) error {
				_, err := tx.AcquireLease(ctx, broker.LeaseName, "server-b", c.Now(), 3*time.Minute)
				return err
			}); err != nil {
				t.Errorf("server b taking the lapsed lease: %v", err)
			}
		})
	}
	up.onCreate.Store(&hook)
	rep, err := sa.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rotated) != 1 || rep.Skipped {
		t.Fatalf("server a after losing its lease: %+v; want it to finish the step in hand and stop", rep)
	}
}

func TestBrokerScrubsAnEchoedAdminCredential(t *testing.T) {
	f := newFixture(t)
	// An upstream that echoes the credential it was given in its error.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"message": "token " + r.Header.Get("Private-Token") + " is not allowed here"})
	}))
	defer echo.Close()
	c, err := f.l.b.Create(context.Background(), f.l.owner, broker.NewCredential{GroupID: f.l.team.ID, Automation: "echo",
		UpstreamURL: echo.URL, AdminSecret: "gitlab-admin", Kind: botgate.GroupAccessToken, Target: "acme", Scopes: []string{"api"}})
	if err == nil || c == nil || c.State != botgate.UpstreamPending {
		t.Fatalf("Create against a refusing upstream: %+v, %v", c, err)
	}
	if strings.Contains(err.Error(), f.up.admin) || strings.Contains(c.LastError, f.up.admin) {
		t.Fatal("the upstream admin credential leaked into an error")
	}
	if !strings.Contains(c.LastError, "[REDACTED]") || !strings.Contains(c.LastError, "HTTP 400") {
		t.Fatalf("last error %q should keep the upstream's message, redacted", c.LastError)
	}
	assertNoSecrets(t, f)
}

func TestConcurrentRotationsStoreOneTokenAndRevokeTheOther(t *testing.T) {
	c := ratelimit.NewManualClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	logs := &logbuf.Buffer{}
	up := newUpstream(t, c, logs)
	path := filepath.Join(t.TempDir(), "shared.db")
	a := newLocal(t, c, path, logs, true)
	b := newLocal(t, c, path, logs, false)
	ctx := context.Background()
	if _, _, err := a.vault.PutSecret(ctx, a.owner, authority.NewSecret{GroupID: a.team.ID, Name: "gitlab-admin", Value: []byte(up.admin)}); err != nil {
		t.Fatal(err)
	}
	cred, err := a.b.Create(ctx, a.owner, broker.NewCredential{GroupID: a.team.ID, Automation: "race", UpstreamURL: up.srv.URL,
		AdminSecret: "gitlab-admin", Kind: botgate.ProjectAccessToken, Target: "acme/app", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	// Both servers mint before either stores: hold every create until both arrived.
	var arrived sync.WaitGroup
	arrived.Add(2)
	hook := func() { arrived.Done(); arrived.Wait() }
	up.onCreate.Store(&hook)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, br := range []*broker.Broker{a.b, b.b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = br.Rotate(ctx, authority.SystemActor(), cred.ID)
		}()
	}
	wg.Wait()
	up.onCreate.Store(nil)
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !botgate.IsKind(err, botgate.KindConflict):
			t.Fatalf("rotation: %v, want success or conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d rotations won, want 1 (%v)", won, errs)
	}
	// Upstream, exactly one token of the project is active: the stored one.
	stored := a.value(t, "race")
	toks, total, err := func() ([]*botgate.Token, int, error) {
		var out []*botgate.Token
		var n int
		err := up.store.View(ctx, func(tx botgate.Tx) (err error) {
			out, n, err = tx.FindTokens(ctx, botgate.TokenFilter{Kinds: []botgate.TokenKind{botgate.ProjectAccessToken}, Revoked: new(bool)})
			return err
		})
		return out, n, err
	}()
	if err != nil || total != 1 || !up.works(t, stored) {
		t.Fatalf("active upstream tokens: %d (%v); the stored one works: %v", total, err, up.works(t, stored))
	}
	got, _ := a.b.Credential(ctx, cred.ID)
	if got.UpstreamTokenID != toks[0].ID || got.Attempts != 0 || got.PendingRevokeID != 0 {
		t.Fatalf("credential after the race: %+v (active upstream token %d)", got, toks[0].ID)
	}
	if ev := a.audit(t, botgate.ActionUpstreamRotateFailed); len(ev) != 1 || !strings.Contains(ev[0].Details["reason"], "concurrent rotation won") {
		t.Fatalf("lost race audit = %+v", ev)
	}
}

func TestRevokeGraceKeepsTheOldTokenForCachingReaders(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	graced, err := broker.New(broker.Config{Store: f.l.store, Vault: f.l.vault, Clock: f.clock, RevokeGrace: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := f.create(t, broker.NewCredential{Automation: "mirror", Kind: botgate.ProjectAccessToken, Target: "acme/app", Scopes: []string{"read_api"}})
	old := f.l.value(t, "mirror")
	if err := graced.Rotate(ctx, f.l.owner, c.ID); err != nil {
		t.Fatal(err)
	}
	fresh := f.l.value(t, "mirror")
	got, _ := graced.Credential(ctx, c.ID)
	if fresh == old || !f.up.works(t, fresh) || !f.up.works(t, old) || got.PendingRevokeID != c.UpstreamTokenID {
		t.Fatalf("within the grace: new works=%v, old works=%v, pending revoke %d", f.up.works(t, fresh), f.up.works(t, old), got.PendingRevokeID)
	}
	s, _ := broker.NewScheduler(broker.SchedulerConfig{Broker: graced, Holder: "a", NotifyWithin: -1})
	if rep, _ := s.RunOnce(ctx); len(rep.Revoked) != 0 || !f.up.works(t, old) {
		t.Fatalf("revoked before the grace passed: %+v", rep)
	}
	f.clock.Advance(2 * time.Minute)
	if rep, err := s.RunOnce(ctx); err != nil || len(rep.Revoked) != 1 || f.up.works(t, old) || !f.up.works(t, fresh) {
		t.Fatalf("after the grace: %+v, %v; old works=%v", rep, err, f.up.works(t, old))
	}
	got, _ = graced.Credential(ctx, c.ID)
	if got.PendingRevokeID != 0 || got.NextAttemptAt != nil {
		t.Fatalf("after the revocation: %+v", got)
	}
}
