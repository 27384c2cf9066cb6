// Package ratelimit holds botgate's per-token rate limiting for one node:
// Memory, an in-memory botgate.Limiter using GCRA; Headers, which writes
// GitLab's RateLimit-* headers for a decision; and Breaker, the loop breaker
// that cuts off a runaway script without touching any other token.
//
// # GCRA
//
// The generic cell rate algorithm keeps one number per key, the theoretical
// arrival time (TAT). A limit of Rate events per Period with bursts of Burst
// has an emission interval T = Period/Rate and a burst tolerance
// τ = T × Burst; a request of cost n is allowed when TAT + n·T − τ ≤ now, and
// then TAT becomes max(TAT, now) + n·T. Decide is that step as a pure
// function, exactly as go-redis/redis_rate's Lua script computes it
// (including Remaining, RetryAfter and ResetAfter), in integer
// microseconds. Memory wraps Decide in a sharded map.
//
// # Contract for a shared (Redis) limiter
//
// A Redis limiter must give the same answers as Decide for the same sequence
// of (key, now, limit, n). To do so its Lua script:
//   - takes now from the node's botgate.Clock as an argument, in
//     microseconds since the Unix epoch (not from Redis TIME), so that tests
//     can drive it with a ManualClock; nodes' clocks are NTP-synchronised,
//     and a node whose clock lags only sees a slightly stricter limit;
//   - stores TAT as an integer number of microseconds (a missing key is
//     NoTAT: tat = now, as in redis_rate), computes
//     T = math.floor(period_µs / rate) and works only in integers below
//     2^53 (ValidateLimit guarantees this), so Lua doubles are exact;
//   - returns allowed, remaining = math.floor(diff / T), retry_after and
//     reset_after in microseconds, and sets the key's expiry to its TAT.
//
// The package ratelimittest runs one conformance suite against any
// botgate.Limiter and checks every answer against Decide.
//
// # Loop breaker
//
// Breaker counts identical requests — same token, method, path, query and
// body (see Shape) — and trips when one token sends more than Threshold of
// them within Window; the tripped shape is then refused for that token for
// Cooldown. The defaults are 50 identical requests in 60 s and a 5-minute
// cool-down:
//   - 50 a minute is an identical request more often than every 1.2 s,
//     sustained for a minute. Legitimate automations do not do that: a
//     poller that checks a pipeline or a merge request every 2 s or more
//     stays under it; webhook-driven bots react to distinct events (distinct
//     bodies); paginated reads differ in their query. A script that posts
//     the same comment, or retries the same failing call without backoff,
//     crosses it in seconds. The threshold is a small fraction of GitLab's
//     authenticated API limit (2,000 a minute on GitLab.com), so a loop is
//     cut long before it has spent a meaningful part of the token's budget
//     or the upstream's capacity.
//   - A 5-minute cool-down is long enough that a loop without backoff does
//     not resume at once (and is tripped again, with a new audit event, if
//     it does) and that the owning team's alert arrives while the loop is
//     still blocked; it is short enough that a false positive heals itself
//     without an operator.
//
// The breaker blocks only the tripped shape of the tripped token: the
// token's other calls, and every other token, carry on. It is not a rate
// limit: a script cycling through many distinct shapes is the job of the
// per-token GCRA limit. It tracks at most MaxShapes (default 256) shapes per
// token, so a token costs at most a few tens of kilobytes, and it forgets a
// token once none of its requests would still count.
//
// A shared (Redis) breaker can follow the same contract, Observe(ctx,
// tokenKey, shape) (Verdict, error): per bucket, INCR a key named for the
// token, the shape and the bucket number (now / (Window/Buckets)) with an
// expiry of Window, sum the Buckets newest buckets, and on crossing the
// threshold SET a cool-down key with NX and PX Cooldown; only the node whose
// SET succeeds reports Tripped, so every node together records one audit
// event per trip.
package ratelimit
