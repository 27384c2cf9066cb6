package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/notify"
	"github.com/botgate/botgate/ratelimit"
)

// LoopEvent is the JSON body of the webhook posted to a token's owning
// team when the token trips the loop breaker. It holds no secret.
type LoopEvent struct {
	Event        string    `json:"event"` // "gateway.loop_tripped"
	Time         time.Time `json:"time"`
	TokenID      int64     `json:"token_id"`
	TokenName    string    `json:"token_name"`
	Automation   string    `json:"automation,omitempty"`
	Username     string    `json:"username"`
	Team         string    `json:"team,omitempty"` // the owning group's full path
	Method       string    `json:"method"`
	Route        string    `json:"route"`
	Shape        string    `json:"shape"`
	Count        int       `json:"count"`
	Threshold    int       `json:"threshold"`
	WindowSecs   float64   `json:"window_seconds"`
	BlockedUntil time.Time `json:"blocked_until"`
	Suspended    bool      `json:"suspended"`
	IP           string    `json:"ip,omitempty"`
}

// loopDetected handles a request the breaker denied: on a trip it records
// the one audit event, suspends the token if configured and tells the
// owning team; it returns the 429 error for the caller.
func (g *Gateway) loopDetected(ctx context.Context, o *original, pi *pathInfo, rt *route, id *authority.Identity,
	shape string, v ratelimit.Verdict) error {
	now := g.clock.Now()
	until := now.Add(v.RetryAfter)
	pattern := g.routePattern(o, pi, rt)
	suspended := false
	if v.Outcome == ratelimit.Tripped {
		g.metrics.loopTrips.Inc()
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		var err error
		suspended, err = g.auth.RecordGatewayEvent(actx, authority.GatewayEvent{
			Action: authority.ActionGatewayLoopTripped, Token: id.Token, User: id.User,
			IP: o.ip, UserAgent: o.userAgent,
			Details: map[string]string{
				"method": o.method, "route": pattern, "shape": shape,
				"count": strconv.Itoa(v.Count), "threshold": strconv.Itoa(v.Threshold),
				"window": v.Window.String(), "blocked_until": until.UTC().Format(time.RFC3339),
				"route_name": rt.name,
			},
			Suspend:       g.cfg.suspend,
			SuspendReason: "runaway loop detected by the gateway",
		})
		cancel()
		if err != nil {
			g.log.Error("recording a loop trip", "token_id", id.Token.ID, "err", err)
		}
		if suspended {
			g.metrics.suspensions.Inc()
		}
		g.log.Warn("runaway loop cut off", "token_id", id.Token.ID, "automation", id.Token.Automation,
			"method", o.method, "route", pattern, "count", v.Count, "suspended", suspended)
		ev := LoopEvent{
			Event: authority.ActionGatewayLoopTripped, Time: now.UTC(), TokenID: id.Token.ID, TokenName: id.Token.Name,
			Automation: id.Token.Automation, Username: id.User.Username, Method: o.method, Route: pattern,
			Shape: shape, Count: v.Count, Threshold: v.Threshold, WindowSecs: v.Window.Seconds(),
			BlockedUntil: until.UTC(), Suspended: suspended, IP: o.ip,
		}
		g.goBG(func() {
			g.notifyTeam(id, ev.Event, ev.TokenID, func(team string) any { ev.Team = team; return ev })
		})
	} else {
		g.metrics.loopBlocked.Inc()
	}
	what := fmt.Sprintf("Loop detected: this token sent the same request (%s %s, shape %s) %d times within %s; "+
		"more than %d identical requests in that time is treated as a runaway loop.",
		o.method, pattern, shape, v.Count, humanDuration(v.Window), v.Threshold)
	var msg string
	if suspended {
		msg = what + " The token has been suspended (revoked) and its owners told; ask them for a new token once the loop is fixed."
	} else {
		msg = what + fmt.Sprintf(" This request is refused until %s (%s); the token's other requests are not affected.",
			until.UTC().Format(time.RFC3339), humanDuration(ceilDuration(v.RetryAfter)))
	}
	return &botgate.Error{Op: "gateway.loop", Kind: botgate.KindRateLimited, Reason: botgate.ReasonLoopDetected, Message: msg}
}

// routePattern is the route pattern of the request, for audit events and
// webhooks: the policy rule's, else the canonical path's.
func (g *Gateway) routePattern(o *original, pi *pathInfo, rt *route) string {
	if p := rt.policyFor(o.method, pi.segs).pattern; p != "" {
		return p
	}
	return pi.pattern
}

// humanDuration writes d for people: "5 minutes", "90 seconds".
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	case d >= time.Second && d%time.Second == 0:
		return plural(int64(d/time.Second), "second")
	}
	return d.String()
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// notifyTeam posts an event to the webhook of the identity's owning team,
// if one is configured; withTeam completes the event with the team's path
// and returns the body. Failures are logged and counted, never retried
// forever.
func (g *Gateway) notifyTeam(id *authority.Identity, event string, tokenID int64, withTeam func(team string) any) {
	if len(g.cfg.webhooks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	team, url := g.webhookFor(ctx, id)
	if url == "" {
		return
	}
	g.deliver(ctx, team, url, event, tokenID, withTeam(team))
}

// deliver posts ev as JSON to a team's webhook, trying three times.
// Failures are logged and counted, never retried forever.
func (g *Gateway) deliver(ctx context.Context, team, url, event string, tokenID int64, ev any) {
	hook := notify.Webhook{URL: url, Event: event, UserAgent: "botgate-gateway"}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if _, err = notify.PostJSON(ctx, g.webhook, hook, ev); err == nil {
			return
		}
		if errors.Is(err, notify.ErrUnusableURL) {
			break
		}
		select {
		case <-ctx.Done():
			attempt = 3
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	g.metrics.webhookErrors.Inc()
	// The URL may embed a secret (chat webhooks do): log the team only;
	// PostJSON's errors never name the URL.
	g.log.Error("webhook not delivered", "event", event, "team", team, "token_id", tokenID, "err", err)
}

// webhookFor finds the webhook of the token's owning team: the group of
// its project or group (for resource tokens) or the owner of its user
// (service accounts), or the nearest group above it with a webhook; else
// the "*" webhook.
func (g *Gateway) webhookFor(ctx context.Context, id *authority.Identity) (team, url string) {
	owner := id.Token.Resource
	if owner.IsZero() {
		owner = id.User.Owner
	}
	var paths []string
	_ = g.store.View(ctx, func(tx botgate.Tx) error {
		groupID := int64(0)
		switch owner.Type {
		case botgate.ProjectResource:
			p, err := tx.Project(ctx, owner.ID)
			if err != nil {
				return err
			}
			groupID = p.NamespaceID
		case botgate.GroupResource:
			groupID = owner.ID
		}
		for depth := 0; groupID != 0 && depth < 32; depth++ {
			gr, err := tx.Group(ctx, groupID)
			if err != nil {
				return err
			}
			paths = append(paths, gr.FullPath)
			groupID = gr.ParentID
		}
		return nil
	})
	if len(paths) > 0 {
		team = paths[0]
	}
	for _, p := range paths {
		if u, ok := g.cfg.webhooks[strings.ToLower(p)]; ok {
			return team, u
		}
	}
	return team, g.cfg.webhooks["*"]
}
