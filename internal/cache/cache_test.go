package cache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate/internal/cache"
)

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// counter is a load that returns its key's value and counts its calls.
type counter struct{ calls atomic.Int64 }

func (n *counter) load(v string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		n.calls.Add(1)
		return v, nil
	}
}

func TestGetKeepsValuesForTTL(t *testing.T) {
	tests := []struct {
		name      string
		advance   time.Duration
		wantLoads int64
	}{
		{"fresh: answered from memory", 0, 1},
		{"just before the TTL: answered from memory", time.Minute - time.Nanosecond, 1},
		{"at the TTL: loaded again", time.Minute, 2},
		{"after the TTL: loaded again", time.Hour, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := cache.New(cache.Config[string, string]{TTL: time.Minute, Now: clk.Now})
			var n counter
			ctx := context.Background()
			if v, err := c.Get(ctx, "k", n.load("one")); err != nil || v != "one" {
				t.Fatalf("first Get = %q, %v", v, err)
			}
			clk.Advance(tt.advance)
			if _, err := c.Get(ctx, "k", n.load("two")); err != nil {
				t.Fatal(err)
			}
			if got := n.calls.Load(); got != tt.wantLoads {
				t.Fatalf("%d loads, want %d", got, tt.wantLoads)
			}
		})
	}
}

func TestNoTTLKeepsNothing(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		c := cache.New(cache.Config[string, string]{TTL: ttl})
		var n counter
		for range 2 {
			if v, err := c.Get(context.Background(), "k", n.load("v")); err != nil || v != "v" {
				t.Fatalf("TTL %v: Get = %q, %v", ttl, v, err)
			}
		}
		if n.calls.Load() != 2 || c.Len() != 0 {
			t.Fatalf("TTL %v: %d loads, %d entries; want every Get to load and nothing kept", ttl, n.calls.Load(), c.Len())
		}
	}
}

func TestErrorsAreNotKept(t *testing.T) {
	c := cache.New(cache.Config[string, int]{TTL: time.Hour})
	boom := errors.New("store down")
	if _, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Get = %v, want the load's error", err)
	}
	if c.Len() != 0 {
		t.Fatalf("a failed load was kept (%d entries)", c.Len())
	}
	if v, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 7, nil }); err != nil || v != 7 {
		t.Fatalf("Get after a failure = %d, %v; want a new load", v, err)
	}
}

func TestPanicInLoadIsAnError(t *testing.T) {
	c := cache.New(cache.Config[string, int]{TTL: time.Hour})
	_, err := c.Get(context.Background(), "k", func(context.Context) (int, error) { panic("bug") })
	if err == nil || c.Len() != 0 {
		t.Fatalf("Get = %v with %d entries; want an error and nothing kept", err, c.Len())
	}
}

// fill stores n values under keys "0".."n-1"; those below expired are
// stored one TTL earlier, so that they have expired at the clock's time.
func fill(t *testing.T, c *cache.Cache[string, string], clk *clock, n, expired int) {
	t.Helper()
	var ld counter
	clk.Advance(-time.Minute)
	for i := range n {
		if i == expired {
			clk.Advance(time.Minute)
		}
		if _, err := c.Get(context.Background(), strconv.Itoa(i), ld.load("v")); err != nil {
			t.Fatal(err)
		}
	}
	if expired == n {
		clk.Advance(time.Minute)
	}
}

func TestMaxEntries(t *testing.T) {
	const max = 8
	tests := []struct {
		name    string
		expired int // of max entries, how many have expired
		want    int // entries after one more is stored
	}{
		{"room left after dropping the expired", max / 2, max - max/2 + 1},
		{"all expired", max, 1},
		{"all live: an eighth dropped", 0, max - max/8 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			c := cache.New(cache.Config[string, string]{TTL: time.Minute, MaxEntries: max, Now: clk.Now})
			fill(t, c, clk, max, tt.expired)
			if c.Len() != max {
				t.Fatalf("%d entries before, want %d", c.Len(), max)
			}
			var n counter
			if _, err := c.Get(context.Background(), "new", n.load("new")); err != nil {
				t.Fatal(err)
			}
			if c.Len() != tt.want {
				t.Fatalf("%d entries after one more, want %d", c.Len(), tt.want)
			}
			if v, ok := c.Peek("new"); !ok || v != "new" {
				t.Fatalf("the new value was not kept: %q, %v", v, ok)
			}
		})
	}
}

func TestNegativeEntries(t *testing.T) {
	const maxNeg = 4
	clk := newClock()
	c := cache.New(cache.Config[string, string]{
		TTL: time.Hour, NegativeTTL: time.Second, MaxNegative: maxNeg, Now: clk.Now,
		Negative: func(v string) bool { return v == "" },
	})
	ctx := context.Background()
	var n counter
	if _, err := c.Get(ctx, "known", n.load("token")); err != nil {
		t.Fatal(err)
	}
	for i := range maxNeg + 3 {
		if _, err := c.Get(ctx, "miss"+strconv.Itoa(i), n.load("")); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("bounded on their own: a miss beyond the bound is not kept", func(t *testing.T) {
		if c.Len() != 1+maxNeg {
			t.Fatalf("%d entries, want the positive one and %d negative", c.Len(), maxNeg)
		}
		if _, ok := c.Peek("miss" + strconv.Itoa(maxNeg)); ok {
			t.Fatal("a miss beyond the bound was kept")
		}
	})
	t.Run("kept for the negative TTL", func(t *testing.T) {
		if _, ok := c.Peek("miss0"); !ok {
			t.Fatal("a negative entry was not kept")
		}
		clk.Advance(time.Second)
		if _, ok := c.Peek("miss0"); ok {
			t.Fatal("a negative entry outlived its TTL")
		}
		if _, ok := c.Peek("known"); !ok {
			t.Fatal("a positive entry expired with the negative TTL")
		}
	})
	t.Run("expired ones make room", func(t *testing.T) {
		if _, err := c.Get(ctx, "late", n.load("")); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Peek("late"); !ok {
			t.Fatal("a miss was not kept though the others had expired")
		}
		if c.Len() != 2 {
			t.Fatalf("%d entries, want the positive one and the new miss", c.Len())
		}
	})
}

// TestPurgeDuringLoad: a value loaded while a purge ran is given to the
// callers that waited for it, but not kept; a caller that arrives after the
// purge does not join the old load.
func TestPurgeDuringLoad(t *testing.T) {
	c := cache.New(cache.Config[string, string]{TTL: time.Hour})
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	old := make(chan string, 1)
	go func() {
		v, err := c.Get(ctx, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "before the purge", nil
		})
		if err != nil {
			v = err.Error()
		}
		old <- v
	}()
	<-started
	c.Purge()
	// A caller after the purge loads afresh rather than joining.
	v, err := c.Get(ctx, "k", func(context.Context) (string, error) { return "after the purge", nil })
	if err != nil || v != "after the purge" {
		t.Fatalf("Get after the purge = %q, %v; want its own load", v, err)
	}
	close(release)
	if v := <-old; v != "before the purge" {
		t.Fatalf("the caller in flight got %q", v)
	}
	if v, ok := c.Peek("k"); !ok || v != "after the purge" {
		t.Fatalf("kept %q, %v; want the load that began after the purge", v, ok)
	}

	// Alone: the value read across the purge is used once, not kept.
	c.Purge()
	v, err = c.Get(ctx, "k", func(context.Context) (string, error) {
		c.Purge()
		return "stale", nil
	})
	if err != nil || v != "stale" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if c.Len() != 0 {
		t.Fatalf("a value loaded across a purge was kept (%d entries)", c.Len())
	}
}

// TestConcurrentGetsShareOneLoad: callers asking while a load runs wait
// for it; one whose context ends gives up alone.
func TestConcurrentGetsShareOneLoad(t *testing.T) {
	c := cache.New(cache.Config[string, string]{TTL: time.Hour})
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	load := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		if ctx.Err() != nil {
			return "", ctx.Err() // the load must not see a caller's cancellation
		}
		return "v", nil
	}
	first, cancelFirst := context.WithCancel(context.Background())
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	wg.Go(func() {
		_, err := c.Get(first, "k", load)
		errs <- err
	})
	<-started
	for range n - 1 {
		wg.Go(func() {
			v, err := c.Get(context.Background(), "k", load)
			if err == nil && v != "v" {
				err = errors.New("wrong value " + v)
			}
			errs <- err
		})
	}
	cancelFirst() // the caller that started the load goes away
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	var canceled, ok int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, context.Canceled):
			canceled++
		default:
			t.Errorf("Get: %v", err)
		}
	}
	if canceled > 1 || ok+canceled != n {
		t.Fatalf("%d answered, %d canceled; want only the canceled caller to give up", ok, canceled)
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d loads, want 1", got)
	}
	if _, hit := c.Peek("k"); !hit {
		t.Fatal("the shared load was not kept")
	}
}

func TestFlightKeyRequiredForNonStringKeys(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted struct keys without a FlightKey")
		}
	}()
	cache.New(cache.Config[struct{ a int }, int]{TTL: time.Second})
}

// TestRace is for go test -race: Gets, expiries, bounds and purges on a
// few keys from many goroutines.
func TestRace(t *testing.T) {
	clk := newClock()
	c := cache.New(cache.Config[int, int]{
		TTL: time.Millisecond, MaxEntries: 8, MaxNegative: 2, Now: clk.Now,
		Negative:  func(v int) bool { return v < 0 },
		FlightKey: strconv.Itoa,
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := (g + i) % 12
				v, err := c.Get(context.Background(), k, func(context.Context) (int, error) {
					if k%3 == 0 {
						return -k, nil
					}
					return k, nil
				})
				if err != nil || (v != k && v != -k) {
					t.Errorf("Get(%d) = %d, %v", k, v, err)
					return
				}
				switch i % 50 {
				case 0:
					c.Purge()
				case 1:
					clk.Advance(time.Millisecond)
				}
				c.Peek(k)
			}
		})
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Fatalf("%d entries, bound 8", c.Len())
	}
}

// TestPeekUntil checks that PeekUntil says when the value was loaded to
// expire and that a Purge changes the generation it returns.
func TestPeekUntil(t *testing.T) {
	clk := newClock()
	loadedAt := clk.Now()
	c := cache.New(cache.Config[string, string]{TTL: time.Minute, Now: clk.Now})
	if _, _, _, ok := c.PeekUntil("k"); ok {
		t.Fatal("PeekUntil found a key never loaded")
	}
	var n counter
	if _, err := c.Get(context.Background(), "k", n.load("one")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	v, expires, gen, ok := c.PeekUntil("k")
	if !ok || v != "one" || !expires.Equal(loadedAt.Add(time.Minute)) || gen != c.Generation() {
		t.Fatalf("PeekUntil = %q, %v, %d, %v; want one, %v, %d, true", v, expires, gen, ok, loadedAt.Add(time.Minute), c.Generation())
	}
	c.Purge()
	if c.Generation() == gen {
		t.Fatalf("Purge left the generation at %d", gen)
	}
	if _, _, _, ok := c.PeekUntil("k"); ok {
		t.Fatal("PeekUntil found a purged key")
	}
}
