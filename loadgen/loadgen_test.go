package loadgen_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/loadgen"
)

// exactPercentile is the nearest-rank percentile of sorted samples.
func exactPercentile(sorted []time.Duration, p float64) time.Duration {
	rank := 0
	for rank*1000 < int(p*10+0.5)*len(sorted) {
		rank++ // the smallest rank with rank/len ≥ p/100, in integers (p has one decimal)
	}
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		samples func() []time.Duration
	}{
		{"small values are exact", func() []time.Duration {
			var s []time.Duration
			for i := 1; i <= 200; i++ {
				s = append(s, time.Duration(i))
			}
			return s
		}},
		{"one to a thousand microseconds", func() []time.Duration {
			var s []time.Duration
			for i := 1; i <= 1000; i++ {
				s = append(s, time.Duration(i)*time.Microsecond)
			}
			return s
		}},
		{"long tail", func() []time.Duration {
			var s []time.Duration
			for range 9900 {
				s = append(s, time.Duration(50+rng.IntN(100))*time.Microsecond)
			}
			for range 100 {
				s = append(s, time.Duration(20+rng.IntN(80))*time.Millisecond)
			}
			return s
		}},
		{"single value", func() []time.Duration { return []time.Duration{1234567 * time.Nanosecond} }},
		{"exponential", func() []time.Duration {
			var s []time.Duration
			for range 50000 {
				s = append(s, time.Duration(rng.ExpFloat64()*float64(300*time.Microsecond)))
			}
			return s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			samples := tc.samples()
			h := loadgen.NewHistogram()
			for _, s := range samples {
				h.Record(s)
			}
			sorted := slices.Clone(samples)
			slices.Sort(sorted)
			if h.Count() != uint64(len(samples)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(samples))
			}
			if h.Max() != sorted[len(sorted)-1] || h.Min() != sorted[0] {
				t.Errorf("Min, Max = %v, %v, want %v, %v", h.Min(), h.Max(), sorted[0], sorted[len(sorted)-1])
			}
			for _, p := range []float64{1, 50, 90, 99, 99.9, 100} {
				want := exactPercentile(sorted, p)
				got := h.Percentile(p)
				// The histogram reports the top of the sample's bucket:
				// never below it, at most 1/128 above it.
				if got < want || float64(got-want) > float64(want)/128+1 {
					t.Errorf("p%v = %v, want %v (to within +0.8%%)", p, got, want)
				}
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	empty := loadgen.NewHistogram()
	if empty.Percentile(99) != 0 || empty.Max() != 0 || empty.Mean() != 0 {
		t.Fatalf("an empty histogram reports %v, %v, %v", empty.Percentile(99), empty.Max(), empty.Mean())
	}
	a, b, all := loadgen.NewHistogram(), loadgen.NewHistogram(), loadgen.NewHistogram()
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * 10 * time.Microsecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	a.Merge(empty)
	for _, p := range []float64{50, 90, 99} {
		if a.Percentile(p) != all.Percentile(p) {
			t.Errorf("merged p%v = %v, want %v", p, a.Percentile(p), all.Percentile(p))
		}
	}
	if a.Count() != 1000 || a.Mean() != all.Mean() {
		t.Errorf("merged count, mean = %d, %v, want 1000, %v", a.Count(), a.Mean(), all.Mean())
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"odd", []float64{0.9, 1.2, 0.7, 1.0, 0.95}, 0.95},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"one", []float64{0.5}, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := loadgen.Median(in); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Median reordered its input: %v", in)
			}
		})
	}
}

func TestCompareInterleaves(t *testing.T) {
	var order []string
	var mu sync.Mutex
	trial := func(name string, rps func(call int) float64) loadgen.Trial {
		calls := 0
		return loadgen.Trial{Name: name, Run: func(context.Context) (loadgen.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			calls++
			return loadgen.Result{Name: name, Throughput: rps(calls)}, nil
		}}
	}
	// A's throughput over B's is 0.5, 1, 1.5, 2, 2.5 in rounds 1..5, 3.0
	// in round 6, 0.1 in round 7.
	a := trial("A", func(call int) float64 {
		switch call {
		case 6:
			return 300
		case 7:
			return 10
		}
		return float64(call) * 50
	})
	b := trial("B", func(int) float64 { return 100 })
	var progress []int
	out, err := loadgen.Compare(t.Context(), loadgen.Comparison{Rounds: 7, A: a, B: b, Ratio: loadgen.ThroughputRatio,
		Progress: func(r loadgen.Round) { progress = append(progress, r.N) }})
	if err != nil {
		t.Fatal(err)
	}
	// The side that goes first alternates: A B, B A, A B …
	if want := "AB" + "BA" + "AB" + "BA" + "AB" + "BA" + "AB"; strings.Join(order, "") != want {
		t.Errorf("order = %s, want %s", strings.Join(order, ""), want)
	}
	for _, rd := range out.Rounds {
		if want := map[bool]string{true: "A", false: "B"}[rd.N%2 == 1]; rd.First != want {
			t.Errorf("round %d: First = %q, want %q", rd.N, rd.First, want)
		}
	}
	// A's throughputs are 50, 100, 150, 200, 250, 300, 10: median 150.
	if out.MedianA.Throughput != 150 || out.MedianB.Throughput != 100 {
		t.Errorf("side medians = %v, %v, want 150, 100", out.MedianA.Throughput, out.MedianB.Throughput)
	}
	if !slices.Equal(progress, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("progress rounds = %v", progress)
	}
	wantRatios := []float64{0.5, 1, 1.5, 2, 2.5, 3, 0.1}
	for i, rd := range out.Rounds {
		if rd.Ratio != wantRatios[i] || rd.A.Name != "A" || rd.B.Name != "B" {
			t.Errorf("round %d = %+v, want ratio %v", i+1, rd, wantRatios[i])
		}
	}
	if out.Median != 1.5 || out.Min != 0.1 || out.Max != 3 {
		t.Errorf("median, min, max = %v, %v, %v, want 1.5, 0.1, 3", out.Median, out.Min, out.Max)
	}
}

func TestCompareRefusesFewRounds(t *testing.T) {
	ok := loadgen.Trial{Name: "x", Run: func(context.Context) (loadgen.Result, error) { return loadgen.Result{}, nil }}
	_, err := loadgen.Compare(t.Context(), loadgen.Comparison{Rounds: 4, A: ok, B: ok, Ratio: loadgen.ThroughputRatio})
	if !botgate.IsKind(err, botgate.KindInvalid) {
		t.Fatalf("Compare with 4 rounds: err = %v, want KindInvalid", err)
	}
}

func TestCompareStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	a := loadgen.Trial{Name: "A", Run: func(context.Context) (loadgen.Result, error) {
		calls++
		if calls == 3 {
			return loadgen.Result{}, boom
		}
		return loadgen.Result{Throughput: 1}, nil
	}}
	b := loadgen.Trial{Name: "B", Run: func(context.Context) (loadgen.Result, error) { return loadgen.Result{Throughput: 1}, nil }}
	out, err := loadgen.Compare(t.Context(), loadgen.Comparison{Rounds: 5, A: a, B: b, Ratio: loadgen.ThroughputRatio})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if len(out.Rounds) != 2 {
		t.Errorf("%d rounds reported before the failure, want 2", len(out.Rounds))
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"ipv4 loopback", "http://127.0.0.1:8080", true},
		{"other 127/8 address", "http://127.3.2.1:80/x", true},
		{"ipv6 loopback", "http://[::1]:9000", true},
		{"localhost", "http://localhost:9000", true},
		{"mapped ipv4 loopback", "http://[::ffff:127.0.0.1]:9000", true},
		{"private address", "http://10.0.0.1:8080", false},
		{"public address", "http://93.184.216.34", false},
		{"host name", "http://example.com", false},
		{"unspecified", "http://0.0.0.0:8080", false},
		{"https", "https://127.0.0.1:8443", false},
		{"no scheme", "127.0.0.1:8080", false},
		{"localhost lookalike", "http://localhost.example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadgen.CheckLoopback(tc.url)
			if tc.ok && err != nil {
				t.Errorf("CheckLoopback(%q) = %v, want nil", tc.url, err)
			}
			if !tc.ok && !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("CheckLoopback(%q) = %v, want KindInvalid", tc.url, err)
			}
		})
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	called := false
	reqs := func(uint64) (*http.Request, error) {
		called = true
		return http.NewRequest(http.MethodGet, "http://192.0.2.1/", nil)
	}
	_, err := loadgen.Run(t.Context(), loadgen.Config{Target: "http://192.0.2.1:80", Duration: time.Second, Request: reqs})
	if !botgate.IsKind(err, botgate.KindInvalid) {
		t.Fatalf("Run against 192.0.2.1: err = %v, want KindInvalid", err)
	}
	if called {
		t.Error("a request was built for a refused target")
	}
}

func TestRunRefusesRequestsElsewhere(t *testing.T) {
	// The target is loopback, but the requests name another host: the
	// dialer refuses it.
	reqs := func(uint64) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, "http://192.0.2.1:9/", nil)
	}
	res, err := loadgen.Run(t.Context(), loadgen.Config{Target: "http://127.0.0.1:9", MaxRequests: 5, Request: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || !strings.Contains(res.FirstError, "loopback") || res.Dials != 0 {
		t.Errorf("result = %+v, want every request refused at dial time", res)
	}
}

// countingServer is a real loopback server that counts requests and the
// connections they came on.
type countingServer struct {
	*httptest.Server
	mu    sync.Mutex
	conns map[string]bool
	paths []string
	toks  []string
}

func newCountingServer(t *testing.T, status int) *countingServer {
	cs := &countingServer{conns: map[string]bool{}}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.conns[r.RemoteAddr] = true
		cs.paths = append(cs.paths, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Original-Uri")+" "+string(body))
		cs.toks = append(cs.toks, r.Header.Get("Private-Token"))
		cs.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func TestRunKeepAliveAndBounds(t *testing.T) {
	srv := newCountingServer(t, http.StatusOK)
	rot := loadgen.Rotation{Target: srv.URL, Tokens: []loadgen.Token{{Secret: "t0"}, {Secret: "t1"}, {Secret: "t2"}},
		Shapes: []loadgen.Shape{{Path: "/x"}}}
	fn, err := rot.Func()
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(t.Context(), loadgen.Config{Name: "bounded", Target: srv.URL, Connections: 4, MaxRequests: 300,
		Duration: time.Minute, Request: fn})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || res.Status[200] != 300 || res.Errors != 0 || res.Unexpected != 0 {
		t.Errorf("result = %+v, want 300 successful requests", res)
	}
	if res.Latency.Count() != 300 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("latencies: count %d, p50 %v, p99 %v, max %v", res.Latency.Count(), res.P50, res.P99, res.Max)
	}
	if res.Dials != 4 || len(srv.conns) != 4 {
		t.Errorf("%d dials, %d server-side connections for 4 workers: keep-alive is not working", res.Dials, len(srv.conns))
	}
	if res.Throughput <= 0 || res.Elapsed <= 0 {
		t.Errorf("throughput %v over %v", res.Throughput, res.Elapsed)
	}
	if res.CPU <= 0 || res.CPUPerRequest() != res.CPU/300 {
		t.Errorf("CPU %v, per request %v: the process's CPU time is not measured", res.CPU, res.CPUPerRequest())
	}
	seen := map[string]int{}
	for _, tok := range srv.toks {
		seen[tok]++
	}
	if seen["t0"] != 100 || seen["t1"] != 100 || seen["t2"] != 100 {
		t.Errorf("token use = %v, want 100 each", seen)
	}
}

// TestRunExcludesWarmup checks that the warm-up's requests reach the
// server (opening the connections) but not the result: a run bounded at
// 50 measured requests reports exactly 50, however many the warm-up sent.
func TestRunExcludesWarmup(t *testing.T) {
	for _, warmup := range []time.Duration{0, 150 * time.Millisecond} {
		srv := newCountingServer(t, http.StatusOK)
		fn, err := loadgen.Rotation{Target: srv.URL, Tokens: []loadgen.Token{{Secret: "t"}}, Shapes: []loadgen.Shape{{Path: "/"}}}.Func()
		if err != nil {
			t.Fatal(err)
		}
		res, err := loadgen.Run(t.Context(), loadgen.Config{Name: "warm", Target: srv.URL, Connections: 2, MaxRequests: 50,
			Duration: time.Minute, Warmup: warmup, Request: fn})
		if err != nil {
			t.Fatal(err)
		}
		srv.mu.Lock()
		served := len(srv.paths)
		srv.mu.Unlock()
		if res.Requests != 50 || res.Latency.Count() != 50 || res.Status[200] != 50 {
			t.Errorf("warm-up %v: %d requests, %d latencies, status %v in the result, want 50", warmup, res.Requests, res.Latency.Count(), res.Status)
		}
		switch {
		case warmup == 0 && served != 50:
			t.Errorf("no warm-up: the server answered %d requests, want 50", served)
		case warmup > 0 && served <= 50:
			t.Errorf("warm-up %v: the server answered %d requests, want more than the 50 measured", warmup, served)
		}
		if res.Dials != 2 {
			t.Errorf("warm-up %v: %d dials for 2 workers", warmup, res.Dials)
		}
	}
}

func TestRunCountsUnexpectedStatuses(t *testing.T) {
	srv := newCountingServer(t, http.StatusTooManyRequests)
	fn, err := loadgen.Rotation{Target: srv.URL, Tokens: []loadgen.Token{{Secret: "t"}}, Shapes: []loadgen.Shape{{Path: "/"}}}.Func()
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(t.Context(), loadgen.Config{Target: srv.URL, MaxRequests: 20, Request: fn})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 20 || res.Unexpected != 20 || res.Status[429] != 20 || res.Latency.Count() != 20 {
		t.Errorf("result = %+v, want 20 responses, all 429 and unexpected", res)
	}
	res, err = loadgen.Run(t.Context(), loadgen.Config{Target: srv.URL, MaxRequests: 20, Request: fn,
		OK: func(s int) bool { return s == 429 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unexpected != 0 {
		t.Errorf("with 429 accepted, %d unexpected", res.Unexpected)
	}
}

func TestRunCountsTransportErrors(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fn, err := loadgen.Rotation{Target: "http://" + addr, Tokens: []loadgen.Token{{Secret: "t"}}, Shapes: []loadgen.Shape{{Path: "/"}}}.Func()
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(t.Context(), loadgen.Config{Target: "http://" + addr, Duration: 2 * time.Second, Request: fn})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || res.FirstError == "" {
		t.Errorf("result = %+v, want failed requests counted", res)
	}
}

func TestRotationOrder(t *testing.T) {
	fn, err := loadgen.Rotation{
		Target: "http://127.0.0.1:1",
		Tokens: []loadgen.Token{{Secret: "a", Tag: "7"}, {Secret: "b", Tag: "9"}},
		Shapes: []loadgen.Shape{
			{Path: "/-/auth", Header: http.Header{"X-Original-Uri": {"/api/v4/projects/{tag}/issues?page={n}"}}},
			{Method: http.MethodPost, Path: "/p/{tag}", Body: `{"lap":{n}}`},
		},
	}.Func()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /-/auth a /api/v4/projects/7/issues?page=0 ",
		"GET /-/auth b /api/v4/projects/9/issues?page=0 ",
		`POST /p/7 a  {"lap":1}`,
		`POST /p/9 b  {"lap":1}`,
		"GET /-/auth a /api/v4/projects/7/issues?page=2 ",
	}
	for n, w := range want {
		t.Run(w, func(t *testing.T) {
			req, err := fn(uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			body := ""
			if req.Body != nil {
				b, _ := io.ReadAll(req.Body)
				body = string(b)
			}
			got := req.Method + " " + req.URL.RequestURI() + " " + req.Header.Get("Private-Token") + " " +
				req.Header.Get("X-Original-Uri") + " " + body
			if got != w {
				t.Errorf("request %d = %q, want %q", n, got, w)
			}
		})
	}
}

func TestRotationRefuses(t *testing.T) {
	tests := []struct {
		name string
		rot  loadgen.Rotation
	}{
		{"non-loopback target", loadgen.Rotation{Target: "http://10.1.2.3", Tokens: []loadgen.Token{{}}, Shapes: []loadgen.Shape{{Path: "/"}}}},
		{"no tokens", loadgen.Rotation{Target: "http://127.0.0.1", Shapes: []loadgen.Shape{{Path: "/"}}}},
		{"no shapes", loadgen.Rotation{Target: "http://127.0.0.1", Tokens: []loadgen.Token{{}}}},
		{"relative path", loadgen.Rotation{Target: "http://127.0.0.1", Tokens: []loadgen.Token{{}}, Shapes: []loadgen.Shape{{Path: "x"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.rot.Func(); !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("Func() = %v, want KindInvalid", err)
			}
		})
	}
}

func TestRunGroupsSeparatesResults(t *testing.T) {
	fast := newCountingServer(t, http.StatusOK)
	limited := newCountingServer(t, http.StatusTooManyRequests)
	mk := func(url string) loadgen.RequestFunc {
		fn, err := loadgen.Rotation{Target: url, Tokens: []loadgen.Token{{Secret: "t"}}, Shapes: []loadgen.Shape{{Path: "/"}}}.Func()
		if err != nil {
			t.Fatal(err)
		}
		return fn
	}
	rs, err := loadgen.RunGroups(t.Context(), []loadgen.Config{
		{Name: "quiet", Target: fast.URL, Connections: 2, Duration: 300 * time.Millisecond, Rate: 200, Request: mk(fast.URL)},
		{Name: "runaway", Target: limited.URL, Connections: 1, Duration: 300 * time.Millisecond, Request: mk(limited.URL),
			OK: func(s int) bool { return s == 429 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Name != "quiet" || rs[0].Status[200] == 0 || rs[0].Status[429] != 0 {
		t.Errorf("quiet result = %+v", rs[0])
	}
	if rs[1].Name != "runaway" || rs[1].Status[429] == 0 || rs[1].Status[200] != 0 {
		t.Errorf("runaway result = %+v", rs[1])
	}
	// Paced at 200/s for 0.3s: about 60 requests, far fewer than the
	// unpaced group sends (not a timing assertion: a loose bound that
	// fails only if pacing is ignored).
	if rs[0].Requests > 200 {
		t.Errorf("the paced group sent %d requests in 0.3s at 200/s", rs[0].Requests)
	}
}

func TestRunHonoursCancellation(t *testing.T) {
	srv := newCountingServer(t, http.StatusOK)
	fn, _ := loadgen.Rotation{Target: srv.URL, Tokens: []loadgen.Token{{Secret: "t"}}, Shapes: []loadgen.Shape{{Path: "/"}}}.Func()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := loadgen.Run(ctx, loadgen.Config{Target: srv.URL, Duration: time.Hour, Request: fn})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled run reported no error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop when its context was cancelled")
	}
}

func TestRotationPages(t *testing.T) {
	tests := []struct {
		name  string
		pages uint64
		want  []string // {n} for requests 0, 3, 6, … (token a, laps 0, 1, 2, …)
	}{
		{"unbounded", 0, []string{"0", "1", "2", "3", "4"}},
		{"three pages", 3, []string{"0", "1", "2", "0", "1"}},
		{"one page", 1, []string{"0", "0", "0", "0", "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn, err := loadgen.Rotation{Target: "http://127.0.0.1:1", Pages: tc.pages,
				Tokens: []loadgen.Token{{Secret: "a"}, {Secret: "b"}, {Secret: "c"}},
				Shapes: []loadgen.Shape{{Path: "/x?page={n}"}}}.Func()
			if err != nil {
				t.Fatal(err)
			}
			for lap, want := range tc.want {
				req, err := fn(uint64(lap * 3))
				if err != nil {
					t.Fatal(err)
				}
				if got := req.URL.Query().Get("page"); got != want || req.Header.Get("Private-Token") != "a" {
					t.Errorf("lap %d: page %q token %q, want page %q token a", lap, got, req.Header.Get("Private-Token"), want)
				}
			}
		})
	}
}
