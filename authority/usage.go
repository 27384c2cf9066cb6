package authority

import (
	"context"
	"maps"

	"github.com/botgate/botgate"
)

// ActionGatewayLoopTripped is the audit action the gateway records, once
// per trip, when a token's runaway loop is cut off.
const ActionGatewayLoopTripped = "gateway.loop_tripped"

// ActionGatewayShadowRefusal is the audit action the gateway records when
// it lets requests through in shadow mode that an automation's rate limit
// or loop breaker would have refused: at most one per automation and
// reason a minute, its "count" detail saying how many requests it stands
// for.
const ActionGatewayShadowRefusal = "gateway.shadow_refusal"

// GatewayEvent is something the gateway saw about a token that must be
// audited, such as a tripped loop breaker. Details must not hold secrets.
type GatewayEvent struct {
	Action    string
	Token     *botgate.Token // the token concerned (required)
	User      *botgate.User  // its user, if known
	IP        string
	UserAgent string
	Details   map[string]string
	// Suspend revokes the token in the same transaction, acting as the
	// system, with SuspendReason recorded on the revocation. Revoking a
	// project or group access token deactivates its bot, as RevokeToken
	// does.
	Suspend       bool
	SuspendReason string
}

// RecordGatewayEvent appends the event to the audit chain as done by the
// token's user through that token, and suspends the token if asked, all in
// one transaction. It reports whether this call revoked the token (false if
// it was revoked already). Errors: KindInvalid without an action or token,
// KindNotFound if the token no longer exists, KindInternal from the store.
func (s *Service) RecordGatewayEvent(ctx context.Context, ev GatewayEvent) (suspended bool, err error) {
	const op = "authority.RecordGatewayEvent"
	if ev.Action == "" || ev.Token == nil {
		return false, botgate.E(op, botgate.Invalid("action", "a gateway event needs an action and a token"))
	}
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
		suspended = false
		t, err := tx.Token(ctx, ev.Token.ID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Token")
		}
		if err != nil {
			return err
		}
		e := s.event(Actor{User: ev.User, Token: t, IP: ev.IP, UserAgent: ev.UserAgent}, ev.Action, "token", t.ID, t.Name)
		e.ActorID = t.UserID
		e.Details = maps.Clone(ev.Details)
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		if ev.Suspend {
			e.Details["suspend"] = boolStr(!t.Revoked)
		}
		if err := s.record(ctx, tx, e); err != nil {
			return err
		}
		if !ev.Suspend || t.Revoked {
			return nil
		}
		if err := s.revoke(ctx, tx, SystemActor(), t, ev.SuspendReason); err != nil {
			return err
		}
		suspended = true
		return nil
	})
	if err != nil {
		return false, botgate.E(op, err)
	}
	if suspended {
		s.log.Warn("token suspended by the gateway", "token_id", ev.Token.ID, "action", ev.Action)
		s.changed([]int64{ev.Token.ID})
	}
	return suspended, nil
}
