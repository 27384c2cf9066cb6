package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/botgate/botgate"
)

// maxUsageKeys bounds the route usage kept between two flushes.
const maxUsageKeys = 50000

// usageBuffer coalesces route usage between flushes: one record per token,
// method and route pattern, with a count.
type usageBuffer struct {
	max     int
	dropped prometheus.Counter

	mu      sync.Mutex
	pending map[usageKey]*botgate.RouteUsage
}

type usageKey struct {
	tokenID int64
	method  string
	route   string
}

func newUsageBuffer(max int, dropped prometheus.Counter) *usageBuffer {
	return &usageBuffer{max: max, dropped: dropped, pending: make(map[usageKey]*botgate.RouteUsage)}
}

func (b *usageBuffer) note(tokenID int64, method, route string, scope botgate.Scope, at time.Time) {
	k := usageKey{tokenID, method, route}
	b.mu.Lock()
	u := b.pending[k]
	if u == nil {
		if len(b.pending) >= b.max {
			b.mu.Unlock()
			b.dropped.Inc()
			return
		}
		u = &botgate.RouteUsage{TokenID: tokenID, Method: method, Route: route, FirstSeen: at}
		b.pending[k] = u
	}
	u.Count++
	if !at.Before(u.LastSeen) {
		u.LastSeen = at
		u.Scope = scope
	}
	b.mu.Unlock()
}

func (b *usageBuffer) take() []botgate.RouteUsage {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return nil
	}
	out := make([]botgate.RouteUsage, 0, len(b.pending))
	for _, u := range b.pending {
		out = append(out, *u)
	}
	clear(b.pending)
	return out
}

// FlushUsage writes the route usage recorded since the last flush, and
// asks the authority to write its token usage (last used, addresses, user
// agents) too. It also audits the shadow refusals counted since their
// last audit event, once their ShadowWindow has passed.
func (g *Gateway) FlushUsage(ctx context.Context) error {
	err := g.auth.FlushUsage(ctx)
	g.flushShadow(ctx, false)
	batch := g.usage.take()
	if len(batch) == 0 {
		return err
	}
	if uerr := g.store.Update(ctx, func(tx botgate.Tx) error { return tx.RecordRouteUsage(ctx, batch) }); uerr != nil {
		g.log.Error("writing route usage", "records", len(batch), "err", uerr)
		return botgate.E("gateway.FlushUsage", uerr)
	}
	return err
}

func (g *Gateway) flushLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = g.FlushUsage(ctx)
		}
	}
}
