package gateway_test

import (
	"strings"
	"testing"

	"github.com/botgate/botgate/gateway"
)

// TestConfigErrorsInTheFilesTerms: a gateway configuration's problems name
// the line and the key, and say what is wanted in the file's words, never
// the Go types it is read into.
// TestConfigRejectsUnknownEnforcement: the instance-wide mode is enforce or
// shadow; anything else is refused, naming the key.
func TestConfigRejectsUnknownEnforcement(t *testing.T) {
	fc, err := gateway.ParseConfigNamed("gateway.yaml", []byte("enforcement: dry-run\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = fc.Validate()
	if err == nil || !strings.Contains(err.Error(), `enforcement must be enforce or shadow, got "dry-run"`) {
		t.Fatalf("Validate = %v; want the key and the modes named", err)
	}
	fc.Enforcement = "shadow"
	if err := fc.Validate(); err != nil {
		t.Fatalf("enforcement: shadow: %v", err)
	}
}

func TestConfigErrorsInTheFilesTerms(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"Duration", "loop:\n  window: soon\n", `gateway.yaml:2: loop.window: "soon" is not a duration`},
		{"RefusalDelay", "loop: {refusal_delay: later}\n", `loop.refusal_delay: "later" is not a duration`},
		{"TokenID", "limits:\n  tokens:\n    abc: {rate: 1}\n", `gateway.yaml:3: limits.tokens.abc: "abc" is not a whole number`},
		{"Routes", "routes: {name: a}\n", `gateway.yaml:1: routes: a mapping is not a list`},
		{"Unknown", "routes:\n  - name: a\n    upstraem: http://x\n", `gateway.yaml:3: routes[0].upstraem: unknown key "upstraem"`},
		{"Rate", "limits:\n  default: {rate: fast}\n", `limits.default.rate: "fast" is not a whole number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.ParseConfigNamed("gateway.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("problem %q, want %q", err, tc.want)
			}
			for _, goName := range []string{"gateway.", "time.Duration", "int64", "[]", "!!", "unmarshal"} {
				if strings.Contains(strings.ReplaceAll(err.Error(), "gateway.yaml", ""), goName) {
					t.Errorf("the problem speaks of Go types (%q): %s", goName, err)
				}
			}
		})
	}
}
