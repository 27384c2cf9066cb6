package manifest

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// FuzzParse: any input either fails with problems that each carry the
// file and a line (a KindInvalid error), or parses into a manifest whose
// plan is the same on every call, applies, and is then empty.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../examples/automations.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(example), validBase, "", "version: 1", "- a\n- b", "version: [", "a: &x [*x]", "version: 1\nteams: {path: x}", "\x00", "version: 1\n---\nversion: 1", "\tversion: 1"} {
		f.Add(s)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseNamed("f.yaml", strings.NewReader(in))
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			if k := botgate.KindOf(err); k != botgate.KindInvalid {
				t.Fatalf("error of kind %v, want invalid: %v", k, err)
			}
			for _, p := range errs.Problems {
				if p.File != "f.yaml" || p.Line < 1 || !strings.HasPrefix(p.String(), "f.yaml:") {
					t.Fatalf("problem without file:line: %q (%+v)", p.String(), p.Position)
				}
			}
			return
		}
		c := Plan(m, State{}, at)
		if again := Plan(m, State{}, at); !reflect.DeepEqual(c, again) || c.Text() != again.Text() {
			t.Fatalf("two plans of one manifest differ:\n%s\n---\n%s", c.Text(), again.Text())
		}
		s, err := Simulate(c, State{}, c.At)
		if err != nil {
			t.Fatalf("plan of a valid manifest does not apply: %v", err)
		}
		again := Plan(m, s, c.At)
		if !again.Empty() {
			t.Fatalf("not idempotent:\n%s", again.Text())
		}
		if third := Plan(m, s, c.At); !reflect.DeepEqual(again, third) {
			t.Fatalf("two plans against the applied state differ:\n%s\n---\n%s", again.Text(), third.Text())
		}
	})
}
