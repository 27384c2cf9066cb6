package manifest

import (
	"regexp"
	"strings"
	"testing"
)

// automationNameExpr is the expression automationName replaces.
var automationNameExpr = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func TestAutomationNameMatchesItsExpression(t *testing.T) {
	cases := []string{"", "a", "0", "-", ".a", "_a", "a-b.c_d", "A", "aB", "a b", "a\n", "a\x00",
		"é", "a/b", strings.Repeat("a", 63), strings.Repeat("a", 64), "a" + strings.Repeat("-", 62),
		"nightly-release", "ci.bot_1"}
	for _, s := range cases {
		if got, want := automationName(s), automationNameExpr.MatchString(s); got != want {
			t.Errorf("automationName(%q) = %v, the expression says %v", s, got, want)
		}
	}
}

func FuzzAutomationName(f *testing.F) {
	f.Add("nightly-release")
	f.Add(strings.Repeat("z", 63))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := automationName(s), automationNameExpr.MatchString(s); got != want {
			t.Errorf("automationName(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
