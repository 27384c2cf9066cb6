package console_test

import (
	"context"
	"crypto/sha256"
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
	"github.com/botgate/botgate/server"
)

// BenchmarkInventory10k measures the console's inventory page (50 rows,
// as an administrator sees every token) on 10,000 tokens against its
// baseline in the same run: the API's list of the same 50 tokens (GET
// /api/v4/personal_access_tokens?per_page=50). Both go over loopback HTTP
// to a real botgate on SQLite. docs/benchmarks.md has the ratio.
func BenchmarkInventory10k(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	dir := b.TempDir()
	cfg := server.Config{DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", Gateway: server.GatewayConfig{Upstream: "http://127.0.0.1:1"}}
	tokenFile := filepath.Join(dir, "admin.token")
	res, err := server.Initialize(ctx, cfg, server.Admin{Username: "root", Email: "root@botgate.test", TokenFile: tokenFile}, log)
	if err != nil {
		b.Fatal(err)
	}
	in, err := server.Open(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	var admin *botgate.Token
	err = in.Store.Update(ctx, func(tx botgate.Tx) error {
		if admin, err = tx.Token(ctx, res.AdminTokenID); err != nil {
			return err
		}
		now := time.Now().UTC()
		for i := range 10000 {
			exp := now.AddDate(0, 0, 1+i%365)
			d := sha256.Sum256([]byte(fmt.Sprint("bench", i)))
			t := &botgate.Token{UserID: admin.UserID, Kind: botgate.PersonalToken, Name: fmt.Sprintf("token-%05d", i),
				Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: d[:], CreatedAt: now, ExpiresAt: &exp,
				Automation: fmt.Sprintf("automation-%03d", i%200)}
			if err := tx.CreateToken(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	in.Close()
	s, err := server.New(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	raw, _ := os.ReadFile(tokenFile)
	f := &fixture{base: "http://" + s.Addr().String(), admin: strings.TrimSpace(string(raw))}
	for i := 0; ; i++ {
		if resp, err := http.Get(f.base + "/-/readiness"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 200 {
			b.Fatal("the server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	br := f.browser(b)
	if status, _, body := br.signIn(f.admin); status != http.StatusSeeOther {
		b.Fatalf("sign in: %d %s", status, body)
	}
	get := func(b *testing.B, req func() *http.Request, c *http.Client) {
		resp, err := c.Do(req())
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("console", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			page := 1 + i%200
			get(b, func() *http.Request {
				r, _ := http.NewRequest("GET", fmt.Sprintf("%s/-/console/inventory?page=%d", f.base, page), nil)
				return r
			}, br.c)
		}
	})
	b.Run("api", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			page := 1 + i%200
			get(b, func() *http.Request {
				r, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/personal_access_tokens?per_page=50&page=%d", f.base, page), nil)
				r.Header.Set("PRIVATE-TOKEN", f.admin)
				return r
			}, http.DefaultClient)
		}
	})
}
