package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/ratelimit/ratelimittest"
)

// t0 is a whole second, so that hand-computed values stay readable.
var t0 = ratelimittest.Start

var (
	tenPerSecond = botgate.Limit{Rate: 10, Period: time.Second, Burst: 10}     // T = 100 ms, τ = 1 s
	threePerSec  = botgate.Limit{Rate: 3, Period: time.Second, Burst: 2}       // T = 333333 µs, τ = 666666 µs
	gitlabCom    = botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000} // T = 30 ms
)

// handStep is one call with its hand-computed GCRA answer.
type handStep struct {
	advance time.Duration
	n       int
	allowed bool
	remain  int
	retry   time.Duration
	reset   time.Duration
}

// The answers below are worked out by hand from the GCRA definition (and,
// for the first table, agree with go-redis/redis_rate's own tests for
// PerSecond(10)), not from the code under test.
var handTables = []struct {
	name  string
	limit botgate.Limit
	steps []handStep
}{
	{"10 per second, burst 10", tenPerSecond, []handStep{
		// TAT t0 → t0+100ms: diff = 0 − (100ms − 1s) = 900ms → 9 left.
		{0, 1, true, 9, 0, 100 * time.Millisecond},
		// TAT → t0+300ms: diff 700ms → 7 left.
		{0, 2, true, 7, 0, 300 * time.Millisecond},
		// TAT → t0+1s: diff 0 → allowed, none left.
		{0, 7, true, 0, 0, time.Second},
		// Would be TAT t0+1.1s: diff −100ms → denied, TAT unchanged.
		{0, 1, false, 0, 100 * time.Millisecond, time.Second},
		// Cost 1000 > burst: retry = (TAT−now) + 990·T = 1s + 99s.
		{0, 1000, false, 0, 100 * time.Second, time.Second},
		// now t0+250ms, TAT t0+1s → t0+1.1s: diff 150ms → 1 left; reset 850ms.
		{250 * time.Millisecond, 1, true, 1, 0, 850 * time.Millisecond},
		// Peek: same diff 150ms, nothing recorded.
		{0, 0, true, 1, 0, 850 * time.Millisecond},
		// Cost 2 → TAT would be t0+1.3s: diff −50ms.
		{0, 2, false, 0, 50 * time.Millisecond, 850 * time.Millisecond},
		// A later peek sees TAT t0+1.1s (the denied cost 2 left no trace).
		{0, 0, true, 1, 0, 850 * time.Millisecond},
		// 2s later the key is full again: like a key never seen.
		{2 * time.Second, 0, true, 10, 0, 0},
	}},
	{"3 per second, burst 2 (emission interval with a remainder)", threePerSec, []handStep{
		{0, 1, true, 1, 0, 333333 * time.Microsecond},
		{0, 1, true, 0, 0, 666666 * time.Microsecond},
		{0, 1, false, 0, 333333 * time.Microsecond, 666666 * time.Microsecond},
		// One microsecond short of the next slot.
		{333332 * time.Microsecond, 1, false, 0, time.Microsecond, 333334 * time.Microsecond},
		{time.Microsecond, 1, true, 0, 0, 666666 * time.Microsecond},
	}},
	{"GitLab.com 2000 per minute", gitlabCom, []handStep{
		{0, 1, true, 1999, 0, 30 * time.Millisecond},
		{0, 1999, true, 0, 0, time.Minute},
		{0, 1, false, 0, 30 * time.Millisecond, time.Minute},
		// 3 emission intervals later: 3 slots back (Remaining counts those
		// still free after this one).
		{90 * time.Millisecond, 1, true, 2, 0, time.Minute - 60*time.Millisecond},
	}},
}

func TestDecideHandComputed(t *testing.T) {
	for _, tt := range handTables {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.UnixMicro()
			tat := ratelimit.NoTAT
			for i, s := range tt.steps {
				now += s.advance.Microseconds()
				d, err := ratelimit.Decide(tat, now, tt.limit, s.n)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				checkHand(t, i, s, d.Result)
				if d.Store != (s.allowed && s.n > 0) {
					t.Errorf("step %d: Store = %v, want %v", i, d.Store, s.allowed && s.n > 0)
				}
				if d.Store {
					if want := now + s.reset.Microseconds(); d.TAT != want {
						t.Errorf("step %d: TAT = %d, want now+ResetAfter = %d", i, d.TAT, want)
					}
					tat = d.TAT
				}
			}
		})
	}
}

func TestMemoryHandComputed(t *testing.T) {
	for _, tt := range handTables {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(t0)
			m := ratelimit.NewMemory(clock)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				r, err := m.Allow(context.Background(), "token:1", tt.limit, s.n)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				checkHand(t, i, s, r)
				if r.Limit != tt.limit {
					t.Errorf("step %d: Limit = %+v, want %+v", i, r.Limit, tt.limit)
				}
			}
		})
	}
}

func checkHand(t *testing.T, i int, s handStep, r botgate.LimitResult) {
	t.Helper()
	if r.Allowed != s.allowed || r.Remaining != s.remain || r.RetryAfter != s.retry || r.ResetAfter != s.reset {
		t.Errorf("step %d (n=%d): got allowed=%v remaining=%d retry=%s reset=%s; want allowed=%v remaining=%d retry=%s reset=%s",
			i, s.n, r.Allowed, r.Remaining, r.RetryAfter, r.ResetAfter, s.allowed, s.remain, s.retry, s.reset)
	}
}

func TestMemoryConformance(t *testing.T) {
	ratelimittest.Exercise(t, func(t *testing.T, clock botgate.Clock) botgate.Limiter {
		return ratelimit.NewMemory(clock)
	})
}

func TestValidateLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit botgate.Limit
		ok    bool
	}{
		{"GitLab.com API", gitlabCom, true},
		{"self-managed hourly", botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 7200}, true},
		{"one per microsecond", botgate.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1}, true},
		{"finer than a microsecond", botgate.Limit{Rate: 1_000_001, Period: time.Second, Burst: 1}, false},
		{"zero", botgate.Limit{}, false},
		{"no burst", botgate.Limit{Rate: 1, Period: time.Second}, false},
		{"negative period", botgate.Limit{Rate: 1, Period: -time.Second, Burst: 1}, false},
		{"burst window of 142 years", botgate.Limit{Rate: 1, Period: ratelimit.MaxSpan, Burst: 1}, true},
		{"burst window beyond MaxSpan", botgate.Limit{Rate: 1, Period: ratelimit.MaxSpan, Burst: 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ratelimit.ValidateLimit(tt.limit)
			if tt.ok != (err == nil) {
				t.Fatalf("ValidateLimit(%+v) = %v, want ok=%v", tt.limit, err, tt.ok)
			}
			if err != nil && !botgate.IsKind(err, botgate.KindInvalid) {
				t.Fatalf("ValidateLimit(%+v) = %v, want KindInvalid", tt.limit, err)
			}
		})
	}
}

func TestDecideSaturates(t *testing.T) {
	// A cost far above the burst must not overflow into an "allowed" or a
	// negative RetryAfter.
	l := botgate.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	d, err := ratelimit.Decide(ratelimit.NoTAT, t0.UnixMicro(), l, int(^uint(0)>>1))
	if err != nil {
		t.Fatal(err)
	}
	if d.Result.Allowed || d.Store || d.Result.RetryAfter <= 0 {
		t.Fatalf("Decide(huge n) = %+v, want denied with a positive RetryAfter", d)
	}
}

func TestClockBeforeEpoch(t *testing.T) {
	// A zero time.Time (year 1) is a plausible fake clock: a key never seen
	// must still get its full burst, and identical requests must still be
	// counted and expire.
	l := botgate.Limit{Rate: 10, Period: time.Second, Burst: 10}
	tests := []struct {
		name  string
		start time.Time
	}{
		{"zero time", time.Time{}},
		{"1969", time.Date(1969, time.December, 31, 23, 59, 59, 0, time.UTC)},
		{"the Unix epoch", time.Unix(0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(tt.start)
			m := ratelimit.NewMemory(clock)
			if got := drain(t, m, "k", l); got != l.Burst {
				t.Fatalf("allowed %d, want the burst %d", got, l.Burst)
			}
			clock.Advance(100 * time.Millisecond)
			if got := drain(t, m, "k", l); got != 1 {
				t.Fatalf("after one interval allowed %d, want 1", got)
			}
			b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 3, Window: time.Minute})
			if got := outcomes(t, b, "tok", "s", 4); got[ratelimit.Tripped] != 1 {
				t.Fatalf("breaker: %v, want a trip", got)
			}
			clock.Advance(10 * time.Minute)
			if v := observe(t, b, "tok", "s"); v.Outcome != ratelimit.Allowed || v.Count != 1 {
				t.Fatalf("breaker after the cool-down: %+v, want allowed with count 1", v)
			}
		})
	}
}
