package ratelimit

import (
	"math"
	"math/bits"
	"net/http"
	"strconv"
	"time"

	"github.com/botgate/botgate"
)

// Header names, as GitLab spells them. http.Header.Set canonicalises them
// (RateLimit-Limit is written Ratelimit-Limit); header names are
// case-insensitive, and clients (client-go, python-gitlab) read them so.
const (
	HeaderLimit      = "RateLimit-Limit"
	HeaderRemaining  = "RateLimit-Remaining"
	HeaderObserved   = "RateLimit-Observed"
	HeaderReset      = "RateLimit-Reset"
	HeaderResetTime  = "RateLimit-ResetTime"
	HeaderRetryAfter = "Retry-After"
)

// Headers sets GitLab's rate-limit headers on h for the decision r taken at
// now. r.Limit must be the limit the decision was taken under; if it is
// zero, Headers sets nothing.
//
//   - RateLimit-Limit: the limit as a per-minute figure, ⌈Rate·60s/Period⌉,
//     as GitLab computes it. client-go sizes its own client-side limiter from
//     the first response's value, so it must be the real sustained rate.
//   - RateLimit-Remaining: r.Remaining, the events that would be allowed
//     right now.
//   - RateLimit-Observed: Burst − Remaining, the events that count against
//     the burst now.
//   - RateLimit-Reset: Unix epoch seconds, rounded up: when allowed, the time
//     the key is back to a full burst (now + ResetAfter); when denied, the
//     time a retry is allowed (now + RetryAfter). client-go waits until this
//     instant before retrying a 429.
//
// On a denial it also sets:
//
//   - Retry-After: RetryAfter in whole seconds, rounded up, at least 1
//     (python-gitlab sleeps this long);
//   - RateLimit-ResetTime: the RateLimit-Reset instant as an HTTP-date, such
//     as "Tue, 05 Jan 2021 11:00:00 GMT".
//
// Every hint on a denial is at or after the moment a retry is allowed, so a
// client that obeys any of them is not denied again by the same state.
func Headers(h http.Header, r botgate.LimitResult, now time.Time) {
	l := r.Limit
	if l.Rate <= 0 || l.Period <= 0 {
		return
	}
	h.Set(HeaderLimit, strconv.FormatInt(PerMinute(l), 10))
	h.Set(HeaderRemaining, strconv.Itoa(max(r.Remaining, 0)))
	h.Set(HeaderObserved, strconv.Itoa(max(l.Burst-r.Remaining, 0)))
	wait := r.ResetAfter
	if !r.Allowed {
		wait = r.RetryAfter
	}
	reset := ceilSecond(now.Add(max(wait, 0)))
	h.Set(HeaderReset, strconv.FormatInt(reset.Unix(), 10))
	if r.Allowed {
		return
	}
	h.Set(HeaderRetryAfter, strconv.FormatInt(max(ceilSeconds(r.RetryAfter), 1), 10))
	h.Set(HeaderResetTime, reset.UTC().Format(http.TimeFormat))
}

// PerMinute returns l's sustained rate as events per minute, rounded up:
// ⌈Rate·60s/Period⌉, the figure GitLab sends as RateLimit-Limit. It
// returns 0 for a zero or invalid limit and saturates at MaxInt64.
func PerMinute(l botgate.Limit) int64 {
	if l.Rate <= 0 || l.Period <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(l.Rate), uint64(time.Minute))
	period := uint64(l.Period)
	if hi >= period {
		return math.MaxInt64
	}
	q, rem := bits.Div64(hi, lo, period)
	if rem != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if tr := t.Truncate(time.Second); !tr.Equal(t) {
		return tr.Add(time.Second)
	}
	return t
}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}
