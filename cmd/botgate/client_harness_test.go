package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate/datadir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a real botgate server started through run("serve").
type testServer struct {
	url        string
	adminToken string
	dir        string
	log        *syncBuffer
}

var listenRE = regexp.MustCompile(`msg="botgate listening" addr=(\S+)`)

// startServer runs 'botgate serve' on port 0 in a temporary data directory,
// learns its address from the log, and waits for /-/health.
func startServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	noEnv := func(string) string { return "" }
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
			"--admin-token-file", tokenFile}, noEnv, strings.NewReader(""), &syncBuffer{}, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	s := &testServer{dir: dir, log: log}
	deadline := time.Now().Add(60 * time.Second)
	for s.url == "" {
		if m := listenRE.FindStringSubmatch(log.String()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report its address:\n%s", log.String())
		}
	}
	for {
		resp, err := http.Get(s.url + "/-/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/-/health not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := datadir.ReadSecretFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	s.adminToken = strings.TrimSpace(string(b))
	return s
}

// cliResult is one CLI invocation's outcome.
type cliResult struct {
	args   []string
	stdout string
	stderr string
	err    error
}

// code is the exit status main would use.
func (r cliResult) code() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// all is everything the user would see: stdout, stderr and main's error line.
func (r cliResult) all() string {
	s := r.stdout + r.stderr
	if r.err != nil {
		s += "botgate: " + r.err.Error() + "\n"
	}
	return s
}

func (r cliResult) String() string {
	return fmt.Sprintf("botgate %s\n-- exit %d\n-- stdout:\n%s-- stderr:\n%s-- err: %v", strings.Join(r.args, " "), r.code(), r.stdout, r.stderr, r.err)
}

// session runs CLI commands as one user would: its own config directory
// and environment.
type session struct {
	t   *testing.T
	env map[string]string
	// seen collects every output, to check where secrets appear; it is
	// shared by the copies that in makes.
	seen *[]cliResult
}

// in returns the session reporting to t (a subtest), sharing its history.
func (s *session) in(t *testing.T) *session {
	c := *s
	c.t = t
	return &c
}

func newSession(t *testing.T, env map[string]string) *session {
	home := t.TempDir()
	e := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
	for k, v := range env {
		e[k] = v
	}
	return &session{t: t, env: e, seen: new([]cliResult)}
}

// run executes one command with stdin.
func (s *session) runIn(stdin string, args ...string) cliResult {
	s.t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, func(k string) string { return s.env[k] }, strings.NewReader(stdin), &out, &errb)
	r := cliResult{args: args, stdout: out.String(), stderr: errb.String(), err: err}
	*s.seen = append(*s.seen, r)
	return r
}

func (s *session) run(args ...string) cliResult {
	s.t.Helper()
	return s.runIn("", args...)
}

// ok runs a command that must succeed.
func (s *session) ok(args ...string) cliResult {
	s.t.Helper()
	r := s.run(args...)
	if r.err != nil {
		s.t.Fatalf("command failed:\n%v", r)
	}
	return r
}

// fail runs a command that must fail with code, its message containing
// every one of want.
func (s *session) fail(code int, want []string, args ...string) cliResult {
	s.t.Helper()
	r := s.run(args...)
	if r.err == nil {
		s.t.Fatalf("command succeeded, want exit %d:\n%v", code, r)
	}
	if r.code() != code {
		s.t.Errorf("exit %d, want %d:\n%v", r.code(), code, r)
	}
	for _, w := range want {
		if !strings.Contains(r.err.Error(), w) {
			s.t.Errorf("error %q lacks %q", r.err.Error(), w)
		}
	}
	return r
}

// Masks for golden files: what varies between runs.
var masks = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`glpat-[A-Za-z0-9_.\-]+`), "<SECRET>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<TIME>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`), "<TIME>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}`), "<DATE>"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "<URL>"},
	{regexp.MustCompile(`(project|group)_\d+_bot_[0-9a-f]+`), "${1}_<ID>_bot_<RANDOM>"},
	{regexp.MustCompile(`service_account_(group|project)_\d+_[0-9a-f]+`), "service_account_${1}_<ID>_<RANDOM>"},
}

// golden compares got, masked, with testdata/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	for _, m := range masks {
		got = m.re.ReplaceAllString(got, m.repl)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update if intended)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}
