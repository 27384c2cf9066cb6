package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// breakerScript counts one request of a shape and decides, atomically.
//
//	KEYS[1]     the shape's cool-down key, holding when it ends (µs)
//	KEYS[2]     the token's count of shapes tracked in the current bucket
//	KEYS[3]     the shape's counter in the current bucket
//	KEYS[4..]   its counters in the Buckets−1 buckets before it
//	ARGV[1]     now, µs since the Unix epoch, from the node's clock
//	ARGV[2]     the threshold N
//	ARGV[3]     the window W, ms (the counters' lifetime)
//	ARGV[4]     the cool-down, µs
//	ARGV[5]     MaxShapes: shapes tracked per token and bucket
//
// It returns {outcome, count, retry_after_µs}: outcome 0 allowed, 1
// tripped, 2 blocked. Because the script is atomic, one request per trip in
// the whole cluster gets "tripped". A shape beyond the token's MaxShapes in
// a bucket is not counted (no key is made for it), which bounds what one
// token can store in Redis; a blocked shape stays blocked.
var breakerScript = goredis.NewScript(`
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[4])
local max_shapes = tonumber(ARGV[5])
local until_ = redis.call('GET', KEYS[1])
local blocked = until_ and tonumber(until_) > now
if redis.call('EXISTS', KEYS[3]) == 0 then
  local shapes = redis.call('INCR', KEYS[2])
  if shapes == 1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
  end
  if shapes > max_shapes then
    redis.call('DECR', KEYS[2])
    if blocked then
      return {2, 0, tonumber(until_) - now}
    end
    return {0, 0, 0}
  end
end
local count = redis.call('INCR', KEYS[3])
if count == 1 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
for i = 4, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    count = count + tonumber(v)
  end
end
if blocked then
  return {2, count, tonumber(until_) - now}
end
if count > threshold then
  local ends = now + cooldown
  redis.call('SET', KEYS[1], string.format('%.0f', ends), 'PX', math.ceil(cooldown / 1000))
  return {1, count, cooldown}
end
return {0, count, 0}
`)

// LocalBreaker is the node's own loop breaker (ratelimit.Breaker), which
// Breaker falls back to.
type LocalBreaker interface {
	Observe(ctx context.Context, tokenKey, shape string) (ratelimit.Verdict, error)
}

// Breaker is the loop breaker shared by every node: the contract of
// ratelimit.Breaker (Observe, Verdict), with its counters in Redis. Buckets
// are aligned to the Unix epoch (bucket = now / (Window/Buckets)), so every
// node counts in the same buckets. It tracks no shapes in memory: Redis
// expires each counter after Window. Per token it tracks at most MaxShapes
// shapes in each bucket; the memory breaker instead forgets its least
// recently seen shape, so the two agree while a token sends fewer distinct
// shapes than that. It is safe for concurrent use.
type Breaker struct {
	c        *Client
	cfg      ratelimit.BreakerConfig
	width    int64 // µs per bucket
	fallback LocalBreaker
	trips    atomic.Uint64
	blocked  atomic.Uint64
}

// Breaker returns a shared loop breaker configured as cfg (zero fields take
// ratelimit's defaults) that falls back to fallback while Redis is
// unreachable (nil: no loop breaking while Redis is unreachable). It returns KindInvalid if cfg is out of range or its bucket
// width is finer than a millisecond.
func (c *Client) Breaker(cfg ratelimit.BreakerConfig, fallback LocalBreaker) (*Breaker, error) {
	// NewBreaker validates cfg and fills in the defaults.
	ref, err := ratelimit.NewBreaker(c.clock, cfg)
	if err != nil {
		return nil, err
	}
	cfg = ref.Config()
	width := (cfg.Window / time.Duration(cfg.Buckets)).Microseconds()
	if width < 1000 {
		return nil, botgate.Invalid("window", "loop window %s is too short for %d buckets in Redis", cfg.Window, cfg.Buckets)
	}
	return &Breaker{c: c, cfg: cfg, width: width, fallback: fallback}, nil
}

// Config returns the breaker's configuration, defaults filled in.
func (b *Breaker) Config() ratelimit.BreakerConfig { return b.cfg }

// Stats returns this node's counts of Tripped and Blocked verdicts.
func (b *Breaker) Stats() ratelimit.BreakerStats {
	return ratelimit.BreakerStats{Trips: b.trips.Load(), Blocked: b.blocked.Load()}
}

// Observe counts one request of shape from the token tokenKey and says
// whether it is part of a runaway loop, across every node. While Redis is
// unreachable it asks the fallback (FailOpen), or allows the request and
// leaves the refusal to the Limiter, which refuses everything (FailClosed).
func (b *Breaker) Observe(ctx context.Context, tokenKey, shape string) (ratelimit.Verdict, error) {
	const op = "redis.Breaker.Observe"
	if !b.c.usable() {
		return b.degraded(ctx, tokenKey, shape)
	}
	now := b.c.clock.Now().UnixMicro()
	bucket := floorDiv(now, b.width)
	// One hash tag per token: every key of a decision lives in one Redis
	// Cluster slot.
	tok := b.c.key("lb", "{"+tokenKey+"}")
	keys := make([]string, 0, 2+b.cfg.Buckets)
	keys = append(keys, tok+":"+shape+":cooldown", tok+":shapes:"+strconv.FormatInt(bucket, 10))
	for i := range int64(b.cfg.Buckets) {
		keys = append(keys, tok+":"+shape+":"+strconv.FormatInt(bucket-i, 10))
	}
	res, err := breakerScript.Run(ctx, b.c.rdb, keys, now, b.cfg.Threshold,
		b.cfg.Window.Milliseconds(), b.cfg.Cooldown.Microseconds(), b.cfg.MaxShapes).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return ratelimit.Verdict{}, botgate.E(op, botgate.KindInternal, ctx.Err())
		}
		b.c.fail(ctx, err)
		return b.degraded(ctx, tokenKey, shape)
	}
	b.c.recovered()
	if len(res) != 3 {
		return ratelimit.Verdict{}, botgate.E(op, botgate.KindInternal, fmt.Errorf("breaker script returned %d values", len(res)))
	}
	v := ratelimit.Verdict{Count: int(res[1]), Threshold: b.cfg.Threshold, Window: b.cfg.Window,
		RetryAfter: time.Duration(res[2]) * time.Microsecond}
	switch res[0] {
	case 1:
		v.Outcome = ratelimit.Tripped
		b.trips.Add(1)
	case 2:
		v.Outcome = ratelimit.Blocked
		b.blocked.Add(1)
	}
	return v, nil
}

// degraded decides without Redis.
func (b *Breaker) degraded(ctx context.Context, tokenKey, shape string) (ratelimit.Verdict, error) {
	b.c.mFallback.WithLabelValues("breaker", b.c.failMode.String()).Inc()
	if b.c.failMode == FailClosed {
		// The limiter refuses the request (429, Retry-After); a loop
		// verdict here would tell the caller of a loop it is not in.
		return ratelimit.Verdict{Outcome: ratelimit.Allowed, Threshold: b.cfg.Threshold, Window: b.cfg.Window}, nil
	}
	if b.fallback == nil {
		return ratelimit.Verdict{Outcome: ratelimit.Allowed, Threshold: b.cfg.Threshold, Window: b.cfg.Window}, nil
	}
	return b.fallback.Observe(ctx, tokenKey, shape)
}

// floorDiv returns ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
