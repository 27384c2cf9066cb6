package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/botgate/botgate/benchrun"
)

// runBenchCmd runs botgate bench with args and returns stdout and stderr.
func runBenchCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), append([]string{"bench"}, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestBenchReportsEveryScenario runs every scenario briefly and checks the
// report's structure and arithmetic, not its figures (no timing is
// asserted).
func TestBenchReportsEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for several seconds")
	}
	out, errOut, err := runBenchCmd(t, "--rounds", "5", "--duration", "300ms", "--warmup", "100ms", "--tokens", "40",
		"--quiet-tokens", "10", "--quiet-rate", "200", "--connections", "2", "--refusal-delay", "0", "--output", "json")
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, errOut)
	}
	var rep benchrun.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, out)
	}
	if rep.Tokens != 40 || rep.Connections != 2 || rep.Rounds != 5 || rep.Machine.NumCPU < 1 || rep.Machine.GoVersion == "" {
		t.Errorf("report header = %+v", rep)
	}
	if !strings.Contains(rep.Command, "botgate bench auth proxy runaway --rounds 5 --duration 300ms") {
		t.Errorf("command %q does not say how the run was made", rep.Command)
	}
	wantTargets := map[string]float64{"auth": 0.9, "proxy": 0.8, "runaway": 1.1}
	var names []string
	for _, sc := range rep.Scenarios {
		names = append(names, sc.Name)
		t.Run(sc.Name, func(t *testing.T) {
			if sc.Target != wantTargets[sc.Name] || sc.AtMost != (sc.Name == "runaway") {
				t.Errorf("target %v (at most: %v)", sc.Target, sc.AtMost)
			}
			if len(sc.Outcome.Rounds) != 5 {
				t.Fatalf("%d rounds, want 5", len(sc.Outcome.Rounds))
			}
			for _, r := range sc.Outcome.Rounds {
				if r.A.Requests == 0 || r.B.Requests == 0 || r.A.Errors != 0 || r.B.Errors != 0 || r.A.Unexpected != 0 || r.B.Unexpected != 0 {
					t.Errorf("round %d: A %+v, B %+v", r.N, r.A, r.B)
				}
				want := r.A.Throughput / r.B.Throughput
				if sc.Name == "runaway" {
					want = float64(r.B.P99) / float64(r.A.P99)
				}
				if r.Ratio != want {
					t.Errorf("round %d ratio %v, want %v", r.N, r.Ratio, want)
				}
				if r.A.Dials != 2 && sc.Name != "runaway" {
					t.Errorf("round %d: %d connections opened by 2 workers", r.N, r.A.Dials)
				}
			}
			if sc.Outcome.Median < sc.Outcome.Min || sc.Outcome.Median > sc.Outcome.Max || sc.Outcome.Median <= 0 {
				t.Errorf("median %v outside [%v, %v]", sc.Outcome.Median, sc.Outcome.Min, sc.Outcome.Max)
			}
			met := sc.Outcome.Median >= sc.Target
			if sc.AtMost {
				met = sc.Outcome.Median <= sc.Target
			}
			if sc.Met != met {
				t.Errorf("met = %v for median %v and target %v", sc.Met, sc.Outcome.Median, sc.Target)
			}
		})
	}
	if strings.Join(names, ",") != "auth,proxy,runaway" {
		t.Fatalf("scenarios %v", names)
	}
	// The runaway loops on one request: after the breaker trips, every
	// one of its requests is refused.
	rw := rep.Scenarios[2]
	if len(rw.Secondary) != 5 {
		t.Fatalf("%d runaway results, want one per round", len(rw.Secondary))
	}
	// With the refusal delay off, the looping client is answered at
	// once, so it completes requests in every round.
	for i, r := range rw.Secondary {
		if r.Status[429] == 0 || r.Status[200] != 0 {
			t.Errorf("runaway in round %d: statuses %v, want only 429 (tripped before the rounds)", i+1, r.Status)
		}
	}
	for _, sc := range []string{"auth", "proxy", "runaway"} {
		for n := 1; n <= 5; n++ {
			if line := fmt.Sprintf("%s round %d/5:", sc, n); !strings.Contains(errOut, line) {
				t.Errorf("stderr lacks the progress line %q", line)
			}
		}
	}
}

func TestBenchTextOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for a second or two")
	}
	out, errOut, err := runBenchCmd(t, "auth", "--rounds", "5", "--duration", "150ms", "--warmup", "0s", "--tokens", "20", "--connections", "2")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut)
	}
	for _, want := range []string{"machine: ", "auth: GET /-/auth", "median", "target >= 0.90"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "proxy:") || strings.Contains(out, "runaway:") {
		t.Errorf("only auth was asked for:\n%s", out)
	}
}

func TestBenchRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"TooFewRounds", []string{"--rounds", "4"}, "at least 5"},
		{"UnknownScenario", []string{"login"}, "unknown scenario"},
		{"BadOutput", []string{"--output", "yaml"}, "--output"},
		{"NoDuration", []string{"--duration", "0s"}, "--duration"},
		{"NoConnections", []string{"--connections", "0"}, "--connections"},
		{"NegativeRunawayRate", []string{"--runaway-rate", "-1"}, "--runaway-rate"},
		{"NegativeRefusalDelay", []string{"--refusal-delay", "-1s"}, "--refusal-delay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runBenchCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("bench %v: err = %v, want one mentioning %q", tc.args, err, tc.want)
			}
		})
	}
}
