package benchrun

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/loadgen"
)

// TestRunAlternatesAndExcludesWarmup runs the auth scenario briefly and
// checks how its rounds were run, not their figures: the side that goes
// first alternates (A B, B A, …), each side's measured window is its
// duration alone (the warm-up before it is not in it), and the per-side
// medians are the medians of the rounds.
func TestRunAlternatesAndExcludesWarmup(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for about six seconds")
	}
	const duration = 400 * time.Millisecond
	noHold := time.Duration(0) // a refusal answers at once rather than outlasting the measured window
	o := Options{Rounds: 6, Duration: duration, Warmup: 100 * time.Millisecond, Connections: 2, Tokens: 200,
		QuietTokens: 10, QuietRate: 100, RunawayConns: 1, RefusalDelay: &noHold}
	var progress bytes.Buffer
	rep, err := Run(t.Context(), o, []string{"auth"}, &progress)
	if err != nil {
		t.Fatalf("bench auth: %v\n%s", err, progress.String())
	}
	if len(rep.Scenarios) != 1 {
		t.Fatalf("%d scenarios, want 1", len(rep.Scenarios))
	}
	out := rep.Scenarios[0].Outcome
	if len(out.Rounds) != 6 {
		t.Fatalf("%d rounds, want 6", len(out.Rounds))
	}
	var rpsA, rpsB []float64
	firstA := 0
	for _, r := range out.Rounds {
		want := out.A
		if r.N%2 == 0 {
			want = out.B
		}
		if r.First != want {
			t.Errorf("round %d: %q ran first, want %q", r.N, r.First, want)
		}
		if r.First == out.A {
			firstA++
		}
		for _, res := range []loadgen.Result{r.A, r.B} {
			// The measured window ends at the duration's end or at the
			// last response before it; the warm-up, twice as long,
			// would push it past the duration.
			if res.Elapsed <= 0 || res.Elapsed > duration {
				t.Errorf("round %d %s: measured over %v, want at most the %v duration (warm-up excluded)", r.N, res.Name, res.Elapsed, duration)
			}
		}
		rpsA = append(rpsA, r.A.Throughput)
		rpsB = append(rpsB, r.B.Throughput)
	}
	if firstA != 3 {
		t.Errorf("A ran first in %d of 6 rounds, want 3", firstA)
	}
	if out.MedianA.Throughput != loadgen.Median(rpsA) || out.MedianB.Throughput != loadgen.Median(rpsB) || out.MedianA.Throughput <= 0 {
		t.Errorf("side medians %v, %v; want %v, %v", out.MedianA.Throughput, out.MedianB.Throughput, loadgen.Median(rpsA), loadgen.Median(rpsB))
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "med.", "\n  2      noop "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
}
