// Package redis is what several botgate nodes share through Redis: one rate
// limit budget per token (Limiter), one loop breaker (Breaker), and the
// fan-out that tells every node to drop its cached authentications when a
// token is revoked, rotated or its bot deactivated (Publish, Subscribe).
//
// # Limits
//
// Limiter runs the generic cell rate algorithm in one Lua script per
// decision, as go-redis/redis_rate does, and gives exactly the answers of
// ratelimit.Decide (it passes ratelimittest's conformance suite): the time
// comes from the node's botgate.Clock as integer microseconds, the key holds
// the theoretical arrival time (TAT) as an integer, and every number the
// script handles stays below 2^53, where Lua's doubles are exact. The script
// reads the TAT, decides, and writes the new TAT only when the events fit,
// with an expiry of the time left until the TAT (ResetAfter): a key past its
// TAT behaves as a key never seen, so the expiry loses nothing. It returns
// the TAT it read, and the node computes the result's fields from it with
// ratelimit.Decide, so the two cannot drift apart.
//
// # Loop breaker
//
// Breaker follows the contract in the ratelimit package documentation: per
// request it INCRements a counter named for the token, the shape and the
// bucket (now / (Window/Buckets)), expiring after Window, sums the Buckets
// newest counters and, on crossing the threshold, sets the shape's
// cool-down key holding the time the cool-down ends. The script is atomic,
// so exactly one request in the whole cluster reports Tripped for a trip
// (and records the audit event); the others see Blocked. Per token and
// bucket it tracks at most MaxShapes shapes (default 256), so one token
// cannot fill Redis with distinct requests.
//
// # When Redis is unreachable
//
// A Client watches its connection. The first failed command flips it to
// degraded (logged once, metric botgate_redis_degraded = 1) and, with
// FailOpen (the default), every node carries on with its own in-memory
// limiter and breaker: limits then hold per node, not per cluster. With
// FailClosed, decisions are refused (the limiter denies with a one-second
// Retry-After; the breaker leaves the refusal to it) and Ready fails, so a load balancer takes
// the node out. While degraded, at most one command per probe interval
// (default 1s) tries Redis again; the first success flips it back (logged
// once). The decisions taken locally are counted in
// botgate_redis_fallback_decisions_total.
//
// # Fan-out
//
// Publish sends the changed token IDs on a pub/sub channel; Subscribe calls
// its callback (authority.Service.Purge) on every node for each message, and
// also every time the subscription is (re)established, since messages sent
// while it was down are lost. The authentication cache's bounded lifetime
// (authority.Config.CacheTTL) is the backstop for a message that never
// arrives.
//
// Keys are named prefix + "rl:" + key, prefix + "lb:{token}:…" and the
// channel prefix + "invalidate"; the prefix defaults to "botgate:". Key
// names never hold a token's secret, only its ID.
package redis
