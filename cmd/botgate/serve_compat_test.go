package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRevocationAndGraceFlags: --token-revocation-token-file and
// --rotation-grace reach the server.
func TestServeRevocationAndGraceFlags(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	revFile := filepath.Join(dir, "revocation.token")
	if err := os.WriteFile(revFile, []byte("srs-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, "--data-dir", filepath.Join(dir, "data"), "--admin-token-file", tokenFile,
		"--token-revocation-token-file", revFile, "--rotation-grace", "1h")
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(raw))
	call := func(method, path, header, value, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(header, value)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return resp.StatusCode, v
	}
	if s, _ := call("GET", "/v1/revocable_token_types", "Authorization", "srs-0123456789abcdef", ""); s != http.StatusOK {
		t.Errorf("token types with the file's token: HTTP %d, want 200", s)
	}
	if s, _ := call("POST", "/api/v4/personal_access_tokens/self/rotate", "PRIVATE-TOKEN", admin, ""); s != http.StatusOK {
		t.Fatalf("rotate the admin token: HTTP %d", s)
	}
	if s, _ := call("GET", "/api/v4/user", "PRIVATE-TOKEN", admin, ""); s != http.StatusOK {
		t.Errorf("the rotated-out admin token within --rotation-grace: HTTP %d, want 200", s)
	}
}
