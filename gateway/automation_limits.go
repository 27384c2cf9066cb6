package gateway

import (
	"context"

	"github.com/botgate/botgate"
)

// AutomationLimits supplies per-automation rate limits kept outside the
// configuration file: botgate's automation records, which `botgate apply`
// writes from the manifest (governance.Limits). Implementations answer
// from memory on the hot path and are safe for concurrent use.
type AutomationLimits interface {
	// AutomationLimit returns the automation's own limit; ok is false when
	// it declares none (or is unknown), and the default applies.
	AutomationLimit(ctx context.Context, automation string) (l botgate.Limit, ok bool)
}

// limitOf returns the limit of a token: an override for the token in the
// configuration file wins over one for its automation there, which wins
// over the automation's record (Options.AutomationLimits), which wins over
// the default. A record's limit without a burst gets a burst of its rate,
// as the configuration's limits do.
func (g *Gateway) limitOf(ctx context.Context, t *botgate.Token) botgate.Limit {
	if _, ok := g.cfg.tokenLimits[t.ID]; ok || g.autoLimits == nil || t.Automation == "" {
		return g.cfg.limitFor(t)
	}
	if _, ok := g.cfg.autoLimits[t.Automation]; ok {
		return g.cfg.limitFor(t)
	}
	l, ok := g.autoLimits.AutomationLimit(ctx, t.Automation)
	if !ok || l.Rate <= 0 || l.Period <= 0 {
		return g.cfg.limitFor(t)
	}
	if l.Burst <= 0 {
		l.Burst = l.Rate
	}
	return l
}
