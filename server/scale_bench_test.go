package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/pgtest"
)

// BenchmarkAuthDecision measures one forward-auth decision (token
// authenticated from the cache, loop breaker, rate limit, scope policy) on
// the embedded stack, SQLite and the in-memory limiter, and on the
// scale-out stack, PostgreSQL and Redis, under the same load: 256 tokens,
// requests spread over them from GOMAXPROCS goroutines, with the
// authentication cache (cached) and without it (uncached). Run with
//
//	BOTGATE_TEST_POSTGRES_URL=… BOTGATE_TEST_REDIS_URL=… \
//	  go test -run '^$' -bench AuthDecision -benchtime 3s -count 5 ./server
func BenchmarkAuthDecision(b *testing.B) {
	pgURL, redisURL := os.Getenv("BOTGATE_TEST_POSTGRES_URL"), os.Getenv("BOTGATE_TEST_REDIS_URL")
	caches := []struct {
		name string
		ttl  time.Duration
	}{
		{"cached", 0},                 // the default lifetime: a busy token is answered from memory
		{"uncached", time.Nanosecond}, // every decision reads the token and its user from the store
	}
	for _, c := range caches {
		b.Run("sqlite+memory/"+c.name, func(b *testing.B) { benchDecision(b, Config{Scale: ScaleConfig{AuthCacheTTL: c.ttl}}) })
		b.Run("postgres+redis/"+c.name, func(b *testing.B) {
			if pgURL == "" || redisURL == "" {
				b.Skip("set BOTGATE_TEST_POSTGRES_URL and BOTGATE_TEST_REDIS_URL to run the scale-out stack")
			}
			var r [6]byte
			rand.Read(r[:])
			benchDecision(b, Config{Store: pgtest.Schema(b, pgURL), Scale: ScaleConfig{Redis: redisURL, AuthCacheTTL: c.ttl,
				RedisPrefix: "botgate-bench-" + hex.EncodeToString(r[:]) + ":", RedisFail: "open"}})
		})
	}
}

func benchDecision(b *testing.B, cfg Config) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg.DataDir = filepath.Join(b.TempDir(), "data")
	cfg = cfg.withDefaults()
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@example.com", TokenFile: filepath.Join(b.TempDir(), "admin.token")}, log); err != nil {
		b.Fatal(err)
	}
	in, err := open(ctx, cfg, false, log)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	in.scale.run(ctx)
	gwCfg := &gateway.FileConfig{
		Limits: gateway.LimitsConfig{Default: &gateway.LimitConfig{Rate: 1_000_000, Burst: 1_000_000}},
		Loop:   gateway.LoopConfig{Threshold: 1 << 30},
	}
	br, err := in.scale.breaker(gwCfg)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Authority: in.Authority, Store: in.Store, Config: gwCfg, Logger: log,
		Limiter: in.scale.limiter, Breaker: br})
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	h := gw.ForwardAuth()

	const tokens = 256
	secrets := make([]string, tokens)
	for i := range secrets {
		c, err := in.Authority.CreatePersonalToken(ctx, authority.SystemActor(), 1,
			authority.NewToken{Name: fmt.Sprintf("bench-%d", i), Scopes: []string{"api"}})
		if err != nil {
			b.Fatal(err)
		}
		secrets[i] = c.Secret
	}
	decide := func(secret string) int {
		req := httptest.NewRequest(http.MethodGet, "/-/auth", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/api/v4/user")
		req.Header.Set("PRIVATE-TOKEN", secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, s := range secrets { // warm the authentication cache
		if code := decide(s); code != http.StatusOK {
			b.Fatalf("warm-up decision: %d", code)
		}
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code := decide(secrets[next.Add(1)%tokens]); code != http.StatusOK {
				b.Errorf("decision: %d", code)
				return
			}
		}
	})
}
