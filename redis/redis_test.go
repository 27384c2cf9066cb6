package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/internal/outage"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/ratelimit/ratelimittest"
	"github.com/botgate/botgate/redis"
)

func TestMain(m *testing.M) { pgtest.Main(m, "BOTGATE_TEST_REDIS_URL", "the Redis suite") }

// testURL returns the Redis the suite runs against, or skips the test.
func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("BOTGATE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("set BOTGATE_TEST_REDIS_URL to run the Redis suite")
	}
	return u
}

// freshPrefix returns a key prefix no other test uses.
func freshPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "botgate-test:" + hex.EncodeToString(b[:]) + ":"
}

func open(t *testing.T, o redis.Options) *redis.Client {
	t.Helper()
	c, err := redis.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLimiterConformance(t *testing.T) {
	url := testURL(t)
	ratelimittest.Exercise(t, func(t *testing.T, clock botgate.Clock) botgate.Limiter {
		c := open(t, redis.Options{URL: url, Prefix: freshPrefix(), Clock: clock})
		// A fallback that fails the test if it is ever used.
		return c.Limiter(failingLimiter{t})
	})
}

type failingLimiter struct{ t *testing.T }

func (f failingLimiter) Allow(context.Context, string, botgate.Limit, int) (botgate.LimitResult, error) {
	f.t.Errorf("the fallback limiter was used while Redis is up")
	return botgate.LimitResult{}, errors.New("fallback used")
}

func TestLimiterSharedAcrossClients(t *testing.T) {
	url := testURL(t)
	prefix := freshPrefix()
	clock := ratelimit.NewManualClock(ratelimittest.Start)
	a := open(t, redis.Options{URL: url, Prefix: prefix, Clock: clock}).Limiter(failingLimiter{t})
	b := open(t, redis.Options{URL: url, Prefix: prefix, Clock: clock}).Limiter(failingLimiter{t})
	l := botgate.Limit{Rate: 10, Period: time.Minute, Burst: 10}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for _, lim := range []*redis.Limiter{a, b} {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					res, err := lim.Allow(t.Context(), "token:1", l, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if res.Allowed {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	if allowed != l.Burst {
		t.Fatalf("two nodes allowed %d requests in total, want one budget of %d", allowed, l.Burst)
	}
}

// TestBreakerMatchesMemory drives the Redis breaker and ratelimit.Breaker
// with the same requests and clock and wants the same verdicts.
func TestBreakerMatchesMemory(t *testing.T) {
	url := testURL(t)
	cfg := ratelimit.BreakerConfig{Threshold: 5, Window: 10 * time.Second, Cooldown: 30 * time.Second, Buckets: 5}
	tests := []struct {
		name  string
		steps []time.Duration // the gap before each request of one shape
	}{
		{"burst trips once then blocks", repeat(12, 100*time.Millisecond)},
		{"slow enough never trips", repeat(20, 2500*time.Millisecond)},
		{"trip, cool down, trip again", append(append(repeat(8, 10*time.Millisecond), 31*time.Second), repeat(8, 10*time.Millisecond)...)},
		{"window slides", append(repeat(5, time.Second), append([]time.Duration{9 * time.Second}, repeat(6, 100*time.Millisecond)...)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Start on a bucket boundary: the memory breaker's buckets
			// start at its creation, Redis's at the Unix epoch.
			clock := ratelimit.NewManualClock(ratelimittest.Start)
			mem, err := ratelimit.NewBreaker(clock, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := open(t, redis.Options{URL: url, Prefix: freshPrefix(), Clock: clock})
			rb, err := c.Breaker(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			trips := 0
			for i, gap := range tt.steps {
				clock.Advance(gap)
				want, _ := mem.Observe(t.Context(), "token:7", "shape")
				got, err := rb.Observe(t.Context(), "token:7", "shape")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if got != want {
					t.Fatalf("request %d: got %+v, want %+v", i, got, want)
				}
				if got.Outcome == ratelimit.Tripped {
					trips++
				}
				// Another shape of the same token is never affected.
				if v, _ := rb.Observe(t.Context(), "token:7", "other-"+string(rune('a'+i%26))); v.Denied() {
					t.Fatalf("request %d: an unrelated shape was denied: %+v", i, v)
				}
			}
			if got := rb.Stats().Trips; got != uint64(trips) || got != mem.Stats().Trips {
				t.Errorf("Stats().Trips = %d, memory %d, seen %d", got, mem.Stats().Trips, trips)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestBreakerOneTripAcrossNodes has many nodes race on one looping shape:
// exactly one request in the cluster reports the trip.
func TestBreakerOneTripAcrossNodes(t *testing.T) {
	url := testURL(t)
	prefix := freshPrefix()
	cfg := ratelimit.BreakerConfig{Threshold: 20, Window: time.Minute, Cooldown: time.Minute}
	var breakers []*redis.Breaker
	for range 3 {
		c := open(t, redis.Options{URL: url, Prefix: prefix})
		b, err := c.Breaker(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		breakers = append(breakers, b)
	}
	var wg sync.WaitGroup
	for _, b := range breakers {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := b.Observe(t.Context(), "token:9", "loop"); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	var trips, blocked uint64
	for _, b := range breakers {
		trips += b.Stats().Trips
		blocked += b.Stats().Blocked
	}
	if trips != 1 {
		t.Errorf("trips across nodes = %d, want 1", trips)
	}
	if want := uint64(3*3*20 - cfg.Threshold - 1); blocked != want {
		t.Errorf("blocked across nodes = %d, want %d", blocked, want)
	}
}

func redisAddr(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "redis://")
	if !ok {
		t.Skip("BOTGATE_TEST_REDIS_URL is not a redis:// URL")
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	return host
}

func TestFallback(t *testing.T) {
	url := testURL(t)
	l := botgate.Limit{Rate: 3, Period: time.Minute, Burst: 3}
	tests := []struct {
		name      string
		mode      redis.FailMode
		wantAllow bool // whether a fresh key is allowed during the outage
		wantReady bool
	}{
		{"open: the node limits alone and stays ready", redis.FailOpen, true, true},
		{"closed: refused and not ready", redis.FailClosed, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := outage.New(t, redisAddr(t, url))
			var logs logbuf.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			c := open(t, redis.Options{URL: "redis://" + p.Addr() + "/0", Prefix: freshPrefix(), FailMode: tt.mode,
				Logger: log, ProbeInterval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond})
			reg := prometheus.NewRegistry()
			reg.MustRegister(c.Collectors()...)
			local := ratelimit.NewMemory(botgate.SystemClock{})
			lim := c.Limiter(local)
			ctx := t.Context()

			if res, err := lim.Allow(ctx, "k", l, 1); err != nil || !res.Allowed {
				t.Fatalf("before the outage: %+v, %v", res, err)
			}
			if local.Len() != 0 {
				t.Fatalf("the local limiter was used while Redis was up")
			}

			p.Cut()
			for i := range 5 {
				res, err := lim.Allow(ctx, "k2", l, 1)
				if err != nil {
					t.Fatalf("during the outage: %v", err)
				}
				wantAllowed := tt.wantAllow && i < l.Burst
				if res.Allowed != wantAllowed {
					t.Errorf("request %d during the outage: Allowed = %v, want %v", i, res.Allowed, wantAllowed)
				}
				if !res.Allowed && res.RetryAfter <= 0 {
					t.Errorf("request %d: refused without a Retry-After", i)
				}
			}
			if !c.Degraded() {
				t.Errorf("Degraded() = false during the outage")
			}
			if got := metric(t, reg, "botgate_redis_degraded"); got != 1 {
				t.Errorf("botgate_redis_degraded = %v, want 1", got)
			}
			if err := c.Ready(ctx); (err == nil) != tt.wantReady {
				t.Errorf("Ready during the outage = %v, want ready %v", err, tt.wantReady)
			}
			if n := strings.Count(logs.String(), "Redis is unreachable"); n != 1 {
				t.Errorf("logged the outage %d times, want once:\n%s", n, logs.String())
			}

			p.Restore()
			deadline := time.Now().Add(5 * time.Second)
			for c.Degraded() && time.Now().Before(deadline) {
				time.Sleep(60 * time.Millisecond)
				lim.Allow(ctx, "k3", l, 0)
			}
			if c.Degraded() {
				t.Fatalf("still degraded 5s after Redis came back")
			}
			if err := c.Ready(ctx); err != nil {
				t.Errorf("Ready after recovery: %v", err)
			}
			if got := metric(t, reg, "botgate_redis_degraded"); got != 0 {
				t.Errorf("botgate_redis_degraded after recovery = %v, want 0", got)
			}
			if got := metric(t, reg, "botgate_redis_fallback_decisions_total"); got < 5 {
				t.Errorf("botgate_redis_fallback_decisions_total = %v, want at least the 5 requests of the outage", got)
			}
			if n := strings.Count(logs.String(), "reachable again"); n != 1 {
				t.Errorf("logged the recovery %d times, want once:\n%s", n, logs.String())
			}
			// The shared state from before the outage is still there.
			res, err := lim.Allow(ctx, "k", l, 0)
			if err != nil || res.Remaining != l.Burst-1 {
				t.Errorf("after recovery, key k: %+v, %v; want %d remaining", res, err, l.Burst-1)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := redis.Open(t.Context(), redis.Options{URL: "http://user:s3cret@host"})
	if botgate.KindOf(err) != botgate.KindInvalid {
		t.Fatalf("Open(http URL) = %v, want KindInvalid", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error quotes the password: %v", err)
	}
	// An unreachable Redis is not an error at start: the node starts
	// degraded.
	c, err := redis.Open(t.Context(), redis.Options{URL: "redis://127.0.0.1:1/0", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open(unreachable) = %v, want a degraded client", err)
	}
	defer c.Close()
	if !c.Degraded() {
		t.Errorf("Degraded() = false for an unreachable Redis")
	}
}

func TestParseFailMode(t *testing.T) {
	tests := []struct {
		in   string
		want redis.FailMode
		ok   bool
	}{
		{"", redis.FailOpen, true},
		{"open", redis.FailOpen, true},
		{"CLOSED", redis.FailClosed, true},
		{"maybe", redis.FailOpen, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := redis.ParseFailMode(tt.in)
			if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
				t.Fatalf("ParseFailMode(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

func TestFanout(t *testing.T) {
	url := testURL(t)
	prefix := freshPrefix()
	a := open(t, redis.Options{URL: url, Prefix: prefix})
	b := open(t, redis.Options{URL: url, Prefix: prefix})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	type got struct {
		node string
		ids  []int64
	}
	events := make(chan got, 16)
	var wg sync.WaitGroup
	for _, c := range []*redis.Client{a, b} {
		ready := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Subscribe(ctx, func(ids []int64) { events <- got{c.Node(), ids} }, ready)
		}()
		<-ready
		if e := <-events; e.ids != nil {
			t.Fatalf("first purge on subscribing: %v, want everything (nil)", e.ids)
		}
	}
	a.Publish(ctx, []int64{42, 43})
	select {
	case e := <-events:
		if e.node != b.Node() || len(e.ids) != 2 || e.ids[0] != 42 {
			t.Errorf("received %+v, want tokens [42 43] on node b", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node b did not receive the invalidation")
	}
	select {
	case e := <-events:
		t.Errorf("unexpected second delivery %+v: the sender must not purge on its own message", e)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	wg.Wait()
}

// metric returns the sum of a metric's samples in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		return sum
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestFanoutResubscribes cuts the subscriber's connection: on reconnecting
// it purges everything (messages sent meanwhile are lost) and then hears
// new messages again.
func TestFanoutResubscribes(t *testing.T) {
	url := testURL(t)
	prefix := freshPrefix()
	p := outage.New(t, redisAddr(t, url))
	sub := open(t, redis.Options{URL: "redis://" + p.Addr() + "/0", Prefix: prefix, Timeout: 200 * time.Millisecond})
	pub := open(t, redis.Options{URL: url, Prefix: prefix})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	purges := make(chan []int64, 64)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sub.Subscribe(ctx, func(ids []int64) { purges <- ids }, ready)
	}()
	<-ready
	if ids := <-purges; ids != nil {
		t.Fatalf("first purge: %v, want everything", ids)
	}

	p.Cut()
	pub.Publish(ctx, []int64{1}) // lost: the subscriber is away
	time.Sleep(100 * time.Millisecond)
	p.Restore()

	select {
	case ids := <-purges:
		if ids != nil {
			t.Fatalf("got %v while reconnecting, want a purge of everything first", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no purge after the subscription came back")
	}
	// Subscribed again: a new message arrives.
	deadline := time.After(10 * time.Second)
	for {
		pub.Publish(ctx, []int64{2})
		select {
		case ids := <-purges:
			if len(ids) == 1 && ids[0] == 2 {
				cancel()
				<-done
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message after resubscribing")
		}
	}
}

// TestBreakerBoundsShapesPerToken has one token send many distinct
// requests: Redis holds counters for at most MaxShapes of them, and a
// looping shape among the tracked ones still trips.
func TestBreakerBoundsShapesPerToken(t *testing.T) {
	url := testURL(t)
	prefix := freshPrefix()
	c := open(t, redis.Options{URL: url, Prefix: prefix})
	cfg := ratelimit.BreakerConfig{Threshold: 5, Window: time.Minute, MaxShapes: 4, Buckets: 1}
	b, err := c.Breaker(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 6 { // the loop: tracked first, trips at 6
		if _, err := b.Observe(ctx, "token:1", "loop"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		v, err := b.Observe(ctx, "token:1", fmt.Sprintf("distinct-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if v.Denied() {
			t.Fatalf("distinct request %d denied: %+v", i, v)
		}
	}
	if v, _ := b.Observe(ctx, "token:1", "loop"); v.Outcome != ratelimit.Blocked {
		t.Errorf("the tripped shape after many others: %v, want blocked", v.Outcome)
	}
	if got := b.Stats().Trips; got != 1 {
		t.Errorf("trips = %d, want 1", got)
	}
	rdb := goredis.NewClient(mustParseURL(t, url))
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, prefix+"lb:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	// loop's counter and cool-down, 3 more shapes' counters, the shape count.
	if len(keys) > cfg.MaxShapes+2 {
		t.Errorf("%d breaker keys in Redis for one token, want at most %d: %v", len(keys), cfg.MaxShapes+2, keys)
	}
	// Another token has its own allowance.
	if v, _ := b.Observe(ctx, "token:2", "distinct-49"); v.Count != 1 {
		t.Errorf("another token's first request: count %d, want 1", v.Count)
	}
}

func mustParseURL(t *testing.T, url string) *goredis.Options {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
