package authority_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/sqlite"
)

func TestReportLeakWho(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	target, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deploy", Scopes: []string{"api"}, AccessLevel: botgate.MaintainerAccess})
	if err != nil {
		t.Fatal(err)
	}
	scanner, err := e.svc.CreatePersonalToken(e.ctx, w.guest, w.guest.User.ID, authority.NewToken{Name: "scanner", Scopes: []string{"revoke_leaked"}})
	if err != nil {
		t.Fatal(err)
	}
	withAPI, err := e.svc.CreatePersonalToken(e.ctx, w.owner, w.owner.User.ID, authority.NewToken{Name: "cli", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	report := authority.LeakReport{Secret: target.Secret, Location: "https://example.com/x#L1"}
	for _, tc := range []struct {
		name  string
		actor authority.Actor
	}{
		{"a user without a token", w.owner},
		{"the owner's api token", authority.Actor{User: w.owner.User, Token: withAPI.Token}},
	} {
		t.Run(tc.name+" may not", func(t *testing.T) {
			_, err := e.svc.ReportLeak(e.ctx, tc.actor, report)
			wantKind(t, err, botgate.KindForbidden)
		})
	}
	t.Run("a guest's revoke_leaked token may", func(t *testing.T) {
		res, err := e.svc.ReportLeak(e.ctx, authority.Actor{User: w.guest.User, Token: scanner.Token}, report)
		if err != nil || res.Status != authority.LeakRevoked || res.Token.ID != target.Token.ID {
			t.Fatalf("%+v, %v", res, err)
		}
		if _, err := e.auth(target.Secret, authority.PurposeAPI); !botgate.IsKind(err, botgate.KindUnauthenticated) {
			t.Errorf("the reported token still authenticates: %v", err)
		}
		evs := e.audit(botgate.AuditFilter{Action: authority.ActionTokenLeaked})
		if len(evs) != 1 || evs[0].ActorID != w.guest.User.ID || evs[0].TokenID != scanner.Token.ID {
			t.Errorf("events %+v, want one by the guest through the scanner token", evs)
		}
	})
	t.Run("a malformed string is unknown without store access", func(t *testing.T) {
		before := e.store.Views()
		res, err := e.svc.ReportLeak(e.ctx, e.admin, authority.LeakReport{Secret: corrupt(target.Secret)})
		if err != nil || res.Status != authority.LeakUnknown || res.Token != nil {
			t.Fatalf("%+v, %v", res, err)
		}
		if e.store.Views() != before {
			t.Error("the store was read")
		}
	})
}

func TestReportLeakExpired(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	exp := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "old", Scopes: []string{"read_api"}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	res, err := e.svc.ReportLeak(e.ctx, e.admin, authority.LeakReport{Secret: c.Secret, Location: "x"})
	if err != nil || res.Status != authority.LeakInactive {
		t.Fatalf("%+v, %v; want already inactive", res, err)
	}
	if n := len(e.audit(botgate.AuditFilter{Action: botgate.ActionTokenRevoke})); n != 0 {
		t.Errorf("%d revocations of an expired token", n)
	}
	evs := e.audit(botgate.AuditFilter{Action: authority.ActionTokenLeaked})
	if len(evs) != 1 || evs[0].Details["was_active"] != "false" {
		t.Errorf("events %+v", evs)
	}
}

// TestReportLeakConcurrent reports one token many times at once through
// two services on two store instances of one database: exactly one report
// revokes it, every other says it was already inactive, and every report is
// audited.
func TestReportLeakConcurrent(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	c, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deploy", Scopes: []string{"api"}, AccessLevel: botgate.MaintainerAccess})
	if err != nil {
		t.Fatal(err)
	}
	st2, err := sqlite.Open(e.ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	svc2, err := authority.New(authority.Config{Store: st2, Pepper: pepper, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc2.Close() })
	const n = 8
	statuses := make(chan authority.LeakStatus, n)
	var wg sync.WaitGroup
	for i := range n {
		svc := e.svc
		if i%2 == 1 {
			svc = svc2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.ReportLeak(e.ctx, e.admin, authority.LeakReport{Secret: c.Secret, Location: "https://example.com/f#L" + itoa(int64(i))})
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- res.Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[authority.LeakStatus]int{}
	for s := range statuses {
		count[s]++
	}
	if count[authority.LeakRevoked] != 1 || count[authority.LeakInactive] != n-1 {
		t.Errorf("statuses %v, want 1 revoked and %d already inactive", count, n-1)
	}
	if got := len(e.audit(botgate.AuditFilter{Action: botgate.ActionTokenRevoke, TargetID: c.Token.ID})); got != 1 {
		t.Errorf("%d token.revoke events, want 1", got)
	}
	if got := len(e.audit(botgate.AuditFilter{Action: authority.ActionTokenLeaked})); got != n {
		t.Errorf("%d token.leaked events, want %d", got, n)
	}
	if r, err := e.svc.VerifyAudit(e.ctx); err != nil || !r.OK() {
		t.Errorf("audit chain: %+v, %v", r, err)
	}
}

// TestReportLeakRedactsEverySpelling: the recorded location holds no copy
// of the reported token (nor of another token of the instance) however the
// location spells it: as is, %-encoded once or twice, upper-cased, or both.
func TestReportLeakRedactsEverySpelling(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	other, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "other", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	encodeAll := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
		return b.String()
	}
	base := "https://gitlab.example.com/g/p/-/blob/main/ci.yml?token="
	tests := []struct {
		name string
		loc  func(secret string) string
	}{
		{"Plain", func(s string) string { return base + s + "#L3" }},
		{"QueryEscaped", func(s string) string { return base + url.QueryEscape(s) + "#L3" }},
		{"EveryByteEncoded", func(s string) string { return base + encodeAll(s) + "#L3" }},
		{"DoubleEncoded", func(s string) string { return base + url.QueryEscape(encodeAll(s)) }},
		{"TripleEncoded", func(s string) string { return base + url.QueryEscape(url.QueryEscape(encodeAll(s))) }},
		{"UpperCase", func(s string) string { return base + strings.ToUpper(s) }},
		{"UpperCaseEncoded", func(s string) string { return base + encodeAll(strings.ToUpper(s)) }},
		{"LowerCase", func(s string) string { return strings.ToLower(base + s) }},
		{"AnotherToken", func(s string) string {
			return base + other.Secret + "&also=" + url.QueryEscape(strings.ToUpper(other.Secret))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "leaky", Scopes: []string{"read_api"}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.svc.ReportLeak(e.ctx, e.admin, authority.LeakReport{Secret: c.Secret, Location: tt.loc(c.Secret)})
			if err != nil || res.Status != authority.LeakRevoked {
				t.Fatalf("%+v, %v", res, err)
			}
			var recorded string
			for _, ev := range e.audit(botgate.AuditFilter{Action: authority.ActionTokenLeaked}) {
				if ev.TargetID == c.Token.ID {
					recorded = ev.Details["location"]
				}
			}
			if !strings.HasPrefix(strings.ToLower(recorded), "https://gitlab.example.com/g/p/-/blob/main/ci.yml") {
				t.Errorf("recorded location %q lost where the token was found", recorded)
			}
			for _, got := range []string{recorded, res.Location} {
				if !strings.Contains(got, "[REDACTED]") {
					t.Errorf("location %q redacts nothing", got)
				}
				for _, secret := range []string{c.Secret, other.Secret} {
					body := strings.TrimPrefix(secret, "glpat-")
					// Any spelling: compare with the decoded, lower-cased
					// location, and look for the secret's body, which
					// survives a changed prefix.
					plain := strings.ToLower(got)
					for range 4 {
						if u, err := url.QueryUnescape(plain); err == nil {
							plain = u
						}
					}
					if strings.Contains(plain, strings.ToLower(body)) {
						t.Errorf("location %q holds a copy of a token", got)
					}
				}
			}
		})
	}
	t.Run("TooDeep", func(t *testing.T) {
		c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "deep", Scopes: []string{"read_api"}})
		if err != nil {
			t.Fatal(err)
		}
		loc := encodeAll(c.Secret)
		for range 8 {
			loc = url.QueryEscape(loc)
		}
		res, err := e.svc.ReportLeak(e.ctx, e.admin, authority.LeakReport{Secret: c.Secret, Location: base + loc})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Location, "%") {
			t.Errorf("a location encoded beyond the bound is recorded as %q, want it withheld", res.Location)
		}
	})
}
