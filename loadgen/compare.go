package loadgen

import (
	"context"
	"math"
	"time"

	"github.com/botgate/botgate"
)

// Trial is one side of a comparison: a named function that drives a load
// (or several at once) and returns the result the ratio is taken of.
type Trial struct {
	Name string
	Run  func(ctx context.Context) (Result, error)
}

// Comparison configures an interleaved A/B comparison.
type Comparison struct {
	// Rounds is the number of A, B pairs (at least MinRounds).
	Rounds int
	A, B   Trial
	// Ratio computes a round's figure from its two results, e.g.
	// ThroughputRatio (A's throughput over B's).
	Ratio func(a, b Result) float64
	// Progress, if set, is called after each round.
	Progress func(Round)
}

// MinRounds is the fewest rounds a comparison runs: a median of fewer
// ratios says little on a noisy machine.
const MinRounds = 5

// Round is one A, B pair and its ratio.
type Round struct {
	N int `json:"round"` // from 1
	// First names the side that ran first in this round (A's or B's
	// trial name): see Compare for the order.
	First string  `json:"first"`
	A     Result  `json:"a"`
	B     Result  `json:"b"`
	Ratio float64 `json:"ratio"`
}

// Side is one side's figures over all rounds: the median of each round's
// throughput and latency percentiles.
type Side struct {
	Throughput float64       `json:"median_requests_per_second"`
	P50        time.Duration `json:"median_p50_ns"`
	P99        time.Duration `json:"median_p99_ns"`
	// CPUPerRequest is the median of the rounds' process CPU time per
	// request (zero where the platform does not report it).
	CPUPerRequest time.Duration `json:"median_cpu_per_request_ns"`
}

// Outcome is a comparison's result: every round, the median, lowest and
// highest ratio, and each side's medians.
type Outcome struct {
	A       string  `json:"a"`
	B       string  `json:"b"`
	Rounds  []Round `json:"rounds"`
	Median  float64 `json:"median_ratio"`
	Min     float64 `json:"min_ratio"`
	Max     float64 `json:"max_ratio"`
	MedianA Side    `json:"median_a"`
	MedianB Side    `json:"median_b"`
}

// FirstInRound reports whether A runs first in round n (from 1): A, B in
// odd rounds, B, A in even ones, so the sequence of runs is
// A B B A A B B A …. A side that always ran first would always meet the
// server (and the CPU's clock, and the caches) as the previous side left
// them, and one that always ran second would always follow the other;
// alternating gives each side both positions equally often over an even
// number of rounds, and within one of it over an odd number.
func FirstInRound(n int) bool { return n%2 == 1 }

// ThroughputRatio is A's throughput over B's.
func ThroughputRatio(a, b Result) float64 { return safeDiv(a.Throughput, b.Throughput) }

// P99Ratio is A's 99th percentile latency over B's.
func P99Ratio(a, b Result) float64 { return safeDiv(float64(a.P99), float64(b.P99)) }

// safeDiv returns x/y, or 0 when y is 0 (JSON has no NaN).
func safeDiv(x, y float64) float64 {
	if y == 0 {
		return 0
	}
	return x / y
}

// Compare runs the trials interleaved for c.Rounds rounds, in the order
// A B, B A, A B, B A … (FirstInRound), and reports each round's ratio, the
// median ratio and each side's medians. Interleaving puts both trials
// under the same drift of a shared machine; alternating which side goes
// first keeps a warmer (or colder) server, cache or CPU clock from always
// favouring the same side; the median discards the rounds a neighbour's
// burst spoiled. Each trial's own warm-up (Config.Warmup) is excluded
// from its result.
func Compare(ctx context.Context, c Comparison) (Outcome, error) {
	const op = "loadgen.Compare"
	if c.Rounds < MinRounds {
		return Outcome{}, botgate.E(op, botgate.Invalid("rounds", "a comparison needs at least %d rounds, got %d", MinRounds, c.Rounds))
	}
	if c.A.Run == nil || c.B.Run == nil || c.Ratio == nil {
		return Outcome{}, botgate.E(op, botgate.Invalid("trials", "a comparison needs two trials and a ratio"))
	}
	out := Outcome{A: c.A.Name, B: c.B.Name}
	ratios := make([]float64, 0, c.Rounds)
	for i := 1; i <= c.Rounds; i++ {
		first, second := &c.A, &c.B
		if !FirstInRound(i) {
			first, second = second, first
		}
		r1, err := first.Run(ctx)
		if err != nil {
			return out, botgate.E(op, err)
		}
		r2, err := second.Run(ctx)
		if err != nil {
			return out, botgate.E(op, err)
		}
		a, b := r1, r2
		if !FirstInRound(i) {
			a, b = r2, r1
		}
		rd := Round{N: i, First: first.Name, A: a, B: b, Ratio: c.Ratio(a, b)}
		out.Rounds = append(out.Rounds, rd)
		ratios = append(ratios, rd.Ratio)
		if c.Progress != nil {
			c.Progress(rd)
		}
	}
	out.Median = Median(ratios)
	out.MedianA = sideMedians(out.Rounds, func(r Round) Result { return r.A })
	out.MedianB = sideMedians(out.Rounds, func(r Round) Result { return r.B })
	out.Min, out.Max = ratios[0], ratios[0]
	for _, r := range ratios {
		out.Min = math.Min(out.Min, r)
		out.Max = math.Max(out.Max, r)
	}
	return out, nil
}

// sideMedians is the median of one side's figures over the rounds.
func sideMedians(rounds []Round, side func(Round) Result) Side {
	var rps, p50, p99, cpu []float64
	for _, rd := range rounds {
		r := side(rd)
		rps = append(rps, r.Throughput)
		p50 = append(p50, float64(r.P50))
		p99 = append(p99, float64(r.P99))
		cpu = append(cpu, float64(r.CPUPerRequest()))
	}
	return Side{Throughput: Median(rps), P50: time.Duration(Median(p50)), P99: time.Duration(Median(p99)),
		CPUPerRequest: time.Duration(Median(cpu))}
}
