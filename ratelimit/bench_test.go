package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/ratelimit"
)

// benchLimit allows everything the benchmarks send, so that every call
// takes the storing path.
var benchLimit = botgate.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("token:%d", i)
	}
	return keys
}

func BenchmarkMemoryAllow(b *testing.B) {
	ctx := context.Background()
	many := benchKeys(1 << 20)
	b.Run("one key", func(b *testing.B) {
		m := ratelimit.NewMemory(botgate.SystemClock{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Allow(ctx, "token:1", benchLimit, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("1M keys", func(b *testing.B) {
		m := ratelimit.NewMemory(botgate.SystemClock{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := m.Allow(ctx, many[i&(len(many)-1)], benchLimit, 1); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel one key", func(b *testing.B) {
		m := ratelimit.NewMemory(botgate.SystemClock{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Allow(ctx, "token:1", benchLimit, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("parallel 1M keys", func(b *testing.B) {
		m := ratelimit.NewMemory(botgate.SystemClock{})
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1) * 7919)
			for pb.Next() {
				if _, err := m.Allow(ctx, many[i&(len(many)-1)], benchLimit, 1); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// BenchmarkBaselineMutexMap is the floor Memory is compared with: read the
// clock, lock one mutex, read and write a map entry.
func BenchmarkBaselineMutexMap(b *testing.B) {
	many := benchKeys(1 << 20)
	run := func(b *testing.B, key func(i int) string) {
		var mu sync.Mutex
		m := map[string]int64{}
		clock := botgate.SystemClock{}
		i := 0
		for b.Loop() {
			now := clock.Now().UnixMicro()
			k := key(i)
			mu.Lock()
			m[k] = max(m[k], now) + 1
			mu.Unlock()
			i++
		}
	}
	b.Run("one key", func(b *testing.B) { run(b, func(int) string { return "token:1" }) })
	b.Run("1M keys", func(b *testing.B) { run(b, func(i int) string { return many[i&(len(many)-1)] }) })
}

func BenchmarkBreakerObserve(b *testing.B) {
	ctx := context.Background()
	shape := ratelimit.Shape("GET", "/api/v4/projects/42/pipelines/7", "", nil)
	shapes := make([]string, 16)
	for i := range shapes {
		shapes[i] = ratelimit.Shape("GET", fmt.Sprintf("/api/v4/projects/%d", i), "", nil)
	}
	tokens := benchKeys(1 << 16)
	newB := func(b *testing.B) *ratelimit.Breaker {
		br, err := ratelimit.NewBreaker(botgate.SystemClock{}, ratelimit.BreakerConfig{Threshold: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		return br
	}
	b.Run("one token one shape", func(b *testing.B) {
		br := newB(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Observe(ctx, "token:1", shape); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("64k tokens 16 shapes", func(b *testing.B) {
		br := newB(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := br.Observe(ctx, tokens[i&(len(tokens)-1)], shapes[(i>>16)&15]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// A crawler's pattern, as in the gateway's load benchmarks: 10,000
	// tokens, each asking for a page it has not asked for before on every
	// request, so that every observation tracks a new shape (and, once a
	// token holds MaxShapes, forgets one).
	b.Run("10k tokens new shape every request", func(b *testing.B) {
		br := newB(b)
		pages := make([]string, 1024)
		for i := range pages {
			pages[i] = ratelimit.Shape("GET", "/api/v4/projects/1/pipelines", "page="+strconv.Itoa(i), nil)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := br.Observe(ctx, tokens[i%10000], pages[(i/10000)%len(pages)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("blocked loop", func(b *testing.B) {
		br, err := ratelimit.NewBreaker(botgate.SystemClock{}, ratelimit.BreakerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Observe(ctx, "token:1", shape); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel 64k tokens", func(b *testing.B) {
		br := newB(b)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1) * 7919)
			for pb.Next() {
				if _, err := br.Observe(ctx, tokens[i&(len(tokens)-1)], shapes[(i>>16)&15]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

func BenchmarkShape(b *testing.B) {
	body := make([]byte, 1024)
	for _, size := range []int{0, 1024} {
		b.Run(fmt.Sprintf("body %dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = ratelimit.Shape("POST", "/api/v4/projects/42/issues", "labels=bug", body[:size])
			}
		})
	}
}

// BenchmarkHeaders measures the rate-limit headers of one allowed decision
// against a baseline writing the same four values with http.Header.Set and
// GitLab's spelling of the names, which canonicalises and allocates each.
//
//	go test -run '^$' -bench Headers -cpu 1 ./ratelimit/
func BenchmarkHeaders(b *testing.B) {
	l := botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}
	r := botgate.LimitResult{Allowed: true, Limit: l, Remaining: 1234, ResetAfter: 23 * time.Second}
	now := time.Now()
	h := make(http.Header, 8)
	b.Run("baseline=Set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Set(ratelimit.HeaderLimit, strconv.FormatInt(ratelimit.PerMinute(l), 10))
			h.Set(ratelimit.HeaderRemaining, strconv.Itoa(r.Remaining))
			h.Set(ratelimit.HeaderObserved, strconv.Itoa(l.Burst-r.Remaining))
			h.Set(ratelimit.HeaderReset, strconv.FormatInt(now.Add(r.ResetAfter).Unix(), 10))
		}
	})
	b.Run("Headers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ratelimit.Headers(h, r, now)
		}
	})
}
