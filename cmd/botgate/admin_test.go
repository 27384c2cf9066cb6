package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBindsBeforeInitialising: a port in use fails serve before the
// data directory is initialised, so no admin token is shown and lost.
func TestServeBindsBeforeInitialising(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	var stderr strings.Builder
	err = run(context.Background(), []string{"serve", "--listen", ln.Addr().String(), "--data-dir", dir},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("serve on a port in use: %v", err)
	}
	if strings.Contains(stderr.String(), "glpat-") || strings.Contains(stderr.String(), "initialised") {
		t.Errorf("serve showed a token before failing:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "pepper")); err == nil {
		t.Error("the data directory was initialised although serve could not listen")
	}
}

// TestServeChecksConfigurationBeforeInitialising: a bad gateway
// configuration fails serve with the file's line and exit status 2,
// before a token is minted.
func TestServeChecksConfigurationBeforeInitialising(t *testing.T) {
	dir := t.TempDir()
	gw := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(gw, []byte("routes:\n  - name: a\n    upstream: http://127.0.0.1:1\n    timeout: forever\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	_, err := runCmd(t, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--gateway-config", gw)
	if exitCode(err) != exitUsage || err == nil || !strings.Contains(err.Error(), gw+":4: routes[0].timeout:") {
		t.Fatalf("serve with a bad gateway configuration: exit %d, %v", exitCode(err), err)
	}
	if _, err := os.Stat(filepath.Join(data, "pepper")); err == nil {
		t.Error("the data directory was initialised before the configuration was checked")
	}
}

// TestServeLocksTheDataDirectory: a second serve on the same SQLite data
// directory fails with a message saying who holds it.
func TestServeLocksTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, stop := startServe(t, "--data-dir", dir, "--admin-token-file", filepath.Join(t.TempDir(), "admin.token"))
	_, err := runCmd(t, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "is serving the data directory "+dir) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second serve: %v; want a refusal naming the holder", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Once the first has stopped, the directory is free.
	_, stop = startServe(t, "--data-dir", dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAdminTokenFileAndRecover: --admin-token-file on an initialised data
// directory is refused unless the file is there already; admin recover
// mints a working token, audited.
func TestAdminTokenFileAndRecover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := filepath.Join(t.TempDir(), "admin.token")
	if _, err := runCmd(t, "init", "--data-dir", dir, "--admin-token-file", first); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "new.token")
	_, err := runCmd(t, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--admin-token-file", missing)
	if err == nil || !strings.Contains(err.Error(), "no admin token is written to "+missing) || !strings.Contains(err.Error(), "botgate admin recover") {
		t.Fatalf("serve --admin-token-file on an initialised directory: %v", err)
	}
	if exitCode(err) != exitUsage {
		t.Errorf("exit %d, want %d", exitCode(err), exitUsage)
	}
	// The first start's file, still there, is accepted (a restart).
	_, stop := startServe(t, "--data-dir", dir, "--admin-token-file", first)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	out, err := runCmd(t, "admin", "recover", "--data-dir", dir, "--admin-token-file", missing, "--output", "json")
	if err != nil {
		t.Fatalf("admin recover: %v\n%s", err, out)
	}
	var res struct {
		AdminUsername string `json:"admin_username"`
		TokenFile     string `json:"token_file"`
		Token         string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.AdminUsername != "root" || res.TokenFile != missing || res.Token != "" {
		t.Fatalf("admin recover said %s (%v)", out, err)
	}
	secret, err := os.ReadFile(missing)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, "--data-dir", dir)
	req, _ := http.NewRequest("GET", base+"/api/v4/user", nil)
	req.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var user struct {
		Username string `json:"username"`
		IsAdmin  bool   `json:"is_admin"`
	}
	json.NewDecoder(resp.Body).Decode(&user)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || user.Username != "root" || !user.IsAdmin {
		t.Errorf("the recovered token: %d %+v", resp.StatusCode, user)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "admin", "recover", "--data-dir", dir, "--username", "nobody"); exitCode(err) != exitNotFound {
		t.Errorf("admin recover --username nobody: exit %d (%v), want %d", exitCode(err), err, exitNotFound)
	}
	out, err = runCmd(t, "audit", "list", "--data-dir", dir, "--action", "admin.recover", "--output", "json")
	if err != nil || !strings.Contains(out, `"admin.recover"`) {
		t.Errorf("the recovery is not in the audit log: %v\n%s", err, out)
	}
}
