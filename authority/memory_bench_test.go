package authority_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/heapstat"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/tokenfmt"
)

// memTokens is how many active tokens the memory benchmark holds.
const memTokens = 20_000

// BenchmarkMemoryPerToken measures the heap kept per active token: the
// token and user rows as the store returns them (what the cache used to
// keep) against the same rows trimmed to what decisions read, and the
// whole of what one Authenticate per token leaves behind (cache entry,
// map, usage note). Each token has a description, an expiry and recorded
// use from three addresses and three user agents, as an active CI token
// has. Run once:
//
//	go test -run '^$' -bench MemoryPerToken -benchtime 1x ./authority
func BenchmarkMemoryPerToken(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "botgate.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	d, _ := tokenfmt.NewDigester(pepper)
	now := time.Now().UTC()
	exp := botgate.Date(now).AddDate(0, 0, 30)
	u := &botgate.User{Username: "ci-bot", Name: "CI bot", Email: "ci-bot@example.com", Kind: botgate.HumanUser, State: botgate.UserActive, CreatedAt: now}
	if err := st.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		b.Fatal(err)
	}
	secrets := make([]string, memTokens)
	digests := make([][]byte, memTokens)
	for start := 0; start < memTokens; start += 5000 {
		err := st.Update(ctx, func(tx botgate.Tx) error {
			var usage []botgate.TokenUsage
			for i := start; i < start+5000; i++ {
				s, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: u.ID})
				if err != nil {
					return err
				}
				dg := d.Digest(s)
				t := &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: fmt.Sprintf("deploy-%d", i),
					Description: "deploys the service from the main branch's pipeline",
					Scopes:      botgate.Scopes{botgate.ScopeReadAPI, botgate.ScopeReadRepository}, Digest: dg[:], ExpiresAt: &exp, CreatedAt: now}
				if err := tx.CreateToken(ctx, t); err != nil {
					return err
				}
				secrets[i], digests[i] = s, dg[:]
				usage = append(usage, botgate.TokenUsage{TokenID: t.ID, LastUsedAt: now,
					IPs: []string{"10.1.2.3", "10.1.2.4", "2001:db8::17"},
					UserAgents: []string{"gitlab-runner 17.5.0 (main; go1.23; linux/amd64)", "python-gitlab/4.13.0",
						"curl/8.11.0"}})
			}
			return tx.RecordTokenUsage(ctx, usage)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	load := func(b *testing.B) []authority.Identity {
		ids := make([]authority.Identity, memTokens)
		err := st.View(ctx, func(tx botgate.Tx) error {
			for i, dg := range digests {
				t, err := tx.TokenByDigest(ctx, dg)
				if err != nil {
					return err
				}
				u, err := tx.User(ctx, t.UserID)
				if err != nil {
					return err
				}
				ids[i] = authority.Identity{Token: t, User: u}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return ids
	}
	b.Run("rows-as-stored", func(b *testing.B) {
		for b.Loop() {
			before := heapstat.Live()
			ids := load(b)
			reportPerToken(b, before, ids)
		}
	})
	b.Run("rows-for-decisions", func(b *testing.B) {
		for b.Loop() {
			before := heapstat.Live()
			ids := load(b)
			for i := range ids {
				authority.ForDecisions(ids[i].Token)
			}
			reportPerToken(b, before, ids)
		}
	})
	b.Run("authenticate", func(b *testing.B) {
		meta := authority.RequestMeta{IP: "10.1.2.3", UserAgent: "gitlab-runner 17.5.0 (main; go1.23; linux/amd64)"}
		for b.Loop() {
			before := heapstat.Live()
			svc, err := authority.New(authority.Config{Store: st, Pepper: pepper, CacheTTL: time.Hour, UsageFlushInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range secrets {
				if _, err := svc.Authenticate(ctx, s, meta); err != nil {
					b.Fatal(err)
				}
			}
			reportPerToken(b, before, svc)
			svc.Close()
		}
	})
}

// reportPerToken reports the live heap grown since before, per token,
// keeping v alive until it is measured.
func reportPerToken(b *testing.B, before uint64, v any) {
	after := heapstat.Live()
	runtime.KeepAlive(v)
	b.ReportMetric(float64(int64(after)-int64(before))/memTokens, "B/token")
}
