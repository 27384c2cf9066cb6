package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// gcraScript is one GCRA step (see ratelimit.Decide), atomically.
//
//	KEYS[1]  the key's TAT, integer µs since the Unix epoch
//	ARGV[1]  now, µs since the Unix epoch, from the node's clock
//	ARGV[2]  the emission interval T, µs
//	ARGV[3]  the burst offset τ = T × Burst, µs
//	ARGV[4]  n, the cost
//
// It returns {tat, stored}: the TAT it read (-1 if the key had none) and
// 1 if it wrote a new one. Every number is an integer below 2^53.
var gcraScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
local emission = tonumber(ARGV[2])
local burst_offset = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local read = -1
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  read = tonumber(stored)
  if read > now then
    tat = read
  end
end
if n == 0 then
  return {read, 0}
end
local new_tat = tat + n * emission
if now - (new_tat - burst_offset) < 0 then
  return {read, 0}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {read, 1}
`)

var _ botgate.Limiter = (*Limiter)(nil)

// Limiter is a botgate.Limiter whose budget every node shares. While Redis
// is unreachable it decides with its fallback (FailOpen) or refuses
// (FailClosed). It is safe for concurrent use.
type Limiter struct {
	c        *Client
	fallback botgate.Limiter
}

// Limiter returns a shared limiter that falls back to fallback, the node's
// own limiter (a ratelimit.Memory reading the same clock), while Redis is
// unreachable.
func (c *Client) Limiter(fallback botgate.Limiter) *Limiter {
	return &Limiter{c: c, fallback: fallback}
}

// Allow records n events for key if they fit l, in Redis. It returns
// KindInvalid if l is invalid or n negative, and KindInternal only if both
// Redis and the fallback fail.
func (l *Limiter) Allow(ctx context.Context, key string, lim botgate.Limit, n int) (botgate.LimitResult, error) {
	const op = "redis.Limiter.Allow"
	if err := ratelimit.ValidateLimit(lim); err != nil {
		return botgate.LimitResult{}, withOp(op, err)
	}
	if n < 0 {
		return botgate.LimitResult{}, withOp(op, botgate.Invalid("n", "cost must not be negative, got %d", n))
	}
	if !l.c.usable() {
		return l.degraded(ctx, key, lim, n)
	}
	now := l.c.clock.Now().UnixMicro()
	emission := ratelimit.EmissionInterval(lim).Microseconds()
	res, err := gcraScript.Run(ctx, l.c.rdb, []string{l.c.key("rl", key)},
		now, emission, emission*int64(lim.Burst), n).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return botgate.LimitResult{}, botgate.E(op, botgate.KindInternal, ctx.Err())
		}
		l.c.fail(ctx, err)
		return l.degraded(ctx, key, lim, n)
	}
	l.c.recovered()
	if len(res) != 2 {
		return botgate.LimitResult{}, botgate.E(op, botgate.KindInternal, fmt.Errorf("GCRA script returned %d values", len(res)))
	}
	tat := res[0]
	if tat < 0 {
		tat = ratelimit.NoTAT
	}
	d, err := ratelimit.Decide(tat, now, lim, n)
	if err != nil {
		return botgate.LimitResult{}, botgate.E(op, err)
	}
	if d.Store != (res[1] == 1) {
		return botgate.LimitResult{}, botgate.E(op, botgate.KindInternal,
			fmt.Errorf("GCRA script and ratelimit.Decide disagree (stored %d, want %v)", res[1], d.Store))
	}
	return d.Result, nil
}

// degraded decides without Redis.
func (l *Limiter) degraded(ctx context.Context, key string, lim botgate.Limit, n int) (botgate.LimitResult, error) {
	mode := l.c.failMode.String()
	l.c.mFallback.WithLabelValues("limiter", mode).Inc()
	if l.c.failMode == FailClosed {
		return botgate.LimitResult{Limit: lim, RetryAfter: l.c.probe, ResetAfter: l.c.probe}, nil
	}
	if l.fallback == nil {
		return botgate.LimitResult{}, &botgate.Error{Op: "redis.Limiter.Allow", Kind: botgate.KindInternal,
			Message: "Redis is unreachable and there is no local limiter to fall back to"}
	}
	return l.fallback.Allow(ctx, key, lim, n)
}

// withOp sets the Op of a *botgate.Error (keeping its kind) and returns it.
func withOp(op string, err error) error {
	if e, ok := err.(*botgate.Error); ok {
		c := *e
		c.Op = op
		return &c
	}
	return botgate.E(op, botgate.KindInternal, err)
}
