package manifest

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse: any input either parses into a manifest that plans without
// panicking, or fails with positioned problems.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../examples/automations.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(example), validBase, "", "version: 1", "- a\n- b", "version: [", "a: &x [*x]", "version: 1\nteams: {path: x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseNamed("f.yaml", strings.NewReader(in))
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		c := Plan(m, State{}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if s, err := Simulate(c, State{}, c.At); err != nil {
			t.Fatalf("plan of a valid manifest does not apply: %v", err)
		} else if again := Plan(m, s, c.At); !again.Empty() {
			t.Fatalf("not idempotent:\n%s", again.Text())
		}
	})
}
