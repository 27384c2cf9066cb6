package sqlite

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/botgate/botgate"
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
			_, err := scanToken(t.tx.QueryRowContext(ctx, tokenByDigestQuery, d))
			return err
		})
	})
}
