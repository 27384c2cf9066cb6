package yamlfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/yamlfile"
)

type limit struct {
	Rate   int           `yaml:"rate"`
	Period time.Duration `yaml:"period"`
}

type doc struct {
	Name   string            `yaml:"name"`
	On     bool              `yaml:"on"`
	Tags   []string          `yaml:"tags"`
	Limits map[string]limit  `yaml:"limits"`
	Delay  *time.Duration    `yaml:"delay"`
	Extra  map[string]string `yaml:"extra"`
}

func TestDecodeSpeaksTheFilesTerms(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"UnknownKey", "name: a\nnmae: b\n", `f.yaml:2: nmae: unknown key "nmae"`},
		{"Number", "limits:\n  x: {rate: many}\n", `f.yaml:2: limits.x.rate: "many" is not a whole number`},
		{"Duration", "limits:\n  x:\n    period: soon\n", `f.yaml:3: limits.x.period: "soon" is not a duration such as 30s, 5m or 1h`},
		{"PointerDuration", "delay: later\n", `f.yaml:1: delay: "later" is not a duration`},
		{"Bool", "on: maybe\n", `f.yaml:1: on: "maybe" is not true or false`},
		{"ListWanted", "tags: {a: b}\n", `f.yaml:1: tags: a mapping is not a list`},
		{"MappingWanted", "limits: [1, 2]\n", `f.yaml:1: limits: a list is not a mapping of keys`},
		{"Syntax", "name: [\n", `f.yaml:`},
		{"Twice", "name: a\nname: b\n", `f.yaml:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			_, err := yamlfile.Decode("f.yaml", []byte(tc.yaml), &d)
			if err == nil {
				t.Fatal("Decode accepted the file")
			}
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("kind %v, want invalid", botgate.KindOf(err))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("problem %q, want %q", msg, tc.want)
			}
			for _, goName := range []string{"time.Duration", "yamlfile_test", "[]string", "map[", "!!", "unmarshal", "struct"} {
				if strings.Contains(msg, goName) {
					t.Errorf("the problem speaks of Go or YAML internals (%q): %s", goName, msg)
				}
			}
		})
	}
}

func TestPositionsAt(t *testing.T) {
	var d doc
	pos, err := yamlfile.Decode("f.yaml", []byte("name: a\nlimits:\n  x:\n    rate: 3\n"), &d)
	if err != nil {
		t.Fatal(err)
	}
	if p := pos.At("f.yaml", "limits.x.rate", "too fast"); p.String() != "f.yaml:4:11: limits.x.rate: too fast" {
		t.Errorf("At = %q", p.String())
	}
	// A path the file does not hold is placed at its nearest ancestor.
	if p := pos.At("f.yaml", "limits.x.burst", "missing"); p.Line != 3 {
		t.Errorf("At of an absent key = %+v, want line 3", p)
	}
}
