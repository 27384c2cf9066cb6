package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDocsCLISession runs the shell session of docs/cli.md, as written,
// against a freshly built botgate, so the documented examples keep working.
func TestDocsCLISession(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a shell session")
	}
	for _, tool := range []string{"bash", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 5 {
		t.Fatalf("docs/cli.md has %d sh blocks, want the whole session", len(blocks))
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, b := range blocks {
		script.WriteString(b[1])
	}
	// Run on a free port; stop the backgrounded server at the end.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := strings.ReplaceAll(script.String(), "127.0.0.1:8080", addr)
	// The documented expiry dates are examples: keep them in the future.
	days := 30
	s = regexp.MustCompile(`\b20\d\d-\d\d-\d\d\b`).ReplaceAllStringFunc(s, func(string) string {
		days += 30
		return time.Now().UTC().AddDate(0, 0, days).Format("2006-01-02")
	})
	s = strings.Replace(s, "&\n", "&\nSERVER=$!\ntrap 'kill $SERVER' EXIT\n"+
		"for i in $(seq 100); do curl -fs http://"+addr+"/-/health >/dev/null 2>&1 && break; sleep 0.1; done\n", 1)
	if !strings.Contains(s, "SERVER=$!") {
		t.Fatal("docs/cli.md no longer starts the server in the background")
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goTool, "build", "-o", filepath.Join(bin, "botgate"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", s)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + work, "XDG_CONFIG_HOME=" + filepath.Join(work, ".config")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("the documented session failed: %v\n--- script:\n%s\n--- stdout:\n%s\n--- stderr:\n%s", err, s, out.String(), errb.String())
	}
	for _, want := range []string{
		"Logged in to http://" + addr + " as root",
		`Created project access token`,
		"Token written to ./ci-deploy.token (mode 0600).",
		"its successor is token",
		"its bot user is deactivated",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("session output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "glpat-") {
		t.Errorf("the documented session printed a secret:\n%s", out.String())
	}
}
