// Package loadgen drives HTTP load against a server on this machine and
// measures it: a fixed number of keep-alive connections, each driven by one
// worker, bounded in duration and request count, reporting throughput and
// latency percentiles from a bounded-memory histogram.
//
// Loopback machines shared by several builds are noisy: the same server
// measures tens of percent apart minutes apart. Compare therefore runs two
// trials interleaved, A B, B A, A B … (the side that goes first alternates),
// for several rounds in one invocation and reports every round's ratio and
// their median, which is what a claim such
// as "the gateway keeps 0.9× the throughput of a no-op handler" should rest
// on.
//
// The generator refuses targets that are not loopback addresses, both when
// a run is configured and at every dial.
package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
)

// RequestFunc builds the n-th request of a run (n counts from 0 across all
// of the run's workers, each n exactly once). It is called concurrently
// from the workers.
type RequestFunc func(n uint64) (*http.Request, error)

// Config describes one load.
type Config struct {
	// Name labels the load in results ("auth", "noop", …).
	Name string
	// Target is the base URL every request goes to; it must be a loopback
	// http URL (see CheckLoopback). Requests to another host are refused
	// at dial time.
	Target string
	// Connections is the number of workers, each with its own keep-alive
	// connection (default 1).
	Connections int
	// Duration bounds the measured part of the run (required unless
	// MaxRequests is set).
	Duration time.Duration
	// MaxRequests, if positive, also bounds the number of measured
	// requests.
	MaxRequests int64
	// Warmup is sent before the measurement starts and not recorded: it
	// opens the connections and warms caches.
	Warmup time.Duration
	// Rate, if positive, paces the load at about Rate requests per second
	// in total, spread evenly over the workers (an open schedule: a worker
	// that falls behind sends at once, without catching up in a burst).
	// Zero sends as fast as the server answers (a closed loop). Latency
	// is measured from the moment a request is sent, not from its slot
	// in the schedule, so a paced run that falls behind under-reports
	// the wait its schedule implies (coordinated omission); compare paced
	// runs at rates the server keeps up with.
	Rate float64
	// Request builds each request.
	Request RequestFunc
	// OK reports whether a status counts as a success (default: 2xx).
	// Other statuses are counted in Result.Unexpected; their latency is
	// recorded all the same.
	OK func(status int) bool
}

// Result is what one load measured.
type Result struct {
	Name string `json:"name"`
	// Requests is the number of measured requests that got a response.
	Requests int64 `json:"requests"`
	// Unexpected counts responses whose status Config.OK refused.
	Unexpected int64 `json:"unexpected"`
	// Errors counts requests that failed without a response; FirstError
	// describes the first.
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// Status counts responses by status code.
	Status map[int]int64 `json:"status"`
	// Dials is the number of connections opened, warm-up included: with
	// keep-alive working it equals Connections.
	Dials int64 `json:"dials"`
	// Elapsed is the measured time; Throughput is Requests / Elapsed.
	Elapsed    time.Duration `json:"elapsed_ns"`
	Throughput float64       `json:"requests_per_second"`
	// Latency percentiles of the measured requests.
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
	// CPU is the CPU time (user and system) the whole process used during
	// the measured phase: the generator's, and the server's when it runs
	// in the same process. Unlike throughput it hardly depends on what
	// other processes do with the machine's cores. Zero where the
	// platform does not report it.
	CPU time.Duration `json:"cpu_ns"`
	// HeapBytes is the process's live heap when the run ended
	// (runtime.MemStats.HeapAlloc): state that grows from round to round
	// shows here.
	HeapBytes uint64 `json:"heap_bytes"`
	// Latency is the full histogram.
	Latency *Histogram `json:"-"`
}

// CPUPerRequest returns r.CPU divided by the number of requests, or 0.
func (r Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// validate checks c and fills in its defaults.
func (c *Config) validate() error {
	const op = "loadgen.Run"
	if err := CheckLoopback(c.Target); err != nil {
		return botgate.E(op, err)
	}
	if c.Request == nil {
		return botgate.E(op, botgate.Invalid("request", "the load %q has no request builder", c.Name))
	}
	if c.Connections <= 0 {
		c.Connections = 1
	}
	if c.Duration <= 0 && c.MaxRequests <= 0 {
		return botgate.E(op, botgate.Invalid("duration", "the load %q needs a duration or a request count", c.Name))
	}
	if c.Warmup < 0 || c.Rate < 0 {
		return botgate.E(op, botgate.Invalid("warmup", "the load %q has a negative warm-up or rate", c.Name))
	}
	if c.OK == nil {
		c.OK = func(s int) bool { return s >= 200 && s < 300 }
	}
	return nil
}

// Run drives one load and returns what it measured. It returns an error
// only for a bad configuration or a cancelled context; failed requests
// are counted in the result.
func Run(ctx context.Context, c Config) (Result, error) {
	rs, err := RunGroups(ctx, []Config{c})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// RunGroups drives several loads at the same time (each with its own
// connections and schedule) and returns their results in order. The
// measured phases start together, after the longest warm-up.
func RunGroups(ctx context.Context, cs []Config) ([]Result, error) {
	for i := range cs {
		if err := cs[i].validate(); err != nil {
			return nil, err
		}
	}
	var warmup time.Duration
	for _, c := range cs {
		warmup = max(warmup, c.Warmup)
	}
	start := time.Now().Add(warmup)
	runs := make([]*run, len(cs))
	var wg sync.WaitGroup
	// The process's CPU time when the measured phase starts.
	cpu0 := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Until(start))
		cpu0 <- processCPU()
	}()
	for i, c := range cs {
		r := newRun(c, start)
		runs[i] = r
		for w := range c.Connections {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.worker(ctx, w)
			}()
		}
	}
	wg.Wait()
	cpu := processCPU() - <-cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if err := ctx.Err(); err != nil {
		return nil, botgate.E("loadgen.Run", botgate.KindInternal, err)
	}
	out := make([]Result, len(runs))
	for i, r := range runs {
		out[i] = r.result()
		out[i].CPU = cpu
		out[i].HeapBytes = ms.HeapAlloc
	}
	return out, nil
}

// run is one load in progress.
type run struct {
	cfg   Config
	start time.Time // the measured phase begins
	end   time.Time // and ends (zero: bounded by count only)
	seq   atomic.Uint64
	taken atomic.Int64 // measured requests started, for MaxRequests
	dials atomic.Int64

	mu       sync.Mutex
	hist     *Histogram
	status   map[int]int64
	requests int64
	unexp    int64
	errs     int64
	firstErr string
	last     time.Time // the last measured response
}

func newRun(c Config, start time.Time) *run {
	r := &run{cfg: c, start: start, hist: NewHistogram(), status: map[int]int64{}}
	if c.Duration > 0 {
		r.end = start.Add(c.Duration)
	}
	return r
}

// worker drives one connection until the run's bounds are reached.
func (r *run) worker(ctx context.Context, w int) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         loopbackDialer(func() { r.dials.Add(1) }),
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	hist := NewHistogram()
	status := map[int]int64{}
	var requests, unexp, errs int64
	var firstErr string
	var last time.Time
	fail := func(err error) {
		errs++
		if firstErr == "" {
			firstErr = err.Error()
		}
	}
	defer func() {
		r.mu.Lock()
		r.hist.Merge(hist)
		for s, n := range status {
			r.status[s] += n
		}
		r.requests += requests
		r.unexp += unexp
		r.errs += errs
		if r.firstErr == "" {
			r.firstErr = firstErr
		}
		if last.After(r.last) {
			r.last = last
		}
		r.mu.Unlock()
	}()

	// Pacing: worker w sends at start + offset + k·interval.
	var interval time.Duration
	var next time.Time
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(r.cfg.Connections) / r.cfg.Rate * float64(time.Second))
		next = time.Now().Add(interval * time.Duration(w) / time.Duration(r.cfg.Connections))
	}
	for ctx.Err() == nil {
		now := time.Now()
		if !r.end.IsZero() && !now.Before(r.end) {
			return
		}
		measured := !now.Before(r.start)
		if measured && r.cfg.MaxRequests > 0 && r.taken.Add(1) > r.cfg.MaxRequests {
			return
		}
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			next = next.Add(interval)
			if now := time.Now(); next.Before(now) {
				next = now // behind: no catch-up burst
			}
		}
		req, err := r.cfg.Request(r.seq.Add(1) - 1)
		if err != nil {
			fail(err)
			return
		}
		req = req.WithContext(ctx)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		t1 := time.Now()
		if !measured {
			if err != nil && ctx.Err() == nil {
				// A warm-up failure is a failure too: the target is
				// not answering.
				fail(err)
				return
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fail(err)
			if errors.Is(err, errNotLoopback) {
				return
			}
			// A refused or reset connection would otherwise spin.
			if errs > 100 {
				return
			}
			continue
		}
		requests++
		status[resp.StatusCode]++
		if !r.cfg.OK(resp.StatusCode) {
			unexp++
		}
		hist.Record(t1.Sub(t0))
		last = t1
	}
}

// result summarises the run.
func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{
		Name: r.cfg.Name, Requests: r.requests, Unexpected: r.unexp, Errors: r.errs, FirstError: r.firstErr,
		Status: r.status, Dials: r.dials.Load(), Latency: r.hist,
		P50: r.hist.Percentile(50), P90: r.hist.Percentile(90), P99: r.hist.Percentile(99),
		Max: r.hist.Max(), Mean: r.hist.Mean(),
	}
	end := r.end
	if end.IsZero() || r.last.Before(end) {
		// Bounded by count (or every worker stopped early): measure to
		// the last response.
		end = r.last
	}
	if end.After(r.start) {
		res.Elapsed = end.Sub(r.start)
		res.Throughput = float64(res.Requests) / res.Elapsed.Seconds()
	}
	return res
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
