package authority_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/tokenfmt"
)

const benchTokens = 100_000

// benchFixture is a store holding benchTokens tokens, built once per run.
var benchFixture struct {
	once    sync.Once
	dir     string
	secrets []string
	err     error
}

// fixture opens a store with 100,000 tokens stored (digests made with the
// test pepper), written in batched transactions straight through the
// store.
func fixture(b *testing.B) (*sqlite.Store, []string) {
	f := &benchFixture
	f.once.Do(func() {
		dir, err := filepathTemp()
		if err != nil {
			f.err = err
			return
		}
		f.dir = dir
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(dir, "botgate.db"))
		if err != nil {
			f.err = err
			return
		}
		defer st.Close()
		d, _ := tokenfmt.NewDigester(pepper)
		now := time.Now().UTC()
		u := &botgate.User{Username: "bench", Name: "bench", Email: "bench@example.com", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now}
		if f.err = st.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, u) }); f.err != nil {
			return
		}
		f.secrets = make([]string, benchTokens)
		for start := 0; start < benchTokens; start += 5000 {
			f.err = st.Update(ctx, func(tx botgate.Tx) error {
				for i := start; i < start+5000; i++ {
					s, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: u.ID})
					if err != nil {
						return err
					}
					dg := d.Digest(s)
					t := &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "bench", Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: dg[:], CreatedAt: now}
					if err := tx.CreateToken(ctx, t); err != nil {
						return err
					}
					f.secrets[i] = s
				}
				return nil
			})
			if f.err != nil {
				return
			}
		}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(f.dir, "botgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, f.secrets
}

// BenchmarkAuthenticate measures Authenticate with 100,000 stored tokens.
// Run on one core: go test -run '^$' -bench Authenticate -cpu 1 ./authority/
func BenchmarkAuthenticate(b *testing.B) {
	st, secrets := fixture(b)
	ctx := context.Background()
	meta := authority.RequestMeta{IP: "192.0.2.1", UserAgent: "bench/1.0"}
	newSvc := func(b *testing.B, ttl time.Duration, store botgate.Store) *authority.Service {
		svc, err := authority.New(authority.Config{Store: store, Pepper: pepper, CacheTTL: ttl, UsageFlushInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { svc.Close() })
		return svc
	}

	// Baseline: the unavoidable work for any presented token, checksum
	// plus HMAC digest, without a lookup.
	b.Run("baseline-check-and-digest", func(b *testing.B) {
		d, _ := tokenfmt.NewDigester(pepper)
		i := 0
		for b.Loop() {
			s := secrets[i%len(secrets)]
			if tokenfmt.Check(s, tokenfmt.DefaultPrefix) != nil {
				b.Fatal("bad token")
			}
			d.Digest(s)
			i++
		}
	})

	b.Run("valid-cached", func(b *testing.B) {
		svc := newSvc(b, time.Hour, st)
		for _, s := range secrets {
			if _, err := svc.Authenticate(ctx, s, meta); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, secrets[(i*7919)%len(secrets)], meta); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})

	b.Run("valid-store-lookup", func(b *testing.B) {
		svc := newSvc(b, time.Nanosecond, st)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, secrets[(i*7919)%len(secrets)], meta); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})

	b.Run("bad-checksum", func(b *testing.B) {
		cs := &countingStore{Store: st}
		svc := newSvc(b, time.Hour, cs)
		bad := secrets[0][:len(secrets[0])-1] + "0"
		if bad == secrets[0] {
			bad = secrets[0][:len(secrets[0])-1] + "1"
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, bad, meta); botgate.ReasonOf(err) != botgate.ReasonTokenMalformed {
				b.Fatalf("err = %v", err)
			}
		}
		if cs.Views() != 0 {
			b.Fatalf("a bad checksum reached the store %d times", cs.Views())
		}
	})
}

func filepathTemp() (string, error) { return os.MkdirTemp("", "botgate-bench-") }
