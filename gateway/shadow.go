package gateway

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/ratelimit"
)

// AutomationModes is implemented by an AutomationLimits that also knows
// automations' enforcement modes (the manifest's enforcement: enforce or
// shadow). Without it every automation is enforced, unless the instance is
// in shadow mode (FileConfig.Enforcement).
type AutomationModes interface {
	// AutomationMode returns the automation's mode: EnforcementEnforce
	// when it declares none, is unknown, or its record cannot be read.
	AutomationMode(ctx context.Context, automation string) botgate.Enforcement
}

// The reasons a request is refused that shadow mode lets through: the
// values of X-Botgate-Shadow, of the shadow refusals metric's "reason"
// label and of the audit event's "reason" detail.
const (
	ShadowRateLimit = "rate_limit"
	ShadowLoop      = "loop"
)

// ShadowWindow is the least time between two "would have refused" audit
// events of one automation (a token without one: its rotation family) and
// reason: the first refusal is audited at once, the ones after it within
// the window are counted and audited together, with their count, when the
// window has passed.
const ShadowWindow = time.Minute

// maxShadowKeys bounds the refusals waiting to be audited; past it a new
// automation's refusals are counted in the metric only.
const maxShadowKeys = 1 << 14

// modeOf returns how the token's rate limit and loop breaker apply: the
// instance's shadow mode overrides every automation's; otherwise the
// token's automation's own mode, enforce for a token without one. It is
// asked only when a limit or the breaker denies, so that the hot path of
// allowed requests reads nothing more.
func (g *Gateway) modeOf(ctx context.Context, t *botgate.Token) (mode botgate.Enforcement, source string) {
	if g.cfg.enforcement.Shadow() {
		return botgate.EnforcementShadow, "instance"
	}
	if am, ok := g.autoLimits.(AutomationModes); ok && t.Automation != "" {
		if am.AutomationMode(ctx, t.Automation).Shadow() {
			return botgate.EnforcementShadow, "automation"
		}
	}
	return botgate.EnforcementEnforce, ""
}

// shadowKey groups refusals into one audit event.
type shadowKey struct {
	subject, reason string
}

// shadowEntry is one automation's and reason's refusals since its last
// audit event.
type shadowEntry struct {
	lastEmit time.Time
	pending  int
	since    time.Time
	last     shadowRefusal
}

// shadowRefusal is one request shadow mode let through, as audited.
type shadowRefusal struct {
	id     *authority.Identity
	reason string
	source string
	ip, ua string
	what   shadowWhat
}

// shadowWhat describes the decision of a shadow refusal for its audit
// event; it holds no secret. Kept as fields, and made a map only for the
// one event a minute that is written.
type shadowWhat struct {
	method, route, routeName string
	// limit is the rate limit of a rate_limit refusal.
	limit botgate.Limit
	// loop is the breaker's verdict of a loop refusal (isLoop).
	loop   ratelimit.Verdict
	isLoop bool
	// shape is the request shape digest of a loop refusal.
	shape string
}

// details is the audit event's details of w.
func (w *shadowWhat) details() map[string]string {
	d := map[string]string{"method": w.method, "route": w.route, "route_name": w.routeName}
	if !w.limit.IsZero() {
		d["limit"] = strconv.FormatInt(int64(ratelimit.PerMinute(w.limit)), 10) + "/min"
	}
	if v := w.loop; w.isLoop {
		d["shape"], d["count_in_window"], d["threshold"], d["window"] = w.shape, strconv.Itoa(v.Count), strconv.Itoa(v.Threshold), v.Window.String()
	}
	return d
}

// shadowAudit is one audit event to write: the refusals it stands for.
type shadowAudit struct {
	shadowRefusal
	count       int
	since, till time.Time
}

// shadowLog coalesces shadow refusals into at most one audit event per
// automation and reason per ShadowWindow.
type shadowLog struct {
	mu sync.Mutex
	m  map[shadowKey]*shadowEntry
}

// note counts one refusal at now and returns the event to write at once,
// if the window allows one.
func (l *shadowLog) note(now time.Time, k shadowKey, r shadowRefusal) (shadowAudit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[k]
	if e == nil {
		if len(l.m) >= maxShadowKeys {
			return shadowAudit{}, false
		}
		e = &shadowEntry{}
		l.m[k] = e
	}
	if e.pending == 0 {
		e.since = now
	}
	e.pending++
	e.last = r
	if !e.lastEmit.IsZero() && now.Sub(e.lastEmit) < ShadowWindow {
		return shadowAudit{}, false
	}
	return e.take(now), true
}

// take returns the entry's pending refusals as one event written at now.
func (e *shadowEntry) take(now time.Time) shadowAudit {
	a := shadowAudit{shadowRefusal: e.last, count: e.pending, since: e.since, till: now}
	e.pending, e.lastEmit = 0, now
	return a
}

// due returns the events whose window has passed at now (every pending
// one if all), and forgets entries idle for a window.
func (l *shadowLog) due(now time.Time, all bool) []shadowAudit {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []shadowAudit
	for k, e := range l.m {
		switch {
		case e.pending > 0 && (all || now.Sub(e.lastEmit) >= ShadowWindow):
			out = append(out, e.take(now))
		case e.pending == 0 && now.Sub(e.lastEmit) >= ShadowWindow:
			delete(l.m, k)
		}
	}
	return out
}

// shadowed records a request that mode shadow lets through although reason
// would refuse it: it counts it in botgate_gateway_shadow_refusals_total
// and audits it, coalesced (ShadowWindow).
func (g *Gateway) shadowed(ctx context.Context, o *original, id *authority.Identity, reason, source string, what shadowWhat) {
	g.metrics.shadowRefusals.WithLabelValues(reason, id.Token.Automation).Inc()
	subject := id.Token.Automation
	if subject == "" {
		subject = limitKey(id.Token)
	}
	r := shadowRefusal{id: id, reason: reason, source: source, ip: o.ip, ua: o.userAgent, what: what}
	if a, ok := g.shadow.note(g.clock.Now(), shadowKey{subject, reason}, r); ok {
		g.auditShadow(ctx, a)
	}
}

// flushShadow audits the coalesced refusals whose window has passed, or
// all pending ones.
func (g *Gateway) flushShadow(ctx context.Context, all bool) {
	for _, a := range g.shadow.due(g.clock.Now(), all) {
		g.auditShadow(ctx, a)
	}
}

// auditShadow writes one "would have refused" audit event. A failure is
// logged: shadow mode never refuses a request for it.
func (g *Gateway) auditShadow(ctx context.Context, a shadowAudit) {
	t := a.id.Token
	d := a.what.details()
	d["automation"] = t.Automation
	d["reason"] = a.reason
	d["mode_source"] = a.source
	d["count"] = strconv.Itoa(a.count)
	d["since"] = a.since.UTC().Format(time.RFC3339)
	d["until"] = a.till.UTC().Format(time.RFC3339)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := g.auth.RecordGatewayEvent(actx, authority.GatewayEvent{
		Action: authority.ActionGatewayShadowRefusal, Token: t, User: a.id.User, IP: a.ip, UserAgent: a.ua, Details: d,
	}); err != nil {
		g.log.Error("recording a shadow refusal", "token_id", t.ID, "automation", t.Automation, "reason", a.reason, "err", err)
		return
	}
	g.log.Info("request let through in shadow mode would have been refused", "token_id", t.ID,
		"automation", t.Automation, "reason", a.reason, "count", a.count, "mode_source", a.source)
}
