package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/loadgen"
	"github.com/botgate/botgate/ratelimit"
)

// benchServer is a loopback HTTP server for one side of a benchmark,
// configured like botgate serve's listeners.
type benchServer struct {
	srv *http.Server
	url string
}

func startBenchServer(h http.Handler) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &benchServer{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			MaxHeaderBytes: 64 << 10, ErrorLog: nil},
		url: "http://" + ln.Addr().String(),
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *benchServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// noopHandler is the baseline: it answers 200 with no body.
func noopHandler(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// authShapes are forward-auth requests as nginx auth_request sends them,
// for the token's own project: a mix of reads and a write, each token
// moving to the next page on every lap (so the loop breaker sees a
// paginating client, not a loop).
func authShapes(path string) []loadgen.Shape {
	orig := func(method, uri string) loadgen.Shape {
		return loadgen.Shape{Method: http.MethodGet, Path: path, Header: http.Header{
			"X-Original-Method": {method}, "X-Original-Uri": {uri}, "User-Agent": {"botgate-bench/1"}}}
	}
	return []loadgen.Shape{
		orig("GET", "/api/v4/projects/{tag}/issues?state=opened&page={n}"),
		orig("GET", "/api/v4/projects/{tag}/merge_requests?page={n}"),
		orig("POST", "/api/v4/projects/{tag}/statuses/{n}?state=success"),
		orig("GET", "/api/v4/projects/{tag}/pipelines?page={n}"),
	}
}

// proxyShapes are the same calls sent to a reverse proxy.
func proxyShapes() []loadgen.Shape {
	h := http.Header{"User-Agent": {"botgate-bench/1"}}
	return []loadgen.Shape{
		{Method: "GET", Path: "/api/v4/projects/{tag}/issues?state=opened&page={n}", Header: h},
		{Method: "GET", Path: "/api/v4/projects/{tag}/merge_requests?page={n}", Header: h},
		{Method: "POST", Path: "/api/v4/projects/{tag}/statuses/{n}?state=success", Header: h},
		{Method: "GET", Path: "/api/v4/projects/{tag}/pipelines?page={n}", Header: h},
	}
}

// Scenario is one scenario's outcome.
type Scenario struct {
	Name   string `json:"name"`
	What   string `json:"what"`
	Metric string `json:"metric"`
	// Target is the goal for the median ratio, met when the
	// median is ≥ Target (throughput) or ≤ Target (latency).
	Target  float64         `json:"target"`
	AtMost  bool            `json:"target_is_upper_bound"`
	Met     bool            `json:"met"`
	Outcome loadgen.Outcome `json:"outcome"`
	// CPURatios are, per round, B's process CPU time per request over
	// A's (throughput scenarios): the throughput ratio the two sides
	// would have if this process had the cores to itself and were
	// CPU-bound. Other processes barely move it.
	CPURatios []float64        `json:"cpu_ratios,omitempty"`
	CPUMedian float64          `json:"cpu_median_ratio,omitempty"`
	Notes     []string         `json:"notes,omitempty"`
	Secondary []loadgen.Result `json:"secondary,omitempty"`
}

// benchRunner runs scenarios against one world.
type benchRunner struct {
	o    Options
	w    *benchWorld
	log  *slog.Logger
	prog io.Writer
}

// trial returns a loadgen trial of one load.
func (b *benchRunner) trial(name string, c loadgen.Config) loadgen.Trial {
	return loadgen.Trial{Name: name, Run: func(ctx context.Context) (loadgen.Result, error) {
		res, err := loadgen.Run(ctx, c)
		if err != nil {
			return res, err
		}
		return res, checkResult(res)
	}}
}

// checkResult refuses a result with failures: a comparison of a load
// that got errors, or refusals where none were expected, measures the
// wrong thing.
func checkResult(r loadgen.Result) error {
	if r.Errors > 0 {
		return fmt.Errorf("%s: %d requests failed: %s", r.Name, r.Errors, r.FirstError)
	}
	if r.Unexpected > 0 {
		return fmt.Errorf("%s: %d of %d responses had an unexpected status (%s)", r.Name, r.Unexpected, r.Requests, statusString(r.Status))
	}
	if r.Requests == 0 {
		return fmt.Errorf("%s: no request completed", r.Name)
	}
	return nil
}

func statusString(m map[int]int64) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", m[c], c))
	}
	return strings.Join(parts, " ")
}

// warm sends every token once through fn so that the first round does not
// pay for loading them all.
func (b *benchRunner) warm(ctx context.Context, target string, fn loadgen.RequestFunc, n int) error {
	res, err := loadgen.Run(ctx, loadgen.Config{Name: "warm-up", Target: target, Connections: b.o.Connections,
		MaxRequests: int64(n), Request: fn})
	if err != nil {
		return err
	}
	return checkResult(res)
}

func (b *benchRunner) progress(scenario string, rounds int) func(loadgen.Round) {
	return func(r loadgen.Round) {
		fmt.Fprintf(b.prog, "%s round %d/%d: %s | %s → ratio %.3f (CPU ratio %.3f)\n", scenario, r.N, rounds,
			resultLine(r.A), resultLine(r.B), r.Ratio, cpuRatio(r))
	}
}

// cpuRatio is B's CPU time per request over A's.
func cpuRatio(r loadgen.Round) float64 {
	a, b := r.A.CPUPerRequest(), r.B.CPUPerRequest()
	if a == 0 {
		return 0
	}
	return float64(b) / float64(a)
}

// withCPU fills in a throughput scenario's CPU ratios.
func withCPU(sc *Scenario) *Scenario {
	for _, r := range sc.Outcome.Rounds {
		sc.CPURatios = append(sc.CPURatios, cpuRatio(r))
	}
	sc.CPUMedian = loadgen.Median(sc.CPURatios)
	return sc
}

func resultLine(r loadgen.Result) string {
	return fmt.Sprintf("%s %.0f req/s p50 %s p99 %s cpu/req %s heap %dMiB", r.Name, r.Throughput, fmtDur(r.P50), fmtDur(r.P99),
		fmtDur(r.CPUPerRequest()), r.HeapBytes>>20)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

// newGateway builds a gateway on the world, as botgate serve does.
func (b *benchRunner) newGateway(cfg *gateway.FileConfig, getenv func(string) string) (*gateway.Gateway, error) {
	if cfg == nil {
		cfg = &gateway.FileConfig{}
	}
	cfg.MembershipTTL = b.o.MemberTTL // 0: the default
	cfg.Loop.RefusalDelay = b.o.RefusalDelay
	return gateway.New(gateway.Options{Authority: b.w.auth, Store: b.w.store, Config: cfg, Getenv: getenv, Logger: b.log})
}

// forwardAuthServer starts a gateway's forward-auth endpoint (/-/auth and
// its subtree) and the no-op handler (/-/noop) on one loopback server.
func (b *benchRunner) forwardAuthServer() (*gateway.Gateway, *benchServer, error) {
	gw, err := b.newGateway(nil, nil)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/-/auth", gw.ForwardAuth())
	mux.Handle("/-/auth/", gw.ForwardAuth())
	mux.HandleFunc("/-/noop", noopHandler)
	srv, err := startBenchServer(mux)
	if err != nil {
		gw.Close()
		return nil, nil, err
	}
	return gw, srv, nil
}

// auth compares the forward-auth endpoint with a no-op handler on the same
// server, mux and connection count.
func (b *benchRunner) auth(ctx context.Context) (*Scenario, error) {
	gw, srv, err := b.forwardAuthServer()
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	defer srv.Close()
	authFn, err := loadgen.Rotation{Target: srv.url, Tokens: b.w.tokens, Shapes: authShapes("/-/auth"), Pages: b.o.Pages}.Func()
	if err != nil {
		return nil, err
	}
	noopFn, err := loadgen.Rotation{Target: srv.url, Tokens: b.w.tokens, Shapes: authShapes("/-/noop"), Pages: b.o.Pages}.Func()
	if err != nil {
		return nil, err
	}
	if err := b.warm(ctx, srv.url, authFn, len(b.w.tokens)); err != nil {
		return nil, err
	}
	load := func(name string, fn loadgen.RequestFunc) loadgen.Config {
		return loadgen.Config{Name: name, Target: srv.url, Connections: b.o.Connections, Duration: b.o.Duration,
			Warmup: b.o.Warmup, Request: fn}
	}
	out, err := loadgen.Compare(ctx, loadgen.Comparison{Rounds: b.o.Rounds,
		A: b.trial("auth", load("auth", authFn)), B: b.trial("noop", load("noop", noopFn)),
		Ratio: loadgen.ThroughputRatio, Progress: b.progress("auth", b.o.Rounds)})
	if err != nil {
		return nil, err
	}
	return withCPU(&Scenario{Name: "auth",
		What: fmt.Sprintf("GET /-/auth (nginx auth_request headers) with %d distinct valid tokens vs a no-op handler on the same server and mux, %d connections",
			len(b.w.tokens), b.o.Connections),
		Metric: "throughput of /-/auth ÷ throughput of the no-op handler", Target: 0.9, Outcome: out,
		Met: out.Median >= 0.9}), nil
}

// proxy compares the gateway's reverse proxy with a bare
// httputil.ReverseProxy to the same trivial upstream.
func (b *benchRunner) proxy(ctx context.Context) (*Scenario, error) {
	up, err := startBenchServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	if err != nil {
		return nil, err
	}
	defer up.Close()
	upURL, err := url.Parse(up.url)
	if err != nil {
		return nil, err
	}
	cfg := &gateway.FileConfig{Routes: []gateway.RouteConfig{{Name: "api", Upstream: up.url, GitLab: true,
		Credential: "env:BENCH_UPSTREAM_TOKEN"}}}
	gw, err := b.newGateway(cfg, func(k string) string {
		if k == "BENCH_UPSTREAM_TOKEN" {
			return "bench-upstream-credential"
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	gwSrv, err := startBenchServer(gw.Proxy())
	if err != nil {
		return nil, err
	}
	defer gwSrv.Close()
	// The bare proxy gets the same upstream transport settings as the
	// gateway's (http.DefaultTransport keeps only 2 idle connections per
	// host, which would handicap it).
	bare := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(upURL); pr.SetXForwarded() },
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	bareSrv, err := startBenchServer(bare)
	if err != nil {
		return nil, err
	}
	defer bareSrv.Close()
	gwFn, err := loadgen.Rotation{Target: gwSrv.url, Tokens: b.w.tokens, Shapes: proxyShapes(), Pages: b.o.Pages}.Func()
	if err != nil {
		return nil, err
	}
	bareFn, err := loadgen.Rotation{Target: bareSrv.url, Tokens: b.w.tokens, Shapes: proxyShapes(), Pages: b.o.Pages}.Func()
	if err != nil {
		return nil, err
	}
	if err := b.warm(ctx, gwSrv.url, gwFn, len(b.w.tokens)); err != nil {
		return nil, err
	}
	load := func(name, target string, fn loadgen.RequestFunc) loadgen.Config {
		return loadgen.Config{Name: name, Target: target, Connections: b.o.Connections, Duration: b.o.Duration,
			Warmup: b.o.Warmup, Request: fn}
	}
	out, err := loadgen.Compare(ctx, loadgen.Comparison{Rounds: b.o.Rounds,
		A:     b.trial("gateway-proxy", load("gateway-proxy", gwSrv.url, gwFn)),
		B:     b.trial("bare-proxy", load("bare-proxy", bareSrv.url, bareFn)),
		Ratio: loadgen.ThroughputRatio, Progress: b.progress("proxy", b.o.Rounds)})
	if err != nil {
		return nil, err
	}
	return withCPU(&Scenario{Name: "proxy",
		What: fmt.Sprintf("the gateway's reverse proxy (decision, token swap, rate-limit headers) vs a bare httputil.ReverseProxy, same trivial upstream, %d tokens, %d connections",
			len(b.w.tokens), b.o.Connections),
		Metric: "throughput through the gateway ÷ throughput through the bare proxy", Target: 0.8, Outcome: out,
		Met: out.Median >= 0.8}), nil
}

// runaway measures the quiet tokens' p99 latency at a steady rate, alone
// and with one token looping at full speed alongside them.
func (b *benchRunner) runaway(ctx context.Context) (*Scenario, error) {
	gw, srv, err := b.forwardAuthServer()
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	defer srv.Close()
	quietTokens := b.w.tokens[:min(b.o.QuietTokens, len(b.w.tokens))]
	quietFn, err := loadgen.Rotation{Target: srv.url, Tokens: quietTokens, Shapes: authShapes("/-/auth"), Pages: b.o.Pages}.Func()
	if err != nil {
		return nil, err
	}
	// The runaway sends one request over and over: the same method,
	// path and query, as a script stuck in a loop does.
	// As a control, --runaway-noop sends the same requests to a no-op
	// handler: what any extra client at that speed costs the others.
	looper := b.w.named["runaway"]
	loopPath := "/-/auth"
	if b.o.RunawayNoop {
		loopPath = "/-/noop"
	}
	loopURI := "/api/v4/projects/{tag}/pipelines?ref=main"
	if b.o.RunawayFlood {
		// A new page every time: never a loop, soon over the rate limit.
		loopURI += "&page={n}"
	}
	runawayFn, err := loadgen.Rotation{Target: srv.url, Tokens: []loadgen.Token{looper}, Shapes: []loadgen.Shape{{
		Method: http.MethodGet, Path: loopPath, Header: http.Header{
			"X-Original-Method": {"GET"}, "X-Original-Uri": {loopURI},
			"User-Agent": {"looping-script/1"}}}}}.Func()
	if err != nil {
		return nil, err
	}
	if err := b.warm(ctx, srv.url, quietFn, len(quietTokens)); err != nil {
		return nil, err
	}
	// Trip the breaker before the rounds: the trip (one audit event, a
	// synchronous write) happens once, and the rounds measure what a loop
	// costs while it is being refused.
	tripOK := func(s int) bool { return s == http.StatusOK || s == http.StatusTooManyRequests }
	tripN := int64(ratelimit.DefaultLoopThreshold + 1)
	if b.o.RunawayFlood {
		tripN = 2500 // past the gateway's default budget (2,000 a minute, burst 2,000)
	}
	trip, err := loadgen.Run(ctx, loadgen.Config{Name: "runaway trip", Target: srv.url,
		MaxRequests: tripN, Request: runawayFn, OK: tripOK})
	if err != nil {
		return nil, err
	}
	if err := checkResult(trip); err != nil {
		return nil, err
	}
	if !b.o.RunawayNoop && trip.Status[http.StatusTooManyRequests] == 0 {
		return nil, fmt.Errorf("the looping client was not refused after %d identical requests (%s)", trip.Requests, statusString(trip.Status))
	}
	quiet := loadgen.Config{Name: "quiet", Target: srv.url, Connections: b.o.Connections, Duration: b.o.Duration,
		Warmup: b.o.Warmup, Rate: b.o.QuietRate, Request: quietFn}
	runaway := loadgen.Config{Name: "runaway", Target: srv.url, Connections: b.o.RunawayConns, Duration: b.o.Duration,
		Warmup: b.o.Warmup, Rate: b.o.RunawayRate, Request: runawayFn,
		OK: tripOK}
	var runs []loadgen.Result
	with := loadgen.Trial{Name: "quiet+runaway", Run: func(ctx context.Context) (loadgen.Result, error) {
		if b.o.RunawayConns == 0 {
			// A/A control: the quiet load again, no runaway.
			res, err := loadgen.Run(ctx, quiet)
			if err != nil {
				return res, err
			}
			res.Name = "quiet again"
			runs = append(runs, loadgen.Result{Name: "runaway (none)"})
			return res, checkResult(res)
		}
		rs, err := loadgen.RunGroups(ctx, []loadgen.Config{quiet, runaway})
		if err != nil {
			return loadgen.Result{}, err
		}
		// The gateway holds refused loop requests (loop.refusal_delay), so
		// the runaway may complete none within a short measured phase.
		rwErr := checkResult(rs[1])
		if rs[1].Requests == 0 && rs[1].Errors == 0 {
			rwErr = nil
		}
		if err := errors.Join(checkResult(rs[0]), rwErr); err != nil {
			return loadgen.Result{}, err
		}
		rs[0].Name = "quiet+runaway"
		runs = append(runs, rs[1])
		return rs[0], nil
	}}
	out, err := loadgen.Compare(ctx, loadgen.Comparison{Rounds: b.o.Rounds,
		A: b.trial("quiet", quiet), B: with,
		// The ratio is the quiet tokens' p99 with the runaway over without.
		Ratio: func(a, bb loadgen.Result) float64 { return loadgen.P99Ratio(bb, a) },
		Progress: func(r loadgen.Round) {
			rw := runs[len(runs)-1]
			fmt.Fprintf(b.prog, "runaway round %d/%d: %s | %s | runaway %.0f req/s (%s) → p99 ratio %.3f\n", r.N, b.o.Rounds,
				resultLine(r.A), resultLine(r.B), rw.Throughput, statusString(rw.Status), r.Ratio)
		}})
	if err != nil {
		return nil, err
	}
	speed := "at full speed"
	if b.o.RunawayRate > 0 {
		speed = fmt.Sprintf("at %.0f req/s", b.o.RunawayRate)
	}
	if b.o.RunawayFlood {
		speed += ", a new page each time (refused by the rate limit, not the loop breaker)"
	}
	if b.o.RunawayNoop {
		speed += " (control: sent to a no-op handler, not /-/auth)"
	}
	if b.o.RunawayConns == 0 {
		speed = "(A/A control: no runaway at all, the quiet load run twice)"
	}
	sc := &Scenario{Name: "runaway",
		What: fmt.Sprintf("%d quiet tokens at %.0f req/s in total over %d connections through /-/auth, alone and with one token looping on one request %s over %d connection(s)",
			len(quietTokens), b.o.QuietRate, b.o.Connections, speed, b.o.RunawayConns),
		Metric: "quiet tokens' p99 with the runaway ÷ without", Target: 1.1, AtMost: true, Outcome: out,
		Met: out.Median <= 1.1, Secondary: runs}
	refuser := "loop breaker"
	if b.o.RunawayFlood {
		refuser = "rate limit"
	}
	var blocked, total int64
	var perRefusal []float64
	for i, r := range runs {
		blocked += r.Status[http.StatusTooManyRequests]
		total += r.Requests
		rd := out.Rounds[i]
		if r.Requests > 0 {
			// The CPU the runaway added (generator and server), per
			// request.
			perRefusal = append(perRefusal, float64(rd.B.CPU-rd.A.CPU)/float64(r.Requests))
		}
	}
	sc.Notes = append(sc.Notes,
		fmt.Sprintf("the runaway completed %d requests in the measured phases; %d were refused with 429 (%s)", total, blocked, refuser))
	if total >= 1000 {
		sc.Notes = append(sc.Notes, fmt.Sprintf("each runaway request added a median %s of CPU time to the process (load generator and server together)",
			fmtDur(time.Duration(loadgen.Median(perRefusal)))))
	}
	return sc, nil
}
