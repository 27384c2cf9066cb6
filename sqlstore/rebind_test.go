package sqlstore_test

import (
	"testing"

	"github.com/botgate/botgate/sqlstore"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no placeholders", `SELECT 1`, `SELECT 1`},
		{"in order", `UPDATE t SET a = ?, b = ? WHERE id = ?`, `UPDATE t SET a = $1, b = $2 WHERE id = $3`},
		{"numbered", `SELECT EXISTS (SELECT 1 FROM g WHERE id = ?1), EXISTS (SELECT 1 FROM p WHERE g = ?1)`,
			`SELECT EXISTS (SELECT 1 FROM g WHERE id = $1), EXISTS (SELECT 1 FROM p WHERE g = $1)`},
		{"quoted literal left alone", `SELECT '?' || ? WHERE x LIKE ? ESCAPE '\'`, `SELECT '?' || $1 WHERE x LIKE $2 ESCAPE '\'`},
		{"quoted identifier left alone", `SELECT "a?b" FROM t WHERE c = ?`, `SELECT "a?b" FROM t WHERE c = $1`},
		{"doubled quote inside a literal", `SELECT 'it''s ?' , ?`, `SELECT 'it''s ?' , $1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r sqlstore.Rebinder
			for _, how := range []struct {
				name string
				fn   func(string) string
			}{{"Rebind", sqlstore.Rebind}, {"Rebinder first", r.Rebind}, {"Rebinder cached", r.Rebind}} {
				if got := how.fn(tt.in); got != tt.want {
					t.Errorf("%s(%q)\n got %q\nwant %q", how.name, tt.in, got, tt.want)
				}
			}
		})
	}
}
