package botgate

import (
	"context"
	"time"
)

// Limit is a rate: Rate events per Period, with bursts of up to Burst.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// IsZero reports whether l is unset.
func (l Limit) IsZero() bool { return l.Rate == 0 }

// LimitResult is a Limiter's decision. The fields mean what they mean in
// go-redis/redis_rate (see ratelimit.Decide for the exact arithmetic),
// except that RetryAfter is 0, not -1, when Allowed.
type LimitResult struct {
	Allowed    bool
	Limit      Limit         // the limit the decision was taken under
	Remaining  int           // requests left in the burst after this one
	RetryAfter time.Duration // when not allowed: how long until one is
	ResetAfter time.Duration // how long until the budget is full again
}

// Limiter decides whether an event keyed by key (a token ID, say) fits its
// limit. Implementations: ratelimit (memory, one node) and redis (shared).
type Limiter interface {
	// Allow records n events for key if they fit the limit l. Events that
	// do not all fit are not recorded at all; n = 0 records nothing and
	// reports the key's state. It returns KindInvalid if l cannot be
	// enforced (a zero limit included: there is no "unlimited") or n is
	// negative, and KindInternal if the limiter's backend fails.
	Allow(ctx context.Context, key string, l Limit, n int) (LimitResult, error)
}
