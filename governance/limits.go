package governance

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/cache"
)

// Limits supplies the gateway with each automation's own rate limit,
// route allowlist and enforcement mode from its automation record
// (gateway.AutomationLimits, gateway.AutomationRoutes and
// gateway.AutomationModes). Answers are kept in
// memory for a short time, so that the gateway's hot path reads the store
// at most once per automation per TTL; a change made by `botgate apply`
// takes effect within the TTL, or at once after Purge.
type Limits struct {
	store botgate.Store
	log   *slog.Logger
	cache *cache.Cache[string, limitEntry]
}

type limitEntry struct {
	limit  botgate.Limit // zero: none recorded
	routes []string
	mode   botgate.Enforcement
}

var (
	_ gateway.AutomationLimits = (*Limits)(nil)
	_ gateway.AutomationRoutes = (*Limits)(nil)
	_ gateway.AutomationModes  = (*Limits)(nil)
)

// maxLimitEntries bounds the cache.
const maxLimitEntries = 1 << 16

// NewLimits returns a Limits reading store, caching answers for ttl
// (default 10s) on clock (default the system clock).
func NewLimits(store botgate.Store, clock botgate.Clock, ttl time.Duration, log *slog.Logger) *Limits {
	if clock == nil {
		clock = botgate.SystemClock{}
	}
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limits{store: store, log: log,
		cache: cache.New(cache.Config[string, limitEntry]{TTL: ttl, MaxEntries: maxLimitEntries, Now: clock.Now})}
}

// AutomationLimit returns the automation's recorded limit; ok is false if
// it has no record or its record sets no limit. A store failure is logged
// and answered with ok false (the default limit applies), not cached.
func (l *Limits) AutomationLimit(ctx context.Context, automation string) (botgate.Limit, bool) {
	e, err := l.entry(ctx, automation)
	if err != nil {
		l.log.Warn("reading an automation's record", "automation", automation, "err", err)
		return botgate.Limit{}, false
	}
	return e.limit, !e.limit.IsZero()
}

// AutomationRoutes returns the automation's recorded route allowlist; ok
// is false if it has no record or declares no routes. A store failure is
// returned (and not cached), so that the gateway refuses the call: an
// allowlist that cannot be read must not open every route.
func (l *Limits) AutomationRoutes(ctx context.Context, automation string) ([]string, bool, error) {
	e, err := l.entry(ctx, automation)
	if err != nil {
		return nil, false, err
	}
	return e.routes, len(e.routes) > 0, nil
}

// AutomationMode returns the automation's recorded enforcement mode:
// EnforcementEnforce when it has no record. A store failure is logged and
// answered with enforce: a record that cannot be read must not lift a
// limit.
func (l *Limits) AutomationMode(ctx context.Context, automation string) botgate.Enforcement {
	e, err := l.entry(ctx, automation)
	if err != nil {
		l.log.Warn("reading an automation's record", "automation", automation, "err", err)
		return botgate.EnforcementEnforce
	}
	if e.mode.Shadow() {
		return botgate.EnforcementShadow
	}
	return botgate.EnforcementEnforce
}

// entry returns the cached answer about the automation, reading its
// record when the cache has none or it is older than the TTL. A store
// failure is returned and not cached.
func (l *Limits) entry(ctx context.Context, automation string) (limitEntry, error) {
	if e, ok := l.cache.Peek(automation); ok {
		return e, nil
	}
	return l.cache.Get(ctx, automation, func(ctx context.Context) (limitEntry, error) {
		var rec *botgate.Automation
		err := l.store.View(ctx, func(tx botgate.Tx) error {
			var err error
			rec, err = tx.AutomationByName(ctx, automation)
			return err
		})
		switch {
		case botgate.IsKind(err, botgate.KindNotFound):
			return limitEntry{}, nil
		case err != nil:
			return limitEntry{}, fmt.Errorf("reading the record of automation %s: %w", automation, err)
		}
		return limitEntry{limit: rec.RateLimit, routes: rec.Routes, mode: rec.Enforcement}, nil
	})
}

// Purge forgets every cached answer; an answer being read meanwhile is
// used once but not kept.
func (l *Limits) Purge() { l.cache.Purge() }
