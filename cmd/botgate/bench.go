package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/benchrun"
	"github.com/botgate/botgate/loadgen"
)

func newBenchCmd(e *env) *cobra.Command {
	var o benchrun.Options
	var output string
	var refusalDelay time.Duration
	cmd := &cobra.Command{
		Use:       "bench [auth|proxy|runaway]...",
		Short:     "Measure the gateway on loopback against baselines (interleaved rounds, A B then B A)",
		ValidArgs: benchrun.Scenarios(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if cmd.Flags().Changed("refusal-delay") {
				if refusalDelay < 0 {
					return fmt.Errorf("--refusal-delay must not be negative")
				}
				o.RefusalDelay = &refusalDelay
			}
			rep, err := benchrun.Run(cmd.Context(), o, args, e.stderr)
			if err != nil {
				return err
			}
			return show(e.stdout, output, rep, nil, func(w io.Writer) error { return benchrun.WriteText(w, rep) })
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Rounds, "rounds", 5, fmt.Sprintf("rounds per scenario (at least %d); the side that runs first alternates, A B, B A, …", loadgen.MinRounds))
	f.DurationVar(&o.Duration, "duration", 3*time.Second, "measured time of each side of each round")
	f.DurationVar(&o.Warmup, "warmup", 300*time.Millisecond, "unmeasured load before each side of each round, excluded from the figures")
	f.IntVar(&o.Connections, "connections", 16, "keep-alive connections (one worker each) per side")
	f.IntVar(&o.Tokens, "tokens", 10000, "distinct tokens the requests rotate through")
	f.IntVar(&o.QuietTokens, "quiet-tokens", 1000, "runaway: tokens of the quiet load")
	f.Float64Var(&o.QuietRate, "quiet-rate", 2000, "runaway: the quiet load's rate, requests per second in total")
	f.IntVar(&o.RunawayConns, "runaway-connections", 1, "runaway: connections of the looping client (each as fast as it can); 0 runs an A/A control: the quiet load against itself, the measurement's noise floor")
	f.Uint64Var(&o.Pages, "pages", 0, "pages each token cycles through (0: a new page on every lap, so the loop breaker tracks ever more request shapes)")
	f.BoolVar(&o.RunawayNoop, "runaway-noop", false, "runaway: control run, the looping client calls a no-op handler on the same server instead of /-/auth")
	f.BoolVar(&o.RunawayFlood, "runaway-flood", false, "runaway: the looping client asks for a new page each time, so that the rate limit refuses it instead of the loop breaker")
	f.DurationVar(&refusalDelay, "refusal-delay", 0, "runaway: the gateway's loop.refusal_delay (unset: the gateway's default, 1s; 0 answers refused loop requests at once)")
	f.DurationVar(&o.AuthTTL, "auth-cache-ttl", 0, "the authority's token cache TTL (0: botgate's default, 1m)")
	f.DurationVar(&o.MemberTTL, "membership-ttl", 0, "the gateway's membership cache TTL (0: botgate's default, 10s)")
	f.Float64Var(&o.RunawayRate, "runaway-rate", 0, "runaway: pace the looping client at this many requests per second (0: full speed)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and load generator) to this file")
	outputFlag(cmd, &output)
	return cmd
}
