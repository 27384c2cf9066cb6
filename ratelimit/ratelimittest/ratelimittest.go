// Package ratelimittest is the conformance suite every botgate.Limiter
// must pass: the in-memory limiter (ratelimit.Memory) and the shared one
// (redis.Limiter). It drives a limiter with a ratelimit.ManualClock and
// checks every answer against ratelimit.Decide, the reference GCRA step.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// Start is the time the suite's clocks start at.
var Start = time.Date(2021, time.January, 5, 10, 59, 30, 0, time.UTC)

// NewLimiter makes the limiter under test. It must read the time from
// clock, and it must start with no state: a Redis limiter uses a fresh key
// prefix (or database) per call, since the suite reuses key names.
type NewLimiter func(t *testing.T, clock botgate.Clock) botgate.Limiter

// Exercise runs the conformance suite against the limiters newLimiter makes.
func Exercise(t *testing.T, newLimiter NewLimiter) {
	t.Run("scripted", func(t *testing.T) { exerciseScripted(t, newLimiter) })
	t.Run("random", func(t *testing.T) { exerciseRandom(t, newLimiter) })
	t.Run("invalid", func(t *testing.T) { exerciseInvalid(t, newLimiter) })
}

// model is the reference: Decide over a map.
type model struct{ tats map[string]int64 }

func (m *model) allow(key string, now time.Time, l botgate.Limit, n int) (botgate.LimitResult, error) {
	tat, ok := m.tats[key]
	if !ok {
		tat = ratelimit.NoTAT
	}
	d, err := ratelimit.Decide(tat, now.UnixMicro(), l, n)
	if err != nil {
		return botgate.LimitResult{}, err
	}
	if d.Store {
		m.tats[key] = d.TAT
	}
	return d.Result, nil
}

// step is one call in a scripted sequence.
type step struct {
	advance time.Duration
	key     string
	limit   botgate.Limit
	n       int
}

var (
	tenPerSecond = botgate.Limit{Rate: 10, Period: time.Second, Burst: 10}
	threePerSec  = botgate.Limit{Rate: 3, Period: time.Second, Burst: 2} // T = 333333 µs
	gitlabCom    = botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}
	hourly       = botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 100}
)

func exerciseScripted(t *testing.T, newLimiter NewLimiter) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst, deny, cost above burst, partial refill, peek", []step{
			{0, "a", tenPerSecond, 1},
			{0, "a", tenPerSecond, 2},
			{0, "a", tenPerSecond, 7},
			{0, "a", tenPerSecond, 1},
			{0, "a", tenPerSecond, 1000},
			{250 * time.Millisecond, "a", tenPerSecond, 1},
			{0, "a", tenPerSecond, 0},
			{0, "a", tenPerSecond, 2},
			{2 * time.Second, "a", tenPerSecond, 0},
		}},
		{"emission interval with a remainder", []step{
			{0, "b", threePerSec, 1},
			{0, "b", threePerSec, 1},
			{0, "b", threePerSec, 1},
			{333333 * time.Microsecond, "b", threePerSec, 1},
			{333332 * time.Microsecond, "b", threePerSec, 1},
			{time.Microsecond, "b", threePerSec, 1},
		}},
		{"sub-microsecond clock", []step{
			{999 * time.Nanosecond, "c", threePerSec, 2},
			{333333999 * time.Nanosecond, "c", threePerSec, 1},
			{time.Nanosecond, "c", threePerSec, 1},
		}},
		{"keys are independent", []step{
			{0, "x", tenPerSecond, 10},
			{0, "x", tenPerSecond, 1},
			{0, "y", tenPerSecond, 1},
			{0, "y", tenPerSecond, 0},
			{0, "x", tenPerSecond, 0},
		}},
		{"limit changes under a key", []step{
			{0, "z", gitlabCom, 1500},
			{0, "z", hourly, 1},
			{time.Minute, "z", hourly, 1},
			{0, "z", gitlabCom, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(Start)
			lim := newLimiter(t, clock)
			ref := &model{tats: map[string]int64{}}
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				want, err := ref.allow(s.key, clock.Now(), s.limit, s.n)
				if err != nil {
					t.Fatalf("step %d: reference: %v", i, err)
				}
				got, err := lim.Allow(context.Background(), s.key, s.limit, s.n)
				if err != nil {
					t.Fatalf("step %d: Allow(%q, n=%d): %v", i, s.key, s.n, err)
				}
				if got != want {
					t.Errorf("step %d: Allow(%q, %+v, n=%d)\n got %+v\nwant %+v", i, s.key, s.limit, s.n, got, want)
				}
			}
		})
	}
}

func exerciseRandom(t *testing.T, newLimiter NewLimiter) {
	limits := []botgate.Limit{tenPerSecond, threePerSec, gitlabCom, hourly,
		{Rate: 1, Period: 7 * time.Second, Burst: 3}}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
			clock := ratelimit.NewManualClock(Start)
			lim := newLimiter(t, clock)
			ref := &model{tats: map[string]int64{}}
			allowed, denied := 0, 0
			for i := range 3000 {
				key := fmt.Sprintf("k%d", rng.IntN(6))
				l := limits[rng.IntN(len(limits))]
				if rng.IntN(4) > 0 { // mostly one limit per key, as in production
					l = limits[int(key[1]-'0')%len(limits)]
				}
				n := rng.IntN(4)
				if rng.IntN(50) == 0 {
					n = l.Burst + 1 + rng.IntN(3)
				}
				clock.Advance(time.Duration(rng.Int64N(int64(ratelimit.EmissionInterval(l)) * 2)))
				want, err := ref.allow(key, clock.Now(), l, n)
				if err != nil {
					t.Fatalf("op %d: reference: %v", i, err)
				}
				got, err := lim.Allow(context.Background(), key, l, n)
				if err != nil {
					t.Fatalf("op %d: Allow: %v", i, err)
				}
				if got != want {
					t.Fatalf("op %d: Allow(%q, %+v, n=%d) at %s\n got %+v\nwant %+v",
						i, key, l, n, clock.Now().Format(time.RFC3339Nano), got, want)
				}
				if n > 0 && got.Allowed {
					allowed++
				} else if !got.Allowed {
					denied++
				}
			}
			// The sequence must exercise both branches to mean anything.
			if allowed < 100 || denied < 100 {
				t.Fatalf("sequence too one-sided: %d allowed, %d denied", allowed, denied)
			}
		})
	}
}

func exerciseInvalid(t *testing.T, newLimiter NewLimiter) {
	tests := []struct {
		name  string
		limit botgate.Limit
		n     int
	}{
		{"zero limit", botgate.Limit{}, 1},
		{"no burst", botgate.Limit{Rate: 10, Period: time.Second}, 1},
		{"negative rate", botgate.Limit{Rate: -1, Period: time.Second, Burst: 1}, 1},
		{"zero period", botgate.Limit{Rate: 1, Burst: 1}, 1},
		{"finer than a microsecond", botgate.Limit{Rate: 2_000_000, Period: time.Second, Burst: 1}, 1},
		{"burst window too long", botgate.Limit{Rate: 1, Period: time.Hour, Burst: 2_000_000}, 1},
		{"negative cost", tenPerSecond, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := newLimiter(t, ratelimit.NewManualClock(Start))
			_, err := lim.Allow(context.Background(), "k", tt.limit, tt.n)
			var e *botgate.Error
			if !errors.As(err, &e) || e.Kind != botgate.KindInvalid {
				t.Fatalf("Allow(%+v, n=%d) = %v, want a KindInvalid *botgate.Error", tt.limit, tt.n, err)
			}
		})
	}
}
