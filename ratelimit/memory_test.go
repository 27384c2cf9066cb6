package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// drain calls Allow with cost 1 until it is denied and returns how many
// were allowed.
func drain(t *testing.T, lim botgate.Limiter, key string, l botgate.Limit) int {
	t.Helper()
	for i := 0; ; i++ {
		r, err := lim.Allow(context.Background(), key, l, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Allowed {
			return i
		}
		if i > 1_000_000 {
			t.Fatal("never denied")
		}
	}
}

func TestMemoryBurstAndRefill(t *testing.T) {
	l := botgate.Limit{Rate: 60, Period: time.Minute, Burst: 5} // T = 1s
	tests := []struct {
		name    string
		advance time.Duration
		want    int // allowed after the advance, having drained the burst first
	}{
		{"no time passed", 0, 0},
		{"less than one interval", 999 * time.Millisecond, 0},
		{"one interval", time.Second, 1},
		{"three and a half intervals", 3500 * time.Millisecond, 3},
		{"the whole burst window", 5 * time.Second, 5},
		{"idle far longer: still only the burst", time.Hour, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(t0)
			m := ratelimit.NewMemory(clock)
			if got := drain(t, m, "k", l); got != l.Burst {
				t.Fatalf("first burst allowed %d, want %d", got, l.Burst)
			}
			clock.Advance(tt.advance)
			if got := drain(t, m, "k", l); got != tt.want {
				t.Fatalf("after %s allowed %d, want %d", tt.advance, got, tt.want)
			}
		})
	}
}

func TestMemoryCost(t *testing.T) {
	l := botgate.Limit{Rate: 10, Period: time.Second, Burst: 10}
	tests := []struct {
		name    string
		costs   []int
		allowed []bool
		remain  int // Remaining after the last call
	}{
		{"costs that fit exactly", []int{4, 6}, []bool{true, true}, 0},
		{"a cost that does not fit is not charged", []int{8, 3, 2}, []bool{true, false, true}, 0},
		{"a cost above the burst never fits", []int{11, 10}, []bool{false, true}, 0},
		{"peeks charge nothing", []int{0, 0, 3, 0}, []bool{true, true, true, true}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ratelimit.NewMemory(ratelimit.NewManualClock(t0))
			var r botgate.LimitResult
			for i, n := range tt.costs {
				var err error
				r, err = m.Allow(context.Background(), "k", l, n)
				if err != nil {
					t.Fatal(err)
				}
				if r.Allowed != tt.allowed[i] {
					t.Fatalf("call %d (n=%d): allowed=%v, want %v", i, n, r.Allowed, tt.allowed[i])
				}
			}
			if r.Remaining != tt.remain {
				t.Fatalf("Remaining = %d, want %d", r.Remaining, tt.remain)
			}
		})
	}
}

func TestMemoryKeyIsolation(t *testing.T) {
	l := botgate.Limit{Rate: 100, Period: time.Minute, Burst: 20}
	m := ratelimit.NewMemory(ratelimit.NewManualClock(t0))
	if got := drain(t, m, "runaway", l); got != l.Burst {
		t.Fatalf("runaway allowed %d, want %d", got, l.Burst)
	}
	for i := range 100 {
		key := fmt.Sprintf("quiet-%d", i)
		r, err := m.Allow(context.Background(), key, l, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Remaining != l.Burst {
			t.Fatalf("%s: Remaining %d after another key drained, want %d", key, r.Remaining, l.Burst)
		}
	}
}

// TestMemoryConcurrentOneKey hammers one key from many goroutines while
// the clock moves: the total allowed must be exactly burst + elapsed/T.
func TestMemoryConcurrentOneKey(t *testing.T) {
	l := botgate.Limit{Rate: 1000, Period: time.Second, Burst: 10} // T = 1ms
	const (
		goroutines = 16
		steps      = 200
		step       = 3 * time.Millisecond // 3 slots a step, less than the burst window
	)
	clock := ratelimit.NewManualClock(t0)
	m := ratelimit.NewMemory(clock)
	var allowed, denials atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for !stop.Load() {
				r, err := m.Allow(context.Background(), "shared", l, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				} else {
					denials.Add(1)
				}
			}
		})
	}
	// Move the clock only once the budget is spent (a peek sees nothing
	// left), so no refill is wasted on an idle key.
	for range steps {
		for {
			r, err := m.Allow(context.Background(), "shared", l, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Remaining == 0 {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
		clock.Advance(step)
	}
	stop.Store(true)
	wg.Wait()
	allowed.Add(int64(drain(t, m, "shared", l)))
	if denials.Load() == 0 {
		t.Fatal("no goroutine was ever denied: the test did not contend")
	}
	want := int64(l.Burst) + int64(steps*step/ratelimit.EmissionInterval(l))
	if got := allowed.Load(); got != want {
		t.Fatalf("allowed %d, want burst + elapsed/T = %d", got, want)
	}
}

// TestMemoryConcurrentManyKeys checks per-key budgets under contention on
// shared shards: every key gets exactly its burst.
func TestMemoryConcurrentManyKeys(t *testing.T) {
	l := botgate.Limit{Rate: 1, Period: time.Hour, Burst: 7}
	m := ratelimit.NewMemory(ratelimit.NewManualClock(t0))
	const keys, goroutines = 500, 8
	counts := make([]atomic.Int64, keys)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for round := range 20 {
				for k := range keys {
					k := (k + g*31 + round) % keys
					r, err := m.Allow(context.Background(), fmt.Sprintf("key-%d", k), l, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Allowed {
						counts[k].Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	for k := range counts {
		if got := counts[k].Load(); got != int64(l.Burst) {
			t.Fatalf("key-%d allowed %d, want %d", k, got, l.Burst)
		}
	}
}

func TestMemoryEviction(t *testing.T) {
	// Each key's burst window is 10ms; a new key arrives every millisecond,
	// so about 10 keys are live at any moment.
	l := botgate.Limit{Rate: 100, Period: time.Second, Burst: 1}
	tests := []struct {
		name string
		keys int
	}{
		{"churn of 20,000 keys", 20_000},
		{"churn of 200,000 keys", 200_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := ratelimit.NewManualClock(t0)
			m := ratelimit.NewMemory(clock)
			for i := range tt.keys {
				clock.Advance(time.Millisecond)
				if _, err := m.Allow(context.Background(), fmt.Sprintf("token:%d", i), l, 1); err != nil {
					t.Fatal(err)
				}
			}
			// Each of the 256 shards holds at most max(2·live, 64) keys.
			if got, bound := m.Len(), 256*64; got > bound {
				t.Fatalf("Len = %d after %d keys, want at most %d", got, tt.keys, bound)
			}
			clock.Advance(time.Second)
			removed := m.Sweep()
			if got := m.Len(); got != 0 {
				t.Fatalf("Len = %d after every key went idle and a sweep, want 0", got)
			}
			if removed == 0 {
				t.Fatal("Sweep removed nothing")
			}
		})
	}
}

func TestMemoryEvictionKeepsLiveKeys(t *testing.T) {
	// A swept key that was still live would get a fresh burst: sweeping must
	// only forget keys whose answers it cannot change, even a key one
	// microsecond from its TAT.
	live := botgate.Limit{Rate: 1000, Period: time.Second, Burst: 2} // T = 1ms
	short := botgate.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1}
	clock := ratelimit.NewManualClock(t0)
	m := ratelimit.NewMemory(clock)
	if got := drain(t, m, "live", live); got != 2 { // TAT = t0 + 2ms
		t.Fatalf("drained %d, want 2", got)
	}
	for i := range 50_000 { // forces many sweeps of every shard
		clock.Advance(39 * time.Nanosecond)
		if _, err := m.Allow(context.Background(), fmt.Sprintf("short:%d", i), short, 1); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(t0.Add(2*time.Millisecond - time.Microsecond))
	m.Sweep()
	r, err := m.Allow(context.Background(), "live", live, 0)
	if err != nil {
		t.Fatal(err)
	}
	// TAT − now = 1µs: ⌊(τ − 1µs) / T⌋ = 1 left, not a fresh 2.
	if r.Remaining != 1 || r.ResetAfter != time.Microsecond {
		t.Fatalf("live key after sweeps: %+v, want Remaining 1, ResetAfter 1µs", r)
	}
}

func TestMemoryRunSweeps(t *testing.T) {
	clock := ratelimit.NewManualClock(t0)
	m := ratelimit.NewMemory(clock)
	l := botgate.Limit{Rate: 10, Period: time.Second, Burst: 1}
	for i := range 100 {
		if _, err := m.Allow(context.Background(), fmt.Sprintf("k%d", i), l, 1); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for m.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor left %d idle keys", m.Len())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}
