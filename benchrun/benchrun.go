// Package benchrun measures botgate's gateway on loopback against baselines,
// in interleaved rounds whose first side alternates (A B, B A, …), each
// side warmed up before it is measured: the harness behind botgate bench.
package benchrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/botgate/botgate/loadgen"
)

// Options are botgate bench's settings; the flags of the same names set
// them.
type Options struct {
	Rounds       int
	Duration     time.Duration
	Warmup       time.Duration
	Connections  int
	Tokens       int
	QuietTokens  int
	QuietRate    float64
	RunawayConns int
	RunawayRate  float64
	RunawayNoop  bool
	// RunawayFlood makes the runaway send a new page on every request,
	// so that the rate limit refuses it rather than the loop breaker.
	RunawayFlood bool
	RefusalDelay *time.Duration // nil: the gateway's default
	Pages        uint64
	AuthTTL      time.Duration
	MemberTTL    time.Duration
	CPUProfile   string
}

// Scenarios returns the scenarios in the order they run.
func Scenarios() []string { return []string{"auth", "proxy", "runaway"} }

// Machine describes where the figures come from.
type Machine struct {
	CPUModel   string `json:"cpu_model"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
}

// Report is bench's output.
type Report struct {
	Started     time.Time   `json:"started"`
	Machine     Machine     `json:"machine"`
	Command     string      `json:"command"`
	Tokens      int         `json:"tokens"`
	Connections int         `json:"connections"`
	Rounds      int         `json:"rounds"`
	Duration    string      `json:"duration_per_side"`
	Scenarios   []*Scenario `json:"scenarios"`
}

// Run builds a throw-away botgate, runs the scenarios named in args (none:
// every scenario) against it and reports the figures. Progress goes to
// progress, one line per round.
func Run(ctx context.Context, o Options, args []string, progress io.Writer) (*Report, error) {
	scenarios, err := pickScenarios(args)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Rounds < loadgen.MinRounds:
		return nil, fmt.Errorf("--rounds must be at least %d, not %d", loadgen.MinRounds, o.Rounds)
	case o.Duration <= 0 || o.Warmup < 0:
		return nil, fmt.Errorf("--duration must be positive and --warmup not negative")
	case o.Connections < 1 || o.RunawayConns < 0:
		return nil, fmt.Errorf("--connections must be at least 1 and --runaway-connections not negative")
	case o.Tokens < 1 || o.QuietTokens < 1:
		return nil, fmt.Errorf("--tokens and --quiet-tokens must be at least 1")
	case o.AuthTTL < 0 || o.MemberTTL < 0:
		return nil, fmt.Errorf("--auth-cache-ttl and --membership-ttl must not be negative")
	case o.QuietRate <= 0 || o.RunawayRate < 0:
		return nil, fmt.Errorf("--quiet-rate must be positive and --runaway-rate not negative")
	}
	if o.CPUProfile != "" {
		pf, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	rep := &Report{Started: time.Now().UTC(), Machine: machine(), Tokens: o.Tokens, Connections: o.Connections,
		Rounds: o.Rounds, Duration: o.Duration.String(),
		Command: fmt.Sprintf("botgate bench %s --rounds %d --duration %s --warmup %s --connections %d --tokens %d --quiet-tokens %d --quiet-rate %g --runaway-connections %d --runaway-rate %g --pages %d --auth-cache-ttl %s --membership-ttl %s --runaway-noop=%t%s",
			strings.Join(scenarios, " "), o.Rounds, o.Duration, o.Warmup, o.Connections, o.Tokens, o.QuietTokens, o.QuietRate, o.RunawayConns, o.RunawayRate, o.Pages, o.AuthTTL, o.MemberTTL, o.RunawayNoop, refusalFlag(o.RefusalDelay))}
	log := slog.New(slog.DiscardHandler)
	fmt.Fprintf(progress, "bench: creating %d tokens in a temporary botgate\n", o.Tokens)
	start := time.Now()
	w, err := newBenchWorld(ctx, o.Tokens, []string{"runaway"}, o.AuthTTL, log)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	fmt.Fprintf(progress, "bench: %d tokens ready in %s\n", len(w.tokens), time.Since(start).Round(time.Millisecond))
	b := &benchRunner{o: o, w: w, log: log, prog: progress}
	for _, name := range scenarios {
		run := map[string]func(context.Context) (*Scenario, error){"auth": b.auth, "proxy": b.proxy, "runaway": b.runaway}[name]
		sc, err := run(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", name, err)
		}
		rep.Scenarios = append(rep.Scenarios, sc)
	}
	return rep, nil
}

// refusalFlag renders --refusal-delay when it was given.
func refusalFlag(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return " --refusal-delay " + d.String()
}

// pickScenarios validates the scenario arguments; none means all.
func pickScenarios(args []string) ([]string, error) {
	if len(args) == 0 {
		return Scenarios(), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range args {
		known := false
		for _, s := range Scenarios() {
			known = known || s == a
		}
		if !known {
			return nil, fmt.Errorf("unknown scenario %q: choose from %s", a, strings.Join(Scenarios(), ", "))
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// machine describes this machine.
func machine() Machine {
	m := Machine{CPUModel: "unknown", NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// WriteText writes rep as the text report.
func WriteText(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "machine: %s, %d CPUs (GOMAXPROCS %d), %s %s\n", rep.Machine.CPUModel, rep.Machine.NumCPU,
		rep.Machine.GOMAXPROCS, rep.Machine.GoVersion, rep.Machine.OS)
	fmt.Fprintf(bw, "%d tokens, %d connections per side, %d rounds of %s per side\n", rep.Tokens, rep.Connections, rep.Rounds, rep.Duration)
	for _, sc := range rep.Scenarios {
		fmt.Fprintf(bw, "\n%s: %s\n", sc.Name, sc.What)
		fmt.Fprintf(bw, "  %-5s  %-14s  %-44s  %-44s  %s\n", "round", "first", sc.Outcome.A, sc.Outcome.B, "ratio")
		for _, r := range sc.Outcome.Rounds {
			fmt.Fprintf(bw, "  %-5d  %-14s  %-44s  %-44s  %.3f\n", r.N, r.First, resultCell(r.A), resultCell(r.B), r.Ratio)
		}
		fmt.Fprintf(bw, "  %-5s  %-14s  %-44s  %-44s\n", "med.", "", sideCell(sc.Outcome.MedianA), sideCell(sc.Outcome.MedianB))
		cmp, verdict := ">=", "met"
		if sc.AtMost {
			cmp = "<="
		}
		if !sc.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(bw, "  %s: median %.3f (min %.3f, max %.3f); target %s %.2f: %s\n", sc.Metric, sc.Outcome.Median,
			sc.Outcome.Min, sc.Outcome.Max, cmp, sc.Target, verdict)
		if len(sc.CPURatios) > 0 {
			fmt.Fprintf(bw, "  CPU time per request, %s ÷ %s (the throughput ratio if CPU-bound on idle cores): median %.3f; rounds %s\n",
				sc.Outcome.B, sc.Outcome.A, sc.CPUMedian, floats(sc.CPURatios))
		}
		for _, n := range sc.Notes {
			fmt.Fprintf(bw, "  note: %s\n", n)
		}
	}
	return bw.Flush()
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

// sideCell is a side's medians over the rounds, in resultCell's layout.
func sideCell(s loadgen.Side) string {
	return fmt.Sprintf("%7.0f req/s p50 %-8s p99 %-8s", s.Throughput, fmtDur(s.P50), fmtDur(s.P99))
}

func resultCell(r loadgen.Result) string {
	return fmt.Sprintf("%7.0f req/s p50 %-8s p99 %-8s", r.Throughput, fmtDur(r.P50), fmtDur(r.P99))
}
