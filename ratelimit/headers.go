package ratelimit

import (
	"math"
	"math/bits"
	"net/http"
	"strconv"
	"time"

	"github.com/botgate/botgate"
)

// Header names, as GitLab spells them. Header names are case-insensitive,
// and clients (client-go, python-gitlab) read them so; on the wire Go
// writes them in their canonical form (RateLimit-Limit becomes
// Ratelimit-Limit), which Headers stores directly.
const (
	HeaderLimit      = "RateLimit-Limit"
	HeaderRemaining  = "RateLimit-Remaining"
	HeaderObserved   = "RateLimit-Observed"
	HeaderReset      = "RateLimit-Reset"
	HeaderResetTime  = "RateLimit-ResetTime"
	HeaderRetryAfter = "Retry-After"
)

// The canonical forms of the header names (textproto.CanonicalMIMEHeaderKey),
// the keys http.Header.Set would use. Headers writes them straight into the
// map: Set would canonicalise GitLab's spelling, and allocate, on every
// response.
const (
	canonicalLimit     = "Ratelimit-Limit"
	canonicalRemaining = "Ratelimit-Remaining"
	canonicalObserved  = "Ratelimit-Observed"
	canonicalReset     = "Ratelimit-Reset"
	canonicalResetTime = "Ratelimit-Resettime"
)

// Headers sets GitLab's rate-limit headers on h for the decision r taken at
// now. r.Limit must be the limit the decision was taken under; if it is
// zero, Headers sets nothing. Like http.Header.Set, it replaces any values
// the headers had. The API and the gateway both call it, so the two answer
// alike.
//
// GitLab's headers describe a fixed window (lib/gitlab/rack_attack/
// request_throttle_data.rb): Limit is the quota per minute, Observed the
// requests counted in the window (refused ones included, so it passes the
// limit), Remaining = max(Limit − Observed, 0), Reset the end of the
// window. botgate's limiter is a token bucket; Headers states it in those
// terms, so that the figures hold together on every response:
//
//   - RateLimit-Limit: the limit as a per-minute figure, ⌈Rate·60s/Period⌉,
//     as GitLab computes it. client-go sizes its own client-side limiter from
//     the first response's value, so it must be the real sustained rate.
//   - RateLimit-Remaining: the requests allowed right now (r.Remaining), at
//     most the quota min(Limit, Burst), so never above Limit; 0 on a refusal.
//   - RateLimit-Observed: quota − Remaining: what this minute's quota has
//     been used for. On a refusal it goes past the quota by the requests the
//     client is over (RetryAfter at the sustained rate, at least one), as
//     GitLab's count goes past its limit.
//   - RateLimit-Reset: Unix epoch seconds. When allowed, the end of the
//     current minute, the same instant on every response of that minute;
//     when refused, the instant a retry is allowed (now + RetryAfter,
//     rounded up), which does not move while the client waits. client-go
//     waits until this instant before retrying a 429.
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
//
// Headers is on the path of every gateway decision, so it allocates twice
// whatever it writes: the values are formatted into one string and point
// into it, and their one-element slices share one backing array.
func Headers(h http.Header, r botgate.LimitResult, now time.Time) {
	l := r.Limit
	if l.Rate <= 0 || l.Period <= 0 {
		return
	}
	perMinute := PerMinute(l)
	quota := perMinute
	if l.Burst > 0 && int64(l.Burst) < quota {
		quota = int64(l.Burst)
	}
	remaining, observed := int64(0), quota
	var reset time.Time
	if r.Allowed {
		remaining = min(int64(max(r.Remaining, 0)), quota)
		observed = quota - remaining
		reset = now.Truncate(time.Minute).Add(time.Minute)
	} else {
		observed = satAdd(quota, max(overBy(l, r.RetryAfter), 1))
		reset = ceilSecond(now.Add(max(r.RetryAfter, 0)))
	}

	// ends[i] is where the i-th value ends in buf.
	var (
		stack [128]byte
		ends  [6]int
	)
	buf := strconv.AppendInt(stack[:0], perMinute, 10)
	ends[0] = len(buf)
	buf = strconv.AppendInt(buf, remaining, 10)
	ends[1] = len(buf)
	buf = strconv.AppendInt(buf, observed, 10)
	ends[2] = len(buf)
	buf = strconv.AppendInt(buf, reset.Unix(), 10)
	ends[3] = len(buf)
	n := 4
	if !r.Allowed {
		buf = strconv.AppendInt(buf, max(ceilSeconds(r.RetryAfter), 1), 10)
		ends[4] = len(buf)
		buf = reset.UTC().AppendFormat(buf, http.TimeFormat)
		ends[5] = len(buf)
		n = 6
	}
	all := string(buf)
	values := make([]string, n)
	start := 0
	for i := range values {
		values[i] = all[start:ends[i]]
		start = ends[i]
	}
	// Each value gets a slice of length and capacity one, so that an Add
	// to one header copies rather than overwrites its neighbour.
	h[canonicalLimit] = values[0:1:1]
	h[canonicalRemaining] = values[1:2:2]
	h[canonicalObserved] = values[2:3:3]
	h[canonicalReset] = values[3:4:4]
	if r.Allowed {
		return
	}
	h[HeaderRetryAfter] = values[4:5:5] // already canonical
	h[canonicalResetTime] = values[5:6:6]
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

// overBy is how many requests a wait of d stands for at l's sustained
// rate, rounded up: how far over its budget a refused client is.
func overBy(l botgate.Limit, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(d), uint64(l.Rate))
	period := uint64(l.Period)
	if hi >= period {
		return math.MaxInt64
	}
	q, rem := bits.Div64(hi, lo, period)
	if rem != 0 {
		q++
	}
	return int64(min(q, math.MaxInt64))
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
