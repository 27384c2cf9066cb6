package sqlite_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
)

// benchTokens is how many tokens the lookup benchmark stores.
const benchTokens = 100_000

func benchDigest(i int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	d := sha256.Sum256(b[:])
	return d[:]
}

// BenchmarkTokenByDigest measures the authentication lookup: one View with
// one TokenByDigest, against a database of 100,000 tokens.
func BenchmarkTokenByDigest(b *testing.B) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	// The fixture is built once: a benchmark with sub-benchmarks runs its
	// own body only once.
	const batch = 10_000
	now := time.Now()
	for start := 0; start < benchTokens; start += batch {
		err := s.Update(ctx, func(tx botgate.Tx) error {
			u := &botgate.User{Username: fmt.Sprintf("bot-%d", start), Kind: botgate.ServiceAccount,
				State: botgate.UserActive, CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			exp := botgate.Date(now).AddDate(1, 0, 0)
			for i := start; i < start+batch; i++ {
				tk := &botgate.Token{UserID: u.ID, Kind: botgate.ServiceAccountToken, Name: fmt.Sprintf("token %d", i),
					Scopes: botgate.Scopes{botgate.ScopeReadAPI, botgate.ScopeReadRepository}, Digest: benchDigest(i),
					ExpiresAt: &exp, CreatedAt: now, LastUsedIPs: []string{"192.0.2.1"}, UserAgents: []string{"curl/8"},
					Automation: "bench"}
				if err := tx.CreateToken(ctx, tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}

	lookup := func(b *testing.B, digest []byte, want error) {
		err := s.View(ctx, func(tx botgate.Tx) error {
			_, err := tx.TokenByDigest(ctx, digest)
			return err
		})
		if (err == nil) != (want == nil) {
			b.Fatalf("TokenByDigest: %v", err)
		}
	}
	digests := make([][]byte, 4096)
	for i := range digests {
		digests[i] = benchDigest((i * 7919) % benchTokens)
	}
	b.Run("hit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			lookup(b, digests[i%len(digests)], nil)
			i++
		}
	})
	b.Run("miss", func(b *testing.B) {
		miss := benchDigest(benchTokens + 1)
		for b.Loop() {
			lookup(b, miss, botgate.NotFound("Token"))
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				lookup(b, digests[i%len(digests)], nil)
				i++
			}
		})
	})
}

// BenchmarkUpdateCommit measures one small durable write: an Update that
// revokes one token, committed with synchronous=FULL (an fsync per commit).
// It is the floor under every state change and the reason token usage is
// written coalesced.
func BenchmarkUpdateCommit(b *testing.B) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var user botgate.User
	if err := s.Update(ctx, func(tx botgate.Tx) error {
		user = botgate.User{Username: "bench", Kind: botgate.HumanUser, State: botgate.UserActive}
		return tx.CreateUser(ctx, &user)
	}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		err := s.Update(ctx, func(tx botgate.Tx) error {
			return tx.CreateToken(ctx, &botgate.Token{UserID: user.ID, Kind: botgate.PersonalToken,
				Name: "t", Digest: benchDigest(i), CreatedAt: time.Now()})
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
