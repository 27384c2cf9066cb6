package server

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRevocationToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "0123456789abcdef0123"
	for _, tt := range []struct {
		name, file, value, want, err string
	}{
		{name: "neither", want: ""},
		{name: "value", value: good, want: good},
		{name: "file wins, newline trimmed", file: write("tok", good+"\n"), value: "ignored-ignored-ignored", want: good},
		{name: "too short", value: "short", err: "at least 16 characters"},
		{name: "empty file", file: write("empty", "\n"), err: "is empty"},
		{name: "missing file", file: filepath.Join(dir, "nope"), err: "reading the token revocation token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRevocationToken(tt.file, tt.value)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if err != nil && strings.Contains(err.Error(), good) {
					t.Error("the error shows the token")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestTokenRevocationWired: the server serves GitLab's token revocation
// API with the configured pre-shared token.
func TestTokenRevocationWired(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: filepath.Join(t.TempDir(), "data"), Getenv: func(string) string { return "" },
		Listen: "127.0.0.1:0", TokenRevocationToken: "0123456789abcdef0123"}
	if _, err := Initialize(ctx, cfg, Admin{Username: "root", Email: "root@botgate.test", TokenFile: filepath.Join(t.TempDir(), "admin.token")}, log); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := runServer(runCtx, s)
	defer func() { cancel(); _ = wait(t, done) }()
	for auth, want := range map[string]int{cfg.TokenRevocationToken: http.StatusOK, "wrong-token-wrong-token": http.StatusUnauthorized} {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr().String()+"/v1/revocable_token_types", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q…: HTTP %d, want %d", auth[:4], resp.StatusCode, want)
		}
	}
}
