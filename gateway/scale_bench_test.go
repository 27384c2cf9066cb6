package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/benchdata"
	"github.com/botgate/botgate/internal/heapstat"
)

// scaleTokens is how many distinct tokens, each of its own bot user and
// membership, BenchmarkForwardAuthScale spreads its requests over.
const scaleTokens = 100_000

// BenchmarkForwardAuthScale measures the forward-auth decision in process
// over 100,000 distinct tokens, each of its own project bot (so that every
// token has its own user, membership and limiter and breaker state),
// against the same decision over one of them, on the same gateway. The two
// sides alternate in blocks of 2,000 decisions, and each block is timed by
// the CPU time of the benchmark's thread, so that the other processes on a
// shared machine move neither side. Every token is first seen once, so that
// what is measured is the steady state within the caches' lifetimes; the
// lifetimes are an hour here because warming 100,000 tokens from SQLite
// takes longer than the default minute on a loaded machine. The cost of a
// refill, paid once per token per lifetime and after any invalidating
// change, is reported apart (wall time per token of the warm-up).
//
//	go test -run '^$' -bench ForwardAuthScale -benchtime 20x ./gateway/
func BenchmarkForwardAuthScale(b *testing.B) {
	secrets, serve := newScaleWorld(b, scaleTokens)
	ctx := context.Background()
	start := time.Now()
	pprof.Do(ctx, pprof.Labels("side", "refill"), func(context.Context) {
		for _, s := range secrets {
			if code := serve(s); code != 200 {
				b.Fatalf("warm-up: %d", code)
			}
		}
	})
	refill := time.Since(start) / scaleTokens
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const block = 2000
	var one, many time.Duration
	var n, i int
	// The two sides carry profile labels, so that a -cpuprofile of the
	// run can be read for either alone (go tool pprof -tagfocus side=many),
	// and apart from the warm-up (side=refill).
	oneSide, manySide := pprof.Labels("side", "one"), pprof.Labels("side", "many")
	for b.Loop() {
		var t0, t1, t2 time.Duration
		pprof.Do(ctx, oneSide, func(context.Context) {
			t0 = benchdata.ThreadCPU()
			for range block {
				if code := serve(secrets[0]); code != 200 {
					b.Fatalf("one token: %d", code)
				}
			}
			t1 = benchdata.ThreadCPU()
		})
		pprof.Do(ctx, manySide, func(context.Context) {
			for range block {
				if code := serve(secrets[i%scaleTokens]); code != 200 {
					b.Fatalf("token %d: %d", i%scaleTokens, code)
				}
				i++
			}
			t2 = benchdata.ThreadCPU()
		})
		one, many, n = one+t1-t0, many+t2-t1, n+block
	}
	b.ReportMetric(float64(one.Nanoseconds())/float64(n), "one-token-cpu-ns/op")
	b.ReportMetric(float64(many.Nanoseconds())/float64(n), "100k-tokens-cpu-ns/op")
	b.ReportMetric(float64(one)/float64(many), "throughput-ratio")
	b.ReportMetric(float64(refill.Nanoseconds()), "refill-ns/token")
}

// newScaleWorld is a gateway over SQLite holding n tokens, each of its own
// project bot, member of one project; serve presents a token to /-/auth
// (a GET of the project's pipelines) and returns the status.
func newScaleWorld(b *testing.B, n int) (secrets []string, serve func(secret string) int) {
	b.Helper()
	ctx := context.Background()
	st, d := openBenchStore(b)
	project, secrets, err := benchdata.ProjectBots(ctx, st, d, benchdata.Bots{N: n, Batch: 5000, Member: true, Automations: 50})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: benchPepper, CacheTTL: time.Hour, UsageFlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { auth.Close() })
	// The breaker's threshold and the rate are raised out of the way, as
	// in BenchmarkForwardAuthDecision: they do the same work whatever the
	// numbers. The caches keep their default sizes.
	cfg, err := gateway.ParseConfig([]byte(`
membership_ttl: 1h
loop: {threshold: 1000000000}
limits: {default: {rate: 10000000, period: 1m}}
routes: [{name: up, gitlab: true}]
`))
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Authority: auth, Store: st, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close() })
	h := gw.ForwardAuth()

	// One request whose token is swapped in place: building 100,000
	// requests would measure the memory they take instead.
	req := httptest.NewRequest("GET", "/-/auth", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("X-Original-URI", fmt.Sprintf("/api/v4/projects/%d/pipelines", project))
	req.Header.Set("PRIVATE-TOKEN", "")
	req.Header.Set("User-Agent", "bench/1.0")
	tok := req.Header["Private-Token"]
	w := &discardWriter{h: http.Header{}}
	return secrets, func(s string) int {
		tok[0] = s
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, req)
		return w.code
	}
}

// memScaleTokens is how many active tokens BenchmarkMemoryPerActiveToken
// holds.
const memScaleTokens = 20_000

// BenchmarkMemoryPerActiveToken measures what an active token keeps in
// memory across the whole forward-auth decision: the authority's cache
// entry and usage note, the gateway's identity and membership answers,
// the limiter's and the loop breaker's state and the route usage record.
// It reports the live heap (after full collections) and the resident set
// gained per token while 20,000 tokens, each of its own bot, make their
// first request. Run once:
//
//	go test -run '^$' -bench MemoryPerActiveToken -benchtime 1x ./gateway/
func BenchmarkMemoryPerActiveToken(b *testing.B) {
	secrets, serve := newScaleWorld(b, memScaleTokens)
	// One token first, so that what every decision builds once is not
	// counted against the others.
	if code := serve(secrets[0]); code != 200 {
		b.Fatalf("first decision: %d", code)
	}
	heap0, rss0 := heapstat.Live(), heapstat.RSS()
	for _, s := range secrets[1:] {
		if code := serve(s); code != 200 {
			b.Fatalf("decision: %d", code)
		}
	}
	heap1, rss1 := heapstat.Live(), heapstat.RSS()
	for b.Loop() {
	}
	n := float64(len(secrets) - 1)
	b.ReportMetric(float64(heap1-heap0)/n, "heap-B/token")
	b.ReportMetric((float64(rss1)-float64(rss0))/n, "rss-B/token")
}
