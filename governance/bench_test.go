package governance_test

import (
	"testing"
	"time"

	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
)

// BenchmarkLimits measures what the gateway pays per request for an
// automation's own limit: the cached answer (the hot path) against a store
// read (once per automation per TTL).
func BenchmarkLimits(b *testing.B) {
	e := newEnv(b, false)
	e.apply(example(b), governance.ApplyOptions{ShowSecrets: true})
	lim := governance.NewLimits(e.store, e.clock, time.Hour, nil)
	b.Run("Cached", func(b *testing.B) {
		lim.AutomationLimit(b.Context(), "danger-review")
		for b.Loop() {
			if _, ok := lim.AutomationLimit(b.Context(), "danger-review"); !ok {
				b.Fatal("no limit")
			}
		}
	})
	b.Run("StoreRead", func(b *testing.B) {
		for b.Loop() {
			lim.Purge()
			if _, ok := lim.AutomationLimit(b.Context(), "danger-review"); !ok {
				b.Fatal("no limit")
			}
		}
	})
}

// BenchmarkPlanAndLint measures planning the applied example (reading the
// whole state) and linting it (state, route usage and secrets): what
// `botgate plan` and `botgate lint` cost beyond opening the instance.
func BenchmarkPlanAndLint(b *testing.B) {
	e := newEnv(b, true)
	m := example(b)
	e.apply(m, governance.ApplyOptions{})
	b.Run("Plan", func(b *testing.B) {
		for b.Loop() {
			if ch := e.plan(m); !ch.Empty() {
				b.Fatal("plan not empty")
			}
		}
	})
	b.Run("Lint", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.gov.Lint(b.Context(), governance.SnapshotOptions{Manifest: m}, lint.Config{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
