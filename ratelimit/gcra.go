package ratelimit

import (
	"math"
	"time"

	"github.com/botgate/botgate"
)

// Resolution is the unit of GCRA arithmetic. Times (the theoretical arrival
// time, now) and the emission interval are whole microseconds: a Lua script
// in Redis works in IEEE doubles, which hold every integer below 2^53
// exactly, and microseconds since the Unix epoch stay far below that, so a
// Redis script doing the same integer arithmetic gives bit-identical answers.
const Resolution = time.Microsecond

// MaxSpan bounds a limit's burst window (EmissionInterval × Burst): 2^52 µs,
// about 142 years. It keeps TAT + burst window below 2^53 µs, the range in
// which a Lua number is an exact integer.
const MaxSpan = time.Duration(1<<52) * Resolution

// NoTAT is the tat to pass to Decide for a key that has no stored state.
const NoTAT int64 = math.MinInt64

// Decision is the outcome of one GCRA step: the caller-facing result and the
// state the caller must keep.
type Decision struct {
	// Result is what Limiter.Allow returns.
	Result botgate.LimitResult
	// Store reports whether TAT must be written back. It is false when the
	// events were denied or n was 0: the stored state is then unchanged.
	Store bool
	// TAT is the new theoretical arrival time, in microseconds since the
	// Unix epoch, when Store is true. The key may be forgotten once the clock
	// passes TAT: a key whose TAT is not after now behaves exactly like a key
	// never seen (its ResetAfter is 0), so expiring it loses nothing. A
	// Redis store sets the key's expiry to TAT (PEXPIREAT TAT/1000, rounded
	// up, or EX ceil(ResetAfter)).
	TAT int64
}

// EmissionInterval returns l's emission interval, Period/Rate, truncated to
// the Resolution: the spacing of events at the sustained rate.
func EmissionInterval(l botgate.Limit) time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	return time.Duration(l.Period.Microseconds()/int64(l.Rate)) * Resolution
}

// ValidateLimit reports whether l can be enforced: Rate, Period and Burst
// positive, an emission interval (Period/Rate) of at least one Resolution,
// and a burst window (emission interval × Burst) no longer than MaxSpan. It
// returns a KindInvalid error about field "limit" otherwise. A zero Limit
// is invalid: botgate has no switch that turns a limit off.
func ValidateLimit(l botgate.Limit) error {
	_, _, err := params(l)
	return err
}

// params returns l's emission interval and burst offset in microseconds.
func params(l botgate.Limit) (emission, burstOffset int64, err error) {
	const op = "ratelimit.ValidateLimit"
	switch {
	case l.Rate <= 0:
		return 0, 0, withOp(op, botgate.Invalid("limit", "rate must be positive, got %d", l.Rate))
	case l.Period <= 0:
		return 0, 0, withOp(op, botgate.Invalid("limit", "period must be positive, got %s", l.Period))
	case l.Burst <= 0:
		return 0, 0, withOp(op, botgate.Invalid("limit", "burst must be positive, got %d", l.Burst))
	}
	emission = l.Period.Microseconds() / int64(l.Rate)
	if emission < 1 {
		return 0, 0, withOp(op, botgate.Invalid("limit",
			"%d per %s is finer than the limiter's resolution of one event per %s", l.Rate, l.Period, Resolution))
	}
	if int64(l.Burst) > int64(MaxSpan/Resolution)/emission {
		return 0, 0, withOp(op, botgate.Invalid("limit",
			"burst %d at one event per %s spans more than %s", l.Burst, time.Duration(emission)*Resolution, MaxSpan))
	}
	return emission, emission * int64(l.Burst), nil
}

// Decide applies one step of the generic cell rate algorithm, exactly as
// go-redis/redis_rate's allowN script does, in integer microseconds.
//
// tat is the key's stored theoretical arrival time in microseconds since the
// Unix epoch, or NoTAT if the key has none (any value not after now means
// the same); now is the current time in the same unit (time.Time.UnixMicro). n is the cost of the request; n = 0 peeks.
//
// With T = EmissionInterval(l) and τ = T × Burst (the burst tolerance):
//
//	tat       = max(tat, now)
//	newTAT    = tat + n·T
//	diff      = now − (newTAT − τ)
//	diff < 0  → denied:  Remaining 0, RetryAfter −diff, ResetAfter tat − now; nothing stored
//	diff ≥ 0  → allowed: Remaining ⌊diff / T⌋, RetryAfter 0, ResetAfter newTAT − now; newTAT stored if n > 0
//
// Remaining is the number of further events of cost 1 that would be allowed
// right now; ResetAfter is the time until the key is back to a full burst;
// RetryAfter is the time until a request of cost n would be allowed. The one
// difference from redis_rate is that RetryAfter is 0, not −1, when allowed
// (LimitResult.Allowed says which). A cost above Burst never fits: it is
// denied with the RetryAfter the formula gives, as redis_rate does.
//
// Decide returns a KindInvalid error if l is invalid (see ValidateLimit) or
// n is negative.
func Decide(tat, now int64, l botgate.Limit, n int) (Decision, error) {
	emission, burstOffset, err := params(l)
	if err != nil {
		return Decision{}, err
	}
	if n < 0 {
		return Decision{}, withOp("ratelimit.Decide", botgate.Invalid("n", "cost must not be negative, got %d", n))
	}
	tat = max(tat, now)
	res := botgate.LimitResult{Limit: l}
	if n > l.Burst {
		// newTAT − τ = tat + (n − Burst)·T, computed without overflow.
		res.RetryAfter = micros(satAdd(tat-now, satMul(int64(n-l.Burst), emission)))
		res.ResetAfter = micros(tat - now)
		return Decision{Result: res}, nil
	}
	newTAT := tat + int64(n)*emission // n·T ≤ τ ≤ MaxSpan: no overflow
	diff := now - (newTAT - burstOffset)
	if diff < 0 {
		res.RetryAfter = micros(-diff)
		res.ResetAfter = micros(tat - now)
		return Decision{Result: res}, nil
	}
	res.Allowed = true
	res.Remaining = int(diff / emission)
	res.ResetAfter = micros(newTAT - now)
	if n == 0 {
		return Decision{Result: res}, nil
	}
	return Decision{Result: res, Store: true, TAT: newTAT}, nil
}

// micros converts microseconds to a Duration, saturating.
func micros(us int64) time.Duration {
	if us > int64(math.MaxInt64/Resolution) {
		return math.MaxInt64
	}
	return time.Duration(us) * Resolution
}

// satAdd adds two non-negative numbers, saturating at MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul multiplies two non-negative numbers, saturating at MaxInt64.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// withOp sets e's Op and returns it.
func withOp(op string, e *botgate.Error) *botgate.Error {
	e.Op = op
	return e
}
