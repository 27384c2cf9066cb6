package botgate

import (
	"regexp"
	"strings"
	"testing"
)

// The regular expressions the name shapes replaced. Every shape must accept
// and refuse exactly what its expression did.
var shapeExprs = []struct {
	name  string
	shape nameShape
	re    *regexp.Regexp
}{
	{"username", usernameShape, regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,254}$`)},
	{"path", pathShape, regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,254}$`)},
	{"display name", displayNameShape, regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N}_. ()+-]{0,254}$`)},
	{"secret name", secretNameShape, regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$`)},
	{"automation name", automationNameShape, regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)},
}

var shapeSeeds = []string{
	"", "a", "_", ".", "-", "a.b-c_d", "A", "Z9", "release-notes", "x\n", "a\x00", "a b", "Ünïcødé",
	"日本語", "Café (prod) + 1", "(", "a/b", "\xff", "a\xff", "\uFFFD", "٣", "a\u0301", "😀",
	strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 128), strings.Repeat("a", 129),
	strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("é", 255), strings.Repeat("é", 256),
}

func TestNameShapesMatchTheirExpressions(t *testing.T) {
	for _, e := range shapeExprs {
		t.Run(e.name, func(t *testing.T) {
			for _, s := range shapeSeeds {
				if got, want := e.shape.match(s), e.re.MatchString(s); got != want {
					t.Errorf("match(%q) = %v, the expression says %v", s, got, want)
				}
			}
		})
	}
}

func FuzzNameShapes(f *testing.F) {
	for _, s := range shapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range shapeExprs {
			if got, want := e.shape.match(s), e.re.MatchString(s); got != want {
				t.Errorf("%s: match(%q) = %v, the expression says %v", e.name, s, got, want)
			}
		}
	})
}
