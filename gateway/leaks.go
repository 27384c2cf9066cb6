package gateway

import (
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// LeakEvent is the JSON body of the webhook posted to a token's owning team
// when the token is reported leaked and revoked. It holds no secret.
type LeakEvent struct {
	Event      string    `json:"event"` // "token.leaked"
	Time       time.Time `json:"time"`
	TokenID    int64     `json:"token_id"`
	TokenName  string    `json:"token_name"`
	Automation string    `json:"automation,omitempty"`
	Username   string    `json:"username"`
	Team       string    `json:"team,omitempty"` // the owning group's full path
	Location   string    `json:"location,omitempty"`
	Revoked    bool      `json:"revoked"`
}

// NotifyLeak tells the owning team of a token revoked as leaked, through
// the same team webhooks as loop trips, in the background. It implements
// httpapi.LeakNotifier.
func (g *Gateway) NotifyLeak(t *botgate.Token, u *botgate.User, location string) {
	if len(g.cfg.webhooks) == 0 || t == nil || u == nil {
		return
	}
	ev := LeakEvent{Event: authority.ActionTokenLeaked, Time: g.clock.Now().UTC(), TokenID: t.ID, TokenName: t.Name,
		Automation: t.Automation, Username: u.Username, Location: location, Revoked: true}
	id := &authority.Identity{Token: t, User: u}
	g.goBG(func() {
		g.notifyTeam(id, ev.Event, ev.TokenID, func(team string) any { ev.Team = team; return ev })
	})
}
