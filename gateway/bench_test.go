package gateway_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/tokenfmt"
)

// benchTokens is the number of distinct valid tokens the benchmarks use.
const benchTokens = 10000

var benchPepper = []byte("botgate gateway benchmark pepper")

// benchEnv is a gateway over a SQLite store holding benchTokens tokens of
// one user who is a member of one project.
type benchEnv struct {
	gw      *gateway.Gateway
	secrets []string
	project int64
	up      *httptest.Server
}

// openBenchStore opens an empty SQLite store for a benchmark, closed when
// it ends, and the digester of benchPepper.
func openBenchStore(b *testing.B) (*sqlite.Store, *tokenfmt.Digester) {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "botgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	d, _ := tokenfmt.NewDigester(benchPepper)
	return st, d
}

func newBenchEnv(b *testing.B, config string) *benchEnv {
	b.Helper()
	ctx := context.Background()
	st, d := openBenchStore(b)
	now := time.Now().UTC()
	e := &benchEnv{secrets: make([]string, benchTokens)}
	err := st.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "bench-bot", Name: "bench", Kind: botgate.ServiceAccount, State: botgate.UserActive, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		g := &botgate.Group{Name: "bench", Path: "bench", FullPath: "bench", Visibility: botgate.Private, CreatedAt: now}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		p := &botgate.Project{Name: "p", Path: "p", PathWithNamespace: "bench/p", NamespaceID: g.ID, Visibility: botgate.Private, CreatedAt: now}
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		e.project = p.ID
		if err := tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
			UserID: u.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: now}); err != nil {
			return err
		}
		for i := range e.secrets {
			s, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: u.ID})
			if err != nil {
				return err
			}
			dg := d.Digest(s)
			if err := tx.CreateToken(ctx, &botgate.Token{UserID: u.ID, Kind: botgate.ServiceAccountToken, Name: "bench-" + strconv.Itoa(i),
				Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: dg[:], CreatedAt: now, Automation: "bench"}); err != nil {
				return err
			}
			e.secrets[i] = s
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: benchPepper, CacheTTL: 10 * time.Minute, UsageFlushInterval: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { auth.Close() })
	e.up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(e.up.Close)
	if config == "" {
		config = "routes: [{name: up, upstream: '" + e.up.URL + "', gitlab: true}]"
	}
	cfg, err := gateway.ParseConfig([]byte(config))
	if err != nil {
		b.Fatal(err)
	}
	e.gw, err = gateway.New(gateway.Options{Authority: auth, Store: st, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.gw.Close() })
	return e
}

// uri returns the i-th request URI: distinct pages, so that spreading
// requests over the tokens never looks like a loop.
func (e *benchEnv) uri(i int) string {
	return fmt.Sprintf("/api/v4/projects/%d/pipelines?page=%d", e.project, i)
}

// noop is the baseline handler: it answers 200 and does nothing else.
var noop = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// BenchmarkForwardAuthDecision measures the forward-auth decision in
// process (no network): valid tokens spread over 10,000, each answered from
// the authority's cache, against a no-op handler served the same way.
//
//	go test -run '^$' -bench ForwardAuthDecision -cpu 1 ./gateway/
func BenchmarkForwardAuthDecision(b *testing.B) {
	// The same prebuilt requests are replayed b.N times, so the loop
	// breaker's threshold and the rate are raised out of the way: the
	// breaker and the limiter do the same work whatever the numbers.
	e := newBenchEnv(b, `
loop: {threshold: 1000000000}
limits: {default: {rate: 10000000, period: 1m}}
routes: [{name: up, gitlab: true}]
`)
	reqs := e.authRequests()
	h := e.gw.ForwardAuth()
	// Warm the caches: every token authenticated once.
	for _, r := range reqs[:benchTokens] {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("warm-up: %d %s", w.Code, w.Body)
		}
	}
	run := func(b *testing.B, h http.Handler) {
		if w := runDecisions(b, h, reqs); w.code != 200 {
			b.Fatalf("last answer %d", w.code)
		}
	}
	b.Run("baseline=noop", func(b *testing.B) { run(b, noop) })
	b.Run("decision=valid-cached", func(b *testing.B) { run(b, h) })
}

// authRequests returns forward-auth requests over every token, twice:
// distinct pages, so that they never look like a loop.
func (e *benchEnv) authRequests() []*http.Request {
	reqs := make([]*http.Request, benchTokens*2)
	for i := range reqs {
		r := httptest.NewRequest("GET", "/-/auth", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", e.uri(i/benchTokens))
		r.Header.Set("PRIVATE-TOKEN", e.secrets[i%benchTokens])
		r.Header.Set("User-Agent", "bench/1.0")
		reqs[i] = r
	}
	return reqs
}

// runDecisions replays reqs through h b.N times and returns the writer
// with the last answer's status and headers.
func runDecisions(b *testing.B, h http.Handler, reqs []*http.Request) *discardWriter {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, reqs[i%len(reqs)])
	}
	b.StopTimer()
	return w
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(c int) { w.code = c }

// load is the outcome of one load run.
type load struct {
	n        int
	errs     int
	rps      float64
	p50, p99 time.Duration
	// cpuPerReq is the process's CPU time (user + system, client and
	// server together) per request: less disturbed by other processes on
	// a shared machine than throughput.
	cpuPerReq time.Duration
}

// cpuTime returns the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drive sends requests over conns keep-alive connections for d and
// measures throughput and latency. mk builds the i-th request of worker w.
func drive(client *http.Client, conns int, d time.Duration, mk func(w, i int) *http.Request) load {
	return drivePaced(client, conns, d, 0, mk)
}

// drivePaced is drive with the request rate held at rate requests per
// second in total (0: as fast as possible). A paced load leaves the
// machine headroom, so that latency measures the gateway rather than the
// queue of a saturated CPU.
func drivePaced(client *http.Client, conns int, d time.Duration, rate float64, mk func(w, i int) *http.Request) load {
	var wg sync.WaitGroup
	lat := make([][]time.Duration, conns)
	var errs atomic.Int64
	cpu0 := cpuTime()
	start := time.Now()
	stop := start.Add(d)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var every time.Duration
			if rate > 0 {
				every = time.Duration(float64(conns) / rate * float64(time.Second))
			}
			for i := 0; time.Now().Before(stop); i++ {
				if every > 0 {
					next := start.Add(time.Duration(i)*every + time.Duration(w)*every/time.Duration(conns))
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				resp, err := client.Do(mk(w, i))
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := load{n: len(all), errs: int(errs.Load()), rps: float64(len(all)) / el.Seconds()}
	if len(all) > 0 {
		res.p50, res.p99 = all[len(all)/2], all[len(all)*99/100]
		res.cpuPerReq = cpu / time.Duration(len(all))
	}
	return res
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
}

// loadParams are the interleaved load runs' settings.
const (
	loadRounds = 5
	loadConns  = 16
	loadRound  = time.Second
)

// BenchmarkLoadForwardAuth drives loopback HTTP with keep-alive
// connections against one server that serves both a no-op handler and
// /-/auth (10,000 distinct valid tokens), interleaved A, B, A, B for five
// rounds, and reports the median throughput ratio auth/no-op.
//
//	go test -run '^$' -bench LoadForwardAuth -benchtime 1x ./gateway/
func BenchmarkLoadForwardAuth(b *testing.B) {
	e := newBenchEnv(b, "")
	mux := http.NewServeMux()
	mux.Handle("/noop", noop)
	mux.Handle("/-/auth", e.gw.ForwardAuth())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := newClient(loadConns)
	var seq atomic.Int64
	mkAuth := func(w, i int) *http.Request {
		n := int(seq.Add(1))
		r, _ := http.NewRequest("GET", srv.URL+"/-/auth", nil)
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", e.uri(n/benchTokens))
		r.Header.Set("PRIVATE-TOKEN", e.secrets[n%benchTokens])
		return r
	}
	mkNoop := func(w, i int) *http.Request {
		n := int(seq.Add(1))
		r, _ := http.NewRequest("GET", srv.URL+"/noop", nil)
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", e.uri(n/benchTokens))
		r.Header.Set("PRIVATE-TOKEN", e.secrets[n%benchTokens])
		return r
	}
	drive(client, loadConns, loadRound, mkAuth) // warm caches and connections
	reportInterleaved(b, "noop", "auth", client, mkNoop, mkAuth)
}

// BenchmarkLoadProxy compares the gateway's proxy with a bare
// httputil.ReverseProxy to the same trivial upstream, interleaved.
//
//	go test -run '^$' -bench LoadProxy -benchtime 1x ./gateway/
func BenchmarkLoadProxy(b *testing.B) {
	e := newBenchEnv(b, "")
	target, _ := url.Parse(e.up.URL)
	// The bare proxy gets the same connection pool and flushing as the
	// gateway's.
	bare := httptest.NewServer(&httputil.ReverseProxy{
		Transport:     &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
	})
	defer bare.Close()
	gw := httptest.NewServer(e.gw.Proxy())
	defer gw.Close()
	client := newClient(loadConns)
	var seq atomic.Int64
	mk := func(base string) func(w, i int) *http.Request {
		return func(w, i int) *http.Request {
			n := int(seq.Add(1))
			r, _ := http.NewRequest("GET", base+e.uri(n/benchTokens), nil)
			r.Header.Set("PRIVATE-TOKEN", e.secrets[n%benchTokens])
			return r
		}
	}
	drive(client, loadConns, loadRound, mk(gw.URL))
	reportInterleaved(b, "bare", "gateway", client, mk(bare.URL), mk(gw.URL))
}

// BenchmarkLoadRunaway measures other tokens' latency through the proxy,
// at a steady 1,000 requests a second, while quiet and while one token
// loops at full speed (its requests refused by the loop breaker),
// interleaved, and reports the median p99 ratio loud/quiet.
//
//	go test -run '^$' -bench LoadRunaway -benchtime 1x ./gateway/
func BenchmarkLoadRunaway(b *testing.B) {
	e := newBenchEnv(b, "")
	gw := httptest.NewServer(e.gw.Proxy())
	defer gw.Close()
	client := newClient(loadConns)
	var seq atomic.Int64
	mkNormal := func(w, i int) *http.Request {
		n := int(seq.Add(1))
		r, _ := http.NewRequest("GET", gw.URL+e.uri(n/benchTokens), nil)
		r.Header.Set("PRIVATE-TOKEN", e.secrets[1+n%(benchTokens-1)])
		return r
	}
	loopURI := gw.URL + e.uri(0)
	runaway := func(stop <-chan struct{}, done chan<- int) {
		c := newClient(2)
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			r, _ := http.NewRequest("GET", loopURI, nil)
			r.Header.Set("PRIVATE-TOKEN", e.secrets[0])
			resp, err := c.Do(r)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			n++
		}
	}
	// The other tokens send a steady 1,000 requests a second between
	// them; the runaway token sends as fast as two connections allow.
	const normalRate = 1000
	drivePaced(client, loadConns, loadRound, normalRate, mkNormal)
	var quiet, loud, ratios []float64
	looped := 0
	for round := 0; round < loadRounds; round++ {
		q := drivePaced(client, loadConns, loadRound, normalRate, mkNormal)
		stop, done := make(chan struct{}), make(chan int, 2)
		go runaway(stop, done)
		go runaway(stop, done)
		l := drivePaced(client, loadConns, loadRound, normalRate, mkNormal)
		close(stop)
		looped += <-done + <-done
		if q.errs+l.errs > 0 {
			b.Fatalf("round %d: %d and %d failed requests of normal tokens", round, q.errs, l.errs)
		}
		quiet, loud = append(quiet, float64(q.p99.Microseconds())), append(loud, float64(l.p99.Microseconds()))
		ratios = append(ratios, float64(l.p99)/float64(q.p99))
		b.Logf("round %d: quiet p99 %v (%.0f req/s), with runaway p99 %v (%.0f req/s)", round, q.p99, q.rps, l.p99, l.rps)
	}
	b.ReportMetric(median(quiet), "quiet-p99-µs")
	b.ReportMetric(median(loud), "runaway-p99-µs")
	b.ReportMetric(median(ratios), "p99-ratio")
	b.ReportMetric(float64(looped)/float64(loadRounds)/loadRound.Seconds(), "runaway-req/s")
}

// reportInterleaved runs A and B alternately for loadRounds rounds and
// reports each one's median throughput and p50/p99, and the median of the
// per-round ratios B/A.
func reportInterleaved(b *testing.B, aName, bName string, client *http.Client, mkA, mkB func(w, i int) *http.Request) {
	var aRPS, bRPS, ratios, cpuRatios, aCPU, bCPU, aP50, aP99, bP50, bP99 []float64
	for round := 0; round < loadRounds; round++ {
		ra := drive(client, loadConns, loadRound, mkA)
		rb := drive(client, loadConns, loadRound, mkB)
		if ra.errs+rb.errs > 0 {
			b.Fatalf("round %d: %d and %d failed requests", round, ra.errs, rb.errs)
		}
		aRPS, bRPS = append(aRPS, ra.rps), append(bRPS, rb.rps)
		ratios = append(ratios, rb.rps/ra.rps)
		cpuRatios = append(cpuRatios, float64(ra.cpuPerReq)/float64(rb.cpuPerReq))
		aCPU, bCPU = append(aCPU, float64(ra.cpuPerReq.Nanoseconds())/1e3), append(bCPU, float64(rb.cpuPerReq.Nanoseconds())/1e3)
		aP50, aP99 = append(aP50, float64(ra.p50.Microseconds())), append(aP99, float64(ra.p99.Microseconds()))
		bP50, bP99 = append(bP50, float64(rb.p50.Microseconds())), append(bP99, float64(rb.p99.Microseconds()))
		b.Logf("round %d: %s %.0f req/s (p50 %v, p99 %v, CPU %v/req); %s %.0f req/s (p50 %v, p99 %v, CPU %v/req); ratio %.3f, CPU ratio %.3f",
			round, aName, ra.rps, ra.p50, ra.p99, ra.cpuPerReq, bName, rb.rps, rb.p50, rb.p99, rb.cpuPerReq,
			rb.rps/ra.rps, float64(ra.cpuPerReq)/float64(rb.cpuPerReq))
	}
	b.ReportMetric(median(aRPS), aName+"-req/s")
	b.ReportMetric(median(bRPS), bName+"-req/s")
	b.ReportMetric(median(aP99), aName+"-p99-µs")
	b.ReportMetric(median(bP99), bName+"-p99-µs")
	b.ReportMetric(median(aCPU), aName+"-cpu-µs/req")
	b.ReportMetric(median(bCPU), bName+"-cpu-µs/req")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(cpuRatios), "cpu-ratio")
}
