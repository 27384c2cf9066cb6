package main

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

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/loadgen"
)

// benchOptions are botgate bench's flags.
type benchOptions struct {
	rounds       int
	duration     time.Duration
	warmup       time.Duration
	connections  int
	tokens       int
	quietTokens  int
	quietRate    float64
	runawayConns int
	runawayRate  float64
	runawayNoop  bool
	refusalDelay *time.Duration // nil: the gateway's default
	pages        uint64
	authTTL      time.Duration
	memberTTL    time.Duration
	output       string
	cpuProfile   string
}

// benchScenarios returns the scenarios in the order they run.
func benchScenarios() []string { return []string{"auth", "proxy", "runaway"} }

func newBenchCmd(e *env) *cobra.Command {
	var o benchOptions
	var refusalDelay time.Duration
	cmd := &cobra.Command{
		Use:   "bench [auth|proxy|runaway]...",
		Short: "Measure the gateway on loopback against baselines (interleaved A/B rounds)",
		Long: `bench builds a throw-away botgate in a temporary directory (SQLite store, authority,
--tokens project access tokens spread over 20 projects) and measures its gateway over
loopback HTTP with keep-alive connections, each scenario against a baseline:

  auth     GET /-/auth as nginx auth_request sends it, every request from another of the
           tokens, vs a no-op handler on the same server, mux and connection count
           (target: median throughput ratio >= 0.9)
  proxy    the gateway's reverse proxy vs a bare httputil.ReverseProxy to the same trivial
           upstream (target: median throughput ratio >= 0.8)
  runaway  quiet tokens at a steady rate, alone vs with one token looping on one request
           at full speed (target: the quiet tokens' p99 within 10%: median ratio <= 1.1)

The two sides run interleaved, A, B, A, B ..., for --rounds rounds in one invocation,
and the median of the per-round ratios is reported: loopback machines are noisy, and
interleaving exposes both sides to the same drift. Load generator, servers and botgate
share this process and its cores. Progress goes to stderr, one line per round; the
report to stdout. Without arguments every scenario runs.`,
		Example: `  botgate bench
  botgate bench auth --rounds 7 --duration 5s
  botgate bench proxy --connections 32 --output json > proxy.json
  botgate bench runaway --quiet-rate 2000 --runaway-connections 1
  botgate bench runaway --runaway-rate 5000
  botgate bench runaway --runaway-noop     # control: the same extra load, on a no-op handler
  botgate bench runaway --refusal-delay 0  # refused loop requests answered at once
  botgate bench runaway --runaway-connections 0  # A/A control: the noise floor of the p99 ratio
  botgate bench auth --auth-cache-ttl 1m --membership-ttl 1m
  botgate bench auth --cpuprofile auth.pprof && go tool pprof -top botgate auth.pprof`,
		ValidArgs: benchScenarios(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if cmd.Flags().Changed("refusal-delay") {
				if refusalDelay < 0 {
					return fmt.Errorf("--refusal-delay must not be negative")
				}
				o.refusalDelay = &refusalDelay
			}
			return runBench(cmd.Context(), e, o, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.rounds, "rounds", 5, fmt.Sprintf("A/B rounds per scenario (at least %d)", loadgen.MinRounds))
	f.DurationVar(&o.duration, "duration", 3*time.Second, "measured time of each side of each round")
	f.DurationVar(&o.warmup, "warmup", 300*time.Millisecond, "unmeasured load before each side of each round")
	f.IntVar(&o.connections, "connections", 16, "keep-alive connections (one worker each) per side")
	f.IntVar(&o.tokens, "tokens", 10000, "distinct tokens the requests rotate through")
	f.IntVar(&o.quietTokens, "quiet-tokens", 1000, "runaway: tokens of the quiet load")
	f.Float64Var(&o.quietRate, "quiet-rate", 2000, "runaway: the quiet load's rate, requests per second in total")
	f.IntVar(&o.runawayConns, "runaway-connections", 1, "runaway: connections of the looping client (each as fast as it can); 0 runs an A/A control: the quiet load against itself, the measurement's noise floor")
	f.Uint64Var(&o.pages, "pages", 0, "pages each token cycles through (0: a new page on every lap, so the loop breaker tracks ever more request shapes)")
	f.BoolVar(&o.runawayNoop, "runaway-noop", false, "runaway: control run, the looping client calls a no-op handler on the same server instead of /-/auth")
	f.DurationVar(&refusalDelay, "refusal-delay", 0, "runaway: the gateway's loop.refusal_delay (unset: the gateway's default, 1s; 0 answers refused loop requests at once)")
	f.DurationVar(&o.authTTL, "auth-cache-ttl", 0, "the authority's token cache TTL (0: botgate's default, 1m)")
	f.DurationVar(&o.memberTTL, "membership-ttl", 0, "the gateway's membership cache TTL (0: botgate's default, 10s)")
	f.Float64Var(&o.runawayRate, "runaway-rate", 0, "runaway: pace the looping client at this many requests per second (0: full speed)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and load generator) to this file")
	outputFlag(cmd, &o.output)
	return cmd
}

// benchMachine describes where the figures come from.
type benchMachine struct {
	CPUModel   string `json:"cpu_model"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
}

// benchReport is bench's output.
type benchReport struct {
	Started     time.Time        `json:"started"`
	Machine     benchMachine     `json:"machine"`
	Command     string           `json:"command"`
	Tokens      int              `json:"tokens"`
	Connections int              `json:"connections"`
	Rounds      int              `json:"rounds"`
	Duration    string           `json:"duration_per_side"`
	Scenarios   []*benchScenario `json:"scenarios"`
}

func runBench(ctx context.Context, e *env, o benchOptions, args []string) error {
	scenarios, err := pickScenarios(args)
	if err != nil {
		return err
	}
	switch {
	case o.rounds < loadgen.MinRounds:
		return fmt.Errorf("--rounds must be at least %d, not %d", loadgen.MinRounds, o.rounds)
	case o.duration <= 0 || o.warmup < 0:
		return fmt.Errorf("--duration must be positive and --warmup not negative")
	case o.connections < 1 || o.runawayConns < 0:
		return fmt.Errorf("--connections must be at least 1 and --runaway-connections not negative")
	case o.tokens < 1 || o.quietTokens < 1:
		return fmt.Errorf("--tokens and --quiet-tokens must be at least 1")
	case o.authTTL < 0 || o.memberTTL < 0:
		return fmt.Errorf("--auth-cache-ttl and --membership-ttl must not be negative")
	case o.quietRate <= 0 || o.runawayRate < 0:
		return fmt.Errorf("--quiet-rate must be positive and --runaway-rate not negative")
	}
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := &benchReport{Started: time.Now().UTC(), Machine: machine(), Tokens: o.tokens, Connections: o.connections,
		Rounds: o.rounds, Duration: o.duration.String(),
		Command: fmt.Sprintf("botgate bench %s --rounds %d --duration %s --warmup %s --connections %d --tokens %d --quiet-tokens %d --quiet-rate %g --runaway-connections %d --runaway-rate %g --pages %d --auth-cache-ttl %s --membership-ttl %s --runaway-noop=%t%s",
			strings.Join(scenarios, " "), o.rounds, o.duration, o.warmup, o.connections, o.tokens, o.quietTokens, o.quietRate, o.runawayConns, o.runawayRate, o.pages, o.authTTL, o.memberTTL, o.runawayNoop, refusalFlag(o.refusalDelay))}
	log := slog.New(slog.DiscardHandler)
	fmt.Fprintf(e.stderr, "bench: creating %d tokens in a temporary botgate\n", o.tokens)
	start := time.Now()
	w, err := newBenchWorld(ctx, o.tokens, []string{"runaway"}, o.authTTL, log)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(e.stderr, "bench: %d tokens ready in %s\n", len(w.tokens), time.Since(start).Round(time.Millisecond))
	b := &benchRunner{o: o, w: w, log: log, prog: e.stderr}
	for _, name := range scenarios {
		run := map[string]func(context.Context) (*benchScenario, error){"auth": b.auth, "proxy": b.proxy, "runaway": b.runaway}[name]
		sc, err := run(ctx)
		if err != nil {
			return fmt.Errorf("bench %s: %w", name, err)
		}
		rep.Scenarios = append(rep.Scenarios, sc)
	}
	if o.output == "json" {
		return writeJSON(e.stdout, rep)
	}
	return writeBenchText(e.stdout, rep)
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
		return benchScenarios(), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range args {
		known := false
		for _, s := range benchScenarios() {
			known = known || s == a
		}
		if !known {
			return nil, fmt.Errorf("unknown scenario %q: choose from %s", a, strings.Join(benchScenarios(), ", "))
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// machine describes this machine.
func machine() benchMachine {
	m := benchMachine{CPUModel: "unknown", NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
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

func writeBenchText(w io.Writer, rep *benchReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "machine: %s, %d CPUs (GOMAXPROCS %d), %s %s\n", rep.Machine.CPUModel, rep.Machine.NumCPU,
		rep.Machine.GOMAXPROCS, rep.Machine.GoVersion, rep.Machine.OS)
	fmt.Fprintf(bw, "%d tokens, %d connections per side, %d rounds of %s per side\n", rep.Tokens, rep.Connections, rep.Rounds, rep.Duration)
	for _, sc := range rep.Scenarios {
		fmt.Fprintf(bw, "\n%s: %s\n", sc.Name, sc.What)
		fmt.Fprintf(bw, "  %-5s  %-44s  %-44s  %s\n", "round", sc.Outcome.A, sc.Outcome.B, "ratio")
		for _, r := range sc.Outcome.Rounds {
			fmt.Fprintf(bw, "  %-5d  %-44s  %-44s  %.3f\n", r.N, resultCell(r.A), resultCell(r.B), r.Ratio)
		}
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

func resultCell(r loadgen.Result) string {
	return fmt.Sprintf("%7.0f req/s p50 %-8s p99 %-8s", r.Throughput, fmtDur(r.P50), fmtDur(r.P99))
}
