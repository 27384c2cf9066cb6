package authority_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

func TestRecordGatewayEvent(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	newToken := func(name string) *authority.Created {
		t.Helper()
		c, err := e.svc.CreateResourceToken(e.ctx, w.owner, botgate.Resource{Type: botgate.ProjectResource, ID: w.project.ID},
			authority.NewToken{Name: name, Scopes: []string{"api"}, Automation: "looper"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	events := func(action string, tokenID int64) []*botgate.AuditEvent {
		t.Helper()
		var evs []*botgate.AuditEvent
		err := e.store.View(e.ctx, func(tx botgate.Tx) (err error) {
			evs, err = tx.FindAudit(e.ctx, botgate.AuditFilter{Action: action, TargetID: tokenID})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	t.Run("Invalid", func(t *testing.T) {
		_, err := e.svc.RecordGatewayEvent(e.ctx, authority.GatewayEvent{Action: authority.ActionGatewayLoopTripped})
		if !botgate.IsKind(err, botgate.KindInvalid) {
			t.Errorf("no token: %v, want KindInvalid", err)
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		_, err := e.svc.RecordGatewayEvent(e.ctx, authority.GatewayEvent{Action: authority.ActionGatewayLoopTripped, Token: &botgate.Token{ID: 999999}})
		if !botgate.IsKind(err, botgate.KindNotFound) {
			t.Errorf("unknown token: %v, want KindNotFound", err)
		}
	})
	t.Run("RecordOnly", func(t *testing.T) {
		c := newToken("watch-only")
		suspended, err := e.svc.RecordGatewayEvent(e.ctx, authority.GatewayEvent{Action: authority.ActionGatewayLoopTripped,
			Token: c.Token, User: c.User, IP: "192.0.2.7", Details: map[string]string{"count": "51"}})
		if err != nil || suspended {
			t.Fatalf("got %v, %v; want recorded, not suspended", suspended, err)
		}
		evs := events(authority.ActionGatewayLoopTripped, c.Token.ID)
		if len(evs) != 1 || evs[0].ActorID != c.User.ID || evs[0].TokenID != c.Token.ID || evs[0].IP != "192.0.2.7" ||
			evs[0].Details["count"] != "51" || evs[0].Details["suspend"] != "" {
			t.Errorf("events %+v", evs)
		}
		if _, err := e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{}); err != nil {
			t.Errorf("the token no longer authenticates: %v", err)
		}
	})
	t.Run("Suspend", func(t *testing.T) {
		c := newToken("runaway")
		if _, err := e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{}); err != nil {
			t.Fatal(err) // cached now: suspension must purge it
		}
		ev := authority.GatewayEvent{Action: authority.ActionGatewayLoopTripped, Token: c.Token, User: c.User,
			Suspend: true, SuspendReason: "runaway loop"}
		suspended, err := e.svc.RecordGatewayEvent(e.ctx, ev)
		if err != nil || !suspended {
			t.Fatalf("got %v, %v; want suspended", suspended, err)
		}
		if _, err := e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{}); !botgate.IsKind(err, botgate.KindUnauthenticated) {
			t.Errorf("a suspended token authenticates: %v", err)
		}
		rev := events(botgate.ActionTokenRevoke, c.Token.ID)
		if len(rev) != 1 || rev[0].ActorName != "botgate" || rev[0].Details["reason"] != "runaway loop" {
			t.Errorf("revocation events %+v", rev)
		}
		bot, err := e.svc.User(e.ctx, c.User.ID)
		if err != nil || bot.Active() {
			t.Errorf("the project bot is still active (%v)", err)
		}
		// A second trip of the same, already revoked, token records the
		// event but suspends nothing.
		suspended, err = e.svc.RecordGatewayEvent(e.ctx, ev)
		if err != nil || suspended {
			t.Errorf("second trip: %v, %v; want recorded, not suspended again", suspended, err)
		}
		trips := events(authority.ActionGatewayLoopTripped, c.Token.ID)
		if len(trips) != 2 || trips[0].Details["suspend"] != "true" || trips[1].Details["suspend"] != "false" {
			t.Errorf("trip events %+v", trips)
		}
		if n := len(events(botgate.ActionTokenRevoke, c.Token.ID)); n != 1 {
			t.Errorf("%d revocation events, want 1", n)
		}
	})
	if res, err := e.svc.VerifyAudit(e.ctx); err != nil || !res.OK() {
		t.Errorf("audit chain after gateway events: %+v %v", res, err)
	}
}
