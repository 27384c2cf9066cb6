package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

func newBreaker(t *testing.T, clock botgate.Clock, cfg ratelimit.BreakerConfig) *ratelimit.Breaker {
	t.Helper()
	b, err := ratelimit.NewBreaker(clock, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func observe(t *testing.T, b *ratelimit.Breaker, token, shape string) ratelimit.Verdict {
	t.Helper()
	v, err := b.Observe(context.Background(), token, shape)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// outcomes returns how many of each outcome n identical requests get.
func outcomes(t *testing.T, b *ratelimit.Breaker, token, shape string, n int) map[ratelimit.Outcome]int {
	t.Helper()
	got := map[ratelimit.Outcome]int{}
	for range n {
		got[observe(t, b, token, shape).Outcome]++
	}
	return got
}

func TestBreakerDefaults(t *testing.T) {
	b := newBreaker(t, ratelimit.NewManualClock(t0), ratelimit.BreakerConfig{})
	want := ratelimit.BreakerConfig{Threshold: 50, Window: time.Minute, Cooldown: 5 * time.Minute, MaxShapes: 256, Buckets: 6}
	if got := b.Config(); got != want {
		t.Fatalf("Config() = %+v, want %+v", got, want)
	}
}

func TestBreakerTripsOncePerLoop(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{})
	shape := ratelimit.Shape("POST", "/api/v4/projects/7/issues/1/notes", "", []byte(`{"body":"ping"}`))
	for i := 1; i <= 50; i++ {
		v := observe(t, b, "token:1", shape)
		if v.Outcome != ratelimit.Allowed || v.Count != i {
			t.Fatalf("request %d: %+v, want allowed with count %d", i, v, i)
		}
	}
	v := observe(t, b, "token:1", shape)
	if v.Outcome != ratelimit.Tripped || v.Count != 51 || v.RetryAfter != 5*time.Minute || !v.Denied() {
		t.Fatalf("request 51: %+v, want tripped, count 51, 5m cool-down", v)
	}
	if v.Threshold != 50 || v.Window != time.Minute {
		t.Fatalf("verdict threshold/window = %d/%s, want 50/1m", v.Threshold, v.Window)
	}
	// The loop carries on for the whole cool-down: never another trip.
	for i := range 300 {
		clock.Advance(time.Second - time.Millisecond) // stays inside the 5m
		v := observe(t, b, "token:1", shape)
		if v.Outcome != ratelimit.Blocked {
			t.Fatalf("request %d during the cool-down: %+v, want blocked", 52+i, v)
		}
		if want := 5*time.Minute - time.Duration(i+1)*(time.Second-time.Millisecond); v.RetryAfter != want {
			t.Fatalf("request %d: RetryAfter %s, want %s", 52+i, v.RetryAfter, want)
		}
	}
	if got := b.Stats(); got.Trips != 1 || got.Blocked != 300 {
		t.Fatalf("Stats = %+v, want 1 trip, 300 blocked", got)
	}
	// Still looping when the cool-down ends: a second trip, and one only.
	clock.Advance(time.Second)
	got := outcomes(t, b, "token:1", shape, 10)
	if got[ratelimit.Tripped] != 1 || got[ratelimit.Blocked] != 9 {
		t.Fatalf("after the cool-down, a still-running loop got %v, want 1 tripped then blocked", got)
	}
	if got := b.Stats().Trips; got != 2 {
		t.Fatalf("Trips = %d, want 2", got)
	}
}

func TestBreakerCooldownEnds(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 5, Window: 10 * time.Second, Cooldown: time.Minute})
	if got := outcomes(t, b, "tok", "s", 6); got[ratelimit.Tripped] != 1 {
		t.Fatalf("got %v, want a trip", got)
	}
	clock.Advance(30 * time.Second)
	if v := observe(t, b, "tok", "s"); v.Outcome != ratelimit.Blocked || v.RetryAfter != 30*time.Second {
		t.Fatalf("half-way through the cool-down: %+v", v)
	}
	clock.Set(t0.Add(time.Minute - time.Nanosecond))
	if v := observe(t, b, "tok", "t"); v.Outcome != ratelimit.Allowed {
		t.Fatalf("another shape of the same token: %+v", v)
	}
	if v := observe(t, b, "tok", "s"); v.Outcome != ratelimit.Blocked || v.RetryAfter != time.Nanosecond {
		t.Fatalf("just before the cool-down ends: %+v", v)
	}
	// The loop stopped long ago; only the probe just above still counts.
	clock.Advance(time.Nanosecond)
	v := observe(t, b, "tok", "s")
	if v.Outcome != ratelimit.Allowed || v.Count != 2 {
		t.Fatalf("after the cool-down: %+v, want allowed with count 2", v)
	}
}

func TestBreakerWindow(t *testing.T) {
	// Threshold 10 in 60s, counted in 6 buckets of 10s.
	cfg := ratelimit.BreakerConfig{Threshold: 10, Window: time.Minute, Buckets: 6}
	type burst struct {
		at time.Duration // offset from t0 (a bucket boundary)
		n  int
	}
	tests := []struct {
		name   string
		bursts []burst
		trips  int
	}{
		{"exactly the threshold", []burst{{0, 10}}, 0},
		{"one over", []burst{{0, 11}}, 1},
		{"spread within the window", []burst{{0, 4}, {20 * time.Second, 4}, {50 * time.Second, 3}}, 1},
		{"the old bucket slid out", []burst{{0, 6}, {time.Minute, 5}}, 0},
		{"the old bucket still counts", []burst{{0, 6}, {time.Minute - time.Nanosecond, 5}}, 1},
		{"a slow steady poller never trips", func() []burst {
			var bs []burst
			for i := range 200 {
				bs = append(bs, burst{time.Duration(i) * 7 * time.Second, 1})
			}
			return bs
		}(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(t0)
			b := newBreaker(t, clock, cfg)
			trips := 0
			for _, bs := range tt.bursts {
				clock.Set(t0.Add(bs.at))
				trips += outcomes(t, b, "tok", "shape", bs.n)[ratelimit.Tripped]
			}
			if trips != tt.trips {
				t.Fatalf("trips = %d, want %d", trips, tt.trips)
			}
		})
	}
}

func TestBreakerDistinctShapesDoNotTrip(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{})
	// A paginated crawl: 2,000 requests in a minute, each page distinct.
	for page := 1; page <= 2000; page++ {
		shape := ratelimit.Shape("GET", "/api/v4/projects", fmt.Sprintf("page=%d&per_page=100", page), nil)
		if v := observe(t, b, "crawler", shape); v.Outcome != ratelimit.Allowed {
			t.Fatalf("page %d: %+v", page, v)
		}
	}
	// Forty identical requests each of five shapes.
	for i := range 5 {
		shape := ratelimit.Shape("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/1", i), "", nil)
		if got := outcomes(t, b, "poller", shape, 40); got[ratelimit.Allowed] != 40 {
			t.Fatalf("shape %d: %v", i, got)
		}
	}
	if got := b.Stats().Trips; got != 0 {
		t.Fatalf("Trips = %d, want 0", got)
	}
}

func TestBreakerIsolation(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 20})
	loop := ratelimit.Shape("PUT", "/api/v4/projects/1/labels", "", []byte(`{"name":"x"}`))
	if got := outcomes(t, b, "runaway", loop, 100); got[ratelimit.Tripped] != 1 || got[ratelimit.Blocked] != 79 {
		t.Fatalf("runaway: %v", got)
	}
	tests := []struct {
		name, token, shape string
	}{
		{"another token, same shape", "neighbour", loop},
		{"same token, another shape", "runaway", ratelimit.Shape("GET", "/api/v4/projects/1", "", nil)},
		{"same token, same path, another body", "runaway", ratelimit.Shape("PUT", "/api/v4/projects/1/labels", "", []byte(`{"name":"y"}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcomes(t, b, tt.token, tt.shape, 20); got[ratelimit.Allowed] != 20 {
				t.Fatalf("got %v, want 20 allowed", got)
			}
		})
	}
}

func TestBreakerMaxShapes(t *testing.T) {
	cfg := ratelimit.BreakerConfig{Threshold: 10, MaxShapes: 4}
	t.Run("least recently seen shape is forgotten", func(t *testing.T) {
		b := newBreaker(t, ratelimit.NewManualClock(t0), cfg)
		outcomes(t, b, "tok", "a", 8)
		for _, s := range []string{"b", "c", "d", "e"} { // "e" evicts "a"
			observe(t, b, "tok", s)
		}
		if v := observe(t, b, "tok", "a"); v.Count != 1 {
			t.Fatalf("a: count %d, want 1 (forgotten)", v.Count)
		}
	})
	t.Run("a recently seen shape is kept", func(t *testing.T) {
		b := newBreaker(t, ratelimit.NewManualClock(t0), cfg)
		outcomes(t, b, "tok", "a", 8)
		for _, s := range []string{"b", "c", "d", "a", "e"} { // "e" evicts "b"
			observe(t, b, "tok", s)
		}
		if v := observe(t, b, "tok", "a"); v.Count != 10 {
			t.Fatalf("a: count %d, want 10", v.Count)
		}
		if v := observe(t, b, "tok", "b"); v.Count != 1 {
			t.Fatalf("b: count %d, want 1 (forgotten)", v.Count)
		}
	})
	t.Run("a blocked shape outlives newer ones", func(t *testing.T) {
		b := newBreaker(t, ratelimit.NewManualClock(t0), cfg)
		if got := outcomes(t, b, "tok", "loop", 11); got[ratelimit.Tripped] != 1 {
			t.Fatalf("no trip: %v", got)
		}
		for i := range 100 { // far more distinct shapes than MaxShapes
			observe(t, b, "tok", fmt.Sprintf("other-%d", i))
		}
		if v := observe(t, b, "tok", "loop"); v.Outcome != ratelimit.Blocked {
			t.Fatalf("loop: %+v, want still blocked", v)
		}
	})
}

func TestBreakerEviction(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 3, Window: time.Minute, Cooldown: 10 * time.Minute})
	for i := range 10_000 {
		observe(t, b, fmt.Sprintf("token:%d", i), "s")
	}
	outcomes(t, b, "looper", "s", 4) // tripped: blocked for 10 minutes
	if got := b.Len(); got != 10_001 {
		t.Fatalf("Len = %d, want 10001", got)
	}
	clock.Advance(time.Minute)
	if removed := b.Sweep(); removed != 10_000 {
		t.Fatalf("Sweep removed %d, want the 10000 quiet tokens", removed)
	}
	if v := observe(t, b, "looper", "s"); v.Outcome != ratelimit.Blocked {
		t.Fatalf("the blocked token was forgotten: %+v", v)
	}
	clock.Advance(10 * time.Minute)
	b.Sweep()
	if got := b.Len(); got != 0 {
		t.Fatalf("Len = %d after the cool-down and a quiet window, want 0", got)
	}

	// Churn: a new token every second, each quiet after one request. The
	// shards sweep as they grow, so memory tracks live tokens, not history.
	for i := range 100_000 {
		clock.Advance(time.Second)
		observe(t, b, fmt.Sprintf("churn:%d", i), "s")
	}
	if got, bound := b.Len(), 64*64; got > bound {
		t.Fatalf("Len = %d after 100000 short-lived tokens, want at most %d", got, bound)
	}
}

func TestBreakerConcurrentTripsOnce(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 100})
	const goroutines, each = 16, 200
	var tripped, allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				token := "hot"
				if i%2 == 1 {
					token = fmt.Sprintf("cold-%d", g) // 100 each: never over
				}
				v, err := b.Observe(context.Background(), token, "same")
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case v.Outcome == ratelimit.Tripped:
					tripped.Add(1)
					if token != "hot" {
						t.Errorf("%s tripped", token)
					}
				case v.Outcome == ratelimit.Allowed && token == "hot":
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if tripped.Load() != 1 || allowed.Load() != 100 {
		t.Fatalf("hot token: %d trips, %d allowed; want 1 trip, 100 allowed", tripped.Load(), allowed.Load())
	}
}

func TestBreakerConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  ratelimit.BreakerConfig
	}{
		{"negative threshold", ratelimit.BreakerConfig{Threshold: -1}},
		{"negative window", ratelimit.BreakerConfig{Window: -time.Second}},
		{"negative cool-down", ratelimit.BreakerConfig{Cooldown: -time.Second}},
		{"negative max shapes", ratelimit.BreakerConfig{MaxShapes: -1}},
		{"too many buckets", ratelimit.BreakerConfig{Buckets: 13}},
		{"window shorter than its buckets", ratelimit.BreakerConfig{Window: 3, Buckets: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ratelimit.NewBreaker(ratelimit.NewManualClock(t0), tt.cfg)
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Fatalf("NewBreaker(%+v) = %v, want KindInvalid", tt.cfg, err)
			}
		})
	}
}

func TestShape(t *testing.T) {
	base := ratelimit.Shape("GET", "/api/v4/projects", "page=1", []byte("body"))
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(base) {
		t.Fatalf("Shape = %q, want 16 hex digits", base)
	}
	tests := []struct {
		name                string
		method, path, query string
		body                []byte
		same                bool
	}{
		{"identical request", "GET", "/api/v4/projects", "page=1", []byte("body"), true},
		{"other method", "POST", "/api/v4/projects", "page=1", []byte("body"), false},
		{"other path", "GET", "/api/v4/projects/", "page=1", []byte("body"), false},
		{"other query", "GET", "/api/v4/projects", "page=2", []byte("body"), false},
		{"other body", "GET", "/api/v4/projects", "page=1", []byte("bodY"), false},
		{"no body", "GET", "/api/v4/projects", "page=1", nil, false},
		{"bytes moved across the method/path boundary", "GET/", "api/v4/projects", "page=1", []byte("body"), false},
		{"bytes moved across the query/body boundary", "GET", "/api/v4/projects", "page=1b", []byte("ody"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratelimit.Shape(tt.method, tt.path, tt.query, tt.body)
			if (got == base) != tt.same {
				t.Fatalf("Shape = %q, base %q, want same=%v", got, base, tt.same)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[ratelimit.Outcome]string{
		ratelimit.Allowed: "allowed", ratelimit.Tripped: "tripped", ratelimit.Blocked: "blocked", 9: "outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", o, got, want)
		}
	}
}

func TestVerdictErr(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	b := newBreaker(t, clock, ratelimit.BreakerConfig{Threshold: 2, Window: 90 * time.Second})
	tests := []struct {
		name    string
		advance time.Duration
		want    string // "" for no error
	}{
		{"allowed", 0, ""},
		{"allowed at the threshold", 0, ""},
		{"tripped", 0, "more than 2 times within 90 seconds. This request is refused for 5 minutes;"},
		{"blocked", 1500 * time.Millisecond, "refused for 4m58.5s;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			err := observe(t, b, "tok", "s").Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			if !botgate.IsKind(err, botgate.KindRateLimited) || botgate.ReasonOf(err) != botgate.ReasonLoopDetected {
				t.Fatalf("Err() = %v, want KindRateLimited with ReasonLoopDetected", err)
			}
			var e *botgate.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tt.want) || !strings.HasPrefix(e.Message, "Loop detected") {
				t.Fatalf("message %q, want it to contain %q", e.Message, tt.want)
			}
		})
	}
}

// TestBreakerMatchesLRUModel replays pseudo-random sequences of shapes
// from one token against a plain reference model of the breaker's
// bookkeeping (a count per shape, least recently seen forgotten first
// beyond MaxShapes), within one window and below the threshold: every
// count must match, so that a record reused for a new shape starts afresh
// and the recency order survives any interleaving.
func TestBreakerMatchesLRUModel(t *testing.T) {
	tests := []struct {
		name      string
		maxShapes int
		shapes    int
		seed      uint64
	}{
		{"1 slot", 1, 3, 1},
		{"4 slots, 12 shapes", 4, 12, 2},
		{"16 slots, 40 shapes", 16, 40, 3},
		{"slots to spare", 64, 20, 4},
		// A token's first eight shapes are found by a scan, later ones
		// through an index built on the ninth.
		{"8 slots, scanned only", 8, 20, 5},
		{"9 slots, indexed on the ninth", 9, 9, 6},
		{"10 slots, indexed and evicting", 10, 30, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(t, ratelimit.NewManualClock(t0), ratelimit.BreakerConfig{Threshold: 1 << 30, MaxShapes: tt.maxShapes})
			rng := rand.New(rand.NewPCG(tt.seed, tt.seed))
			var order []string // most recently seen first
			counts := map[string]int{}
			for step := range 5000 {
				s := "shape-" + strconv.Itoa(rng.IntN(tt.shapes))
				if _, ok := counts[s]; ok {
					order = slices.DeleteFunc(order, func(o string) bool { return o == s })
				} else if len(order) >= tt.maxShapes {
					delete(counts, order[len(order)-1])
					order = order[:len(order)-1]
				}
				order = slices.Insert(order, 0, s)
				counts[s]++
				if v := observe(t, b, "tok", s); v.Count != counts[s] {
					t.Fatalf("step %d, %s: count %d, want %d", step, s, v.Count, counts[s])
				}
			}
		})
	}
}
