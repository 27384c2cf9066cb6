package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// BenchmarkCreateToken measures a token's creation three ways on one
// SQLite server (`botgate serve` as New builds it), in one run: the
// baseline, one durable store commit that inserts a token row (what the
// store costs); authority.CreatePersonalToken in process (checks, secret,
// digest, audit event, one transaction); and POST
// /api/v4/users/:id/personal_access_tokens over loopback HTTP with the
// administrator's token (authentication, the edge, JSON both ways).
//
//	go test -run '^$' -bench CreateToken -benchtime 2s -count 3 ./server/
func BenchmarkCreateToken(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	dir := b.TempDir()
	cfg := Config{DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", ProxyListen: "127.0.0.1:0", Gateway: GatewayConfig{Upstream: "http://127.0.0.1:1"},
		// The per-user API limit still runs on every request, but never
		// refuses one: GitLab's default (bursts of 600) would end the run.
		APILimit: botgate.Limit{Rate: 1 << 30, Period: time.Second, Burst: 1 << 30}}
	tokenFile := filepath.Join(dir, "admin.token")
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test", TokenFile: tokenFile}, log); err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	b.Cleanup(func() {
		stop()
		<-done
	})
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		b.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	store, auth := s.in.Store, s.in.Authority
	i := 0
	b.Run("baseline store commit", func(b *testing.B) {
		for b.Loop() {
			i++
			err := store.Update(ctx, func(tx botgate.Tx) error {
				d := [32]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 'b'}
				return tx.CreateToken(ctx, &botgate.Token{UserID: 1, Kind: botgate.PersonalToken, Name: "t",
					Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: d[:], CreatedAt: time.Now()})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("authority", func(b *testing.B) {
		for b.Loop() {
			i++
			if _, err := auth.CreatePersonalToken(ctx, authority.SystemActor(), 1,
				authority.NewToken{Name: fmt.Sprintf("a%d", i), Scopes: []string{"read_api"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("API", func(b *testing.B) {
		url := "http://" + s.Addr().String() + "/api/v4/users/1/personal_access_tokens"
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for b.Loop() {
			i++
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(fmt.Sprintf(`{"name":"h%d","scopes":["read_api"]}`, i)))
			req.Header.Set("PRIVATE-TOKEN", admin)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		}
	})
}
