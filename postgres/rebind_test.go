package postgres

import "testing"

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
			if got := rebind(tt.in); got != tt.want {
				t.Errorf("rebind(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
