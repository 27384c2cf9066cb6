package loadgen

import (
	"context"
	"math"

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
	N     int     `json:"round"` // from 1
	A     Result  `json:"a"`
	B     Result  `json:"b"`
	Ratio float64 `json:"ratio"`
}

// Outcome is a comparison's result: every round, and the median, lowest
// and highest ratio.
type Outcome struct {
	A      string  `json:"a"`
	B      string  `json:"b"`
	Rounds []Round `json:"rounds"`
	Median float64 `json:"median_ratio"`
	Min    float64 `json:"min_ratio"`
	Max    float64 `json:"max_ratio"`
}

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

// Compare runs the trials interleaved — A, B, A, B … — for c.Rounds
// rounds and reports each round's ratio and the median. Interleaving puts
// both trials under the same drift of a shared machine; the median
// discards the rounds a neighbour's burst spoiled.
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
		a, err := c.A.Run(ctx)
		if err != nil {
			return out, botgate.E(op, err)
		}
		b, err := c.B.Run(ctx)
		if err != nil {
			return out, botgate.E(op, err)
		}
		rd := Round{N: i, A: a, B: b, Ratio: c.Ratio(a, b)}
		out.Rounds = append(out.Rounds, rd)
		ratios = append(ratios, rd.Ratio)
		if c.Progress != nil {
			c.Progress(rd)
		}
	}
	out.Median = Median(ratios)
	out.Min, out.Max = ratios[0], ratios[0]
	for _, r := range ratios {
		out.Min = math.Min(out.Min, r)
		out.Max = math.Max(out.Max, r)
	}
	return out, nil
}
