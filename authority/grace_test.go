package authority_test

import (
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// graceEnv is an env with the rotation grace window set, a developer's
// personal token and its rotation.
type graceEnv struct {
	*env
	dev            authority.Actor
	old, new       *authority.Created
	oldSec, newSec string
}

func newGraceEnv(t *testing.T, grace time.Duration) *graceEnv {
	t.Helper()
	e := newEnv(t, func(c *authority.Config) { c.RotationGrace = grace })
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "ci", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	r, err := e.svc.RotateToken(e.ctx, w.dev, c.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &graceEnv{env: e, dev: w.dev, old: c, new: r, oldSec: c.Secret, newSec: r.Secret}
}

func (g *graceEnv) wantRefused(t *testing.T, secret string, p authority.Purpose) {
	t.Helper()
	_, err := g.auth(secret, p)
	wantKind(t, err, botgate.KindUnauthenticated)
	if r := botgate.ReasonOf(err); r != botgate.ReasonTokenRevoked {
		t.Fatalf("reason %v, want %v", r, botgate.ReasonTokenRevoked)
	}
}

func TestRotationGraceDefaultOff(t *testing.T) {
	g := newGraceEnv(t, 0)
	g.wantRefused(t, g.oldSec, authority.PurposeAPI)
}

func TestRotationGraceWindow(t *testing.T) {
	g := newGraceEnv(t, 10*time.Minute)

	t.Run("within the window the old token authenticates as itself", func(t *testing.T) {
		g.clock.Advance(9 * time.Minute)
		id, err := g.auth(g.oldSec, authority.PurposeAPI)
		if err != nil {
			t.Fatal(err)
		}
		if id.Token.ID != g.old.Token.ID || id.User.ID != g.dev.User.ID {
			t.Fatalf("identity token %d user %d", id.Token.ID, id.User.ID)
		}
		// Used again: audited once per cached authentication, not per request.
		if _, err := g.auth(g.oldSec, authority.PurposeAPI); err != nil {
			t.Fatal(err)
		}
		if err := g.svc.SyncAudit(g.ctx); err != nil {
			t.Fatal(err)
		}
		evs := g.audit(botgate.AuditFilter{Action: botgate.ActionAuthRotatedGrace})
		if len(evs) != 1 {
			t.Fatalf("grace events %+v, want 1", evs)
		}
		e := evs[0]
		if e.TokenID != g.old.Token.ID || e.Details["reason"] != "authenticated with rotated token within grace" ||
			e.Details["successor_id"] != itoa(g.new.Token.ID) || e.IP != "192.0.2.1" {
			t.Errorf("event %+v", e)
		}
	})

	t.Run("it cannot mint tokens", func(t *testing.T) {
		id, err := g.auth(g.oldSec, authority.PurposeAPI)
		if err != nil {
			t.Fatal(err)
		}
		a := id.Actor(authority.RequestMeta{})
		_, err = g.svc.CreatePersonalToken(g.ctx, a, g.dev.User.ID, authority.NewToken{Name: "more", Scopes: []string{"api"}})
		wantKind(t, err, botgate.KindForbidden)
	})

	t.Run("after the window it is refused", func(t *testing.T) {
		g.clock.Advance(time.Minute)
		g.wantRefused(t, g.oldSec, authority.PurposeAPI)
		if _, err := g.auth(g.newSec, authority.PurposeAPI); err != nil {
			t.Fatalf("the new token: %v", err)
		}
	})
}

func TestRotationGraceNeverForRotate(t *testing.T) {
	g := newGraceEnv(t, time.Hour)
	if _, err := g.auth(g.oldSec, authority.PurposeAPI); err != nil {
		t.Fatalf("within grace: %v", err)
	}
	// Presented to rotate, the old token revokes its family, grace or not.
	g.wantRefused(t, g.oldSec, authority.PurposeRotate)
	g.wantRefused(t, g.newSec, authority.PurposeAPI)
	// With its successor revoked, the old token's grace is over.
	g.wantRefused(t, g.oldSec, authority.PurposeAPI)
	if err := g.svc.SyncAudit(g.ctx); err != nil {
		t.Fatal(err)
	}
	if evs := g.audit(botgate.AuditFilter{Action: botgate.ActionTokenFamilyRevoke}); len(evs) != 1 {
		t.Fatalf("family revoke events %+v", evs)
	}
}

func TestRotationGraceEnds(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, g *graceEnv)
	}{
		{"the new token revoked", func(t *testing.T, g *graceEnv) {
			if err := g.svc.RevokeToken(g.ctx, g.dev, g.new.Token.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"the new token rotated in turn", func(t *testing.T, g *graceEnv) {
			if _, err := g.svc.RotateToken(g.ctx, g.dev, g.new.Token.ID, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"the old token's id revoked", func(t *testing.T, g *graceEnv) {
			if err := g.svc.RevokeToken(g.ctx, g.dev, g.old.Token.ID); err != nil {
				t.Fatalf("revoking a token within its grace window: %v", err)
			}
			if _, err := g.auth(g.newSec, authority.PurposeAPI); err != nil {
				t.Fatalf("the new token must survive: %v", err)
			}
			// Once the window is closed, the token is simply revoked:
			// revoking it again changes nothing, and the new token lives on.
			if err := g.svc.RevokeToken(g.ctx, g.dev, g.old.Token.ID); err != nil {
				t.Fatalf("revoking an already revoked token: %v, want success (GitLab answers 204 again)", err)
			}
			if _, err := g.auth(g.newSec, authority.PurposeAPI); err != nil {
				t.Fatalf("the new token must survive a second revoke of the old one: %v", err)
			}
		}},
		{"the old token revoked by an administrator through its secret", func(t *testing.T, g *graceEnv) {
			if err := g.svc.RevokeTokenBySecret(g.ctx, g.admin, g.oldSec); err != nil {
				t.Fatalf("revoking a token within its grace window: %v", err)
			}
		}},
		{"the old token reported leaked", func(t *testing.T, g *graceEnv) {
			res, err := g.svc.ReportLeak(g.ctx, authority.SecretDetectionActor("198.51.100.7", "GitLab"), authority.LeakReport{Secret: g.oldSec, Location: "https://x/y#L1"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != authority.LeakRevoked {
				t.Fatalf("status %s, want %s (its grace ended)", res.Status, authority.LeakRevoked)
			}
			if _, err := g.auth(g.newSec, authority.PurposeAPI); err != nil {
				t.Fatalf("the new token must survive a leak of the old one: %v", err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraceEnv(t, time.Hour)
			if _, err := g.auth(g.oldSec, authority.PurposeAPI); err != nil {
				t.Fatalf("within grace: %v", err)
			}
			tt.end(t, g)
			g.wantRefused(t, g.oldSec, authority.PurposeAPI)
			if err := g.svc.SyncAudit(g.ctx); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tt.name, "the old token") {
				evs := g.audit(botgate.AuditFilter{Action: authority.ActionTokenGraceEnd, TargetID: g.old.Token.ID})
				if len(evs) != 1 || evs[0].Details["successor_id"] != itoa(g.new.Token.ID) {
					t.Errorf("grace end events %+v", evs)
				}
			}
		})
	}
}

func TestRotationGraceNotForRevokedTokens(t *testing.T) {
	e := newEnv(t, func(c *authority.Config) { c.RotationGrace = time.Hour })
	dev := e.human("dana")
	c, err := e.svc.CreatePersonalToken(e.ctx, dev, dev.User.ID, authority.NewToken{Name: "ci", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeToken(e.ctx, dev, c.Token.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.auth(c.Secret, authority.PurposeAPI)
	wantKind(t, err, botgate.KindUnauthenticated)
}

// TestRotationGraceNotForConsoleSignIn: the grace window keeps running
// jobs going; it is no way in for a person. A rotated-out token signing in
// to the console is refused as revoked, and no sign-in is audited (before,
// it got a session, audited, which died on the next page).
func TestRotationGraceNotForConsoleSignIn(t *testing.T) {
	g := newGraceEnv(t, 10*time.Minute)
	g.clock.Advance(time.Minute)
	_, err := g.svc.SignIn(g.ctx, g.oldSec, authority.RequestMeta{IP: "192.0.2.1"})
	wantKind(t, err, botgate.KindUnauthenticated)
	if r := botgate.ReasonOf(err); r != botgate.ReasonTokenRevoked {
		t.Fatalf("reason %v, want %v", r, botgate.ReasonTokenRevoked)
	}
	if evs := g.audit(botgate.AuditFilter{Action: authority.ActionConsoleSignIn}); len(evs) != 0 {
		t.Fatalf("sign-ins audited: %+v", evs)
	}
	if _, err := g.svc.SignIn(g.ctx, g.newSec, authority.RequestMeta{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("the new token signs in: %v", err)
	}
}
