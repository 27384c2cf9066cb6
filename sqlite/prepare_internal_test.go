package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

// BenchmarkPreparedLookup shows what preparing the digest lookup once per
// connection saves against preparing it on every call, on 10,000 tokens.
func BenchmarkPreparedLookup(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	digest := func(i int) []byte {
		d := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		return d[:]
	}
	err = s.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "bench", Kind: botgate.HumanUser, State: botgate.UserActive}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for i := range n {
			if err := tx.CreateToken(ctx, &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "t",
				Digest: digest(i), CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, lookup func(t *tx, d []byte) error) {
		i := 0
		for b.Loop() {
			err := s.View(ctx, func(btx botgate.Tx) error { return lookup(btx.(*tx), digest(i%n)) })
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("prepared", func(b *testing.B) {
		run(b, func(t *tx, d []byte) error {
			_, err := t.TokenByDigest(ctx, d)
			return err
		})
	})
	b.Run("unprepared", func(b *testing.B) {
		run(b, func(t *tx, d []byte) error {
			u := sqlstore.New(unprepared{t}, &dialect, false)
			_, err := u.TokenByDigest(ctx, d)
			return err
		})
	})
}

// unprepared is a transaction whose queries skip the statements prepared
// at Open.
type unprepared struct{ *tx }

func (u unprepared) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return u.tx.tx.QueryRowContext(ctx, query, args...)
}

// TestHotQueriesUseIndexes checks that each hot lookup is one search on an
// index, not a scan, whatever the table size.
func TestHotQueriesUseIndexes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, query string
		arg         any
	}{
		{"TokenByDigest", sqlstore.TokenByDigestQuery, []byte("d")},
		{"Token", sqlstore.TokenByIDQuery, int64(1)},
		{"User", sqlstore.UserByIDQuery, int64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.arg)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var steps []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				steps = append(steps, detail)
			}
			if len(steps) != 1 || !strings.HasPrefix(steps[0], "SEARCH ") {
				t.Errorf("plan %q, want one SEARCH step", steps)
			}
		})
	}
}
