package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var addrRE = regexp.MustCompile(`msg="botgate listening" addr=(\S+)`)

// startServe runs 'botgate serve' on a free port and returns its base URL
// and a function that stops it and returns run's error.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), func(string) string { return "" }, strings.NewReader(""), io.Discard, pw)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	var once bool
	stop := func() error {
		if once {
			return nil
		}
		once = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("serve did not stop within 30s")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestServeInitialisesAnswersHealthAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	base, stop := startServe(t, "--data-dir", dir, "--admin-token-file", tokenFile)

	for _, path := range []string{"/-/health", "/-/liveness", "/-/readiness"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || body["status"] != "ok" {
			t.Fatalf("%s: %d %v %v", path, resp.StatusCode, body, err)
		}
	}
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode = %v, want 0600", fi.Mode().Perm())
	}
	tok, _ := os.ReadFile(tokenFile)
	if !strings.HasPrefix(string(tok), "glpat-") {
		t.Fatal("token file does not hold a token")
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	out, err = runCmd(t, "audit", "verify", "--data-dir", dir, "--output", "json")
	var res map[string]any
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res["ok"] != true {
		t.Fatalf("audit verify --output json: %v\n%s", err, out)
	}

	// Edit one event behind botgate's back: verify must fail with exit 3.
	db, err := sql.Open("sqlite", filepath.Join(dir, "botgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = runCmd(t, "audit", "verify", "--data-dir", dir)
	if exitCode(err) != 3 || !strings.Contains(out, "BROKEN at event 1") {
		t.Fatalf("tampered log: exit %d, %v\n%s", exitCode(err), err, out)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, err := runCmd(t, "init", "--data-dir", dir, "--output", "json")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || !strings.HasPrefix(res["token"].(string), "glpat-") {
		t.Fatalf("init --output json: %v\n%s", err, out)
	}
	pepper, _ := os.ReadFile(filepath.Join(dir, "pepper"))
	out, err = runCmd(t, "init", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	again, _ := os.ReadFile(filepath.Join(dir, "pepper"))
	if !bytes.Equal(pepper, again) {
		t.Fatal("second init changed the pepper")
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, err := runCmd(t, "version", "--output", "json")
	if err != nil || !strings.Contains(out, `"version"`) {
		t.Fatalf("version: %v %s", err, out)
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"init", "--help"}, {"audit", "verify", "--help"}} {
		out, err := runCmd(t, args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if _, err := runCmd(t, "version", "--output", "yaml"); err == nil {
		t.Fatal("bad --output accepted")
	}
}

func TestServeAPIRateLimitAndTrustedProxyFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	base, _ := startServe(t, "--data-dir", dir, "--admin-token-file", tokenFile,
		"--api-rate-limit", "3/hour", "--api-rate-burst", "2", "--trusted-proxy", "127.0.0.1")
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	codes := []int{}
	for range 4 {
		req, _ := http.NewRequest("GET", base+"/api/v4/user", nil)
		req.Header.Set("PRIVATE-TOKEN", strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.Header.Get("RateLimit-Limit") == "" {
			t.Fatalf("no RateLimit-Limit header on %d", resp.StatusCode)
		}
	}
	if codes[0] != 200 || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("status codes = %v, want 200 first and 429 once the per-user budget is spent", codes)
	}
	for _, bad := range [][]string{{"--api-rate-limit", "lots"}, {"--trusted-proxy", "not-an-ip"}} {
		_, err := runCmd(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir}, bad...)...)
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Fatalf("%v: err = %v, want a message naming the flag", bad, err)
		}
	}
}

// TestInitFileModes: what init writes is private to the user botgate runs
// as, whatever the umask: the directory 0700; the database with its WAL
// and shared memory, the pepper, the master key and the admin token 0600.
func TestInitFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// A directory made beforehand, as a deployment tool might, with the
	// usual 0755.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if out, err := runCmd(t, "init", "--data-dir", dir, "--admin-token-file", tokenFile); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	// The WAL and shared memory files exist while a server has the
	// database open.
	_, stop := startServe(t, "--data-dir", dir)
	defer stop()
	check := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	check(dir, 0o700)
	check(tokenFile, 0o600)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name()] = true
		want := os.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		check(filepath.Join(dir, e.Name()), want)
	}
	for _, name := range []string{"botgate.db", "botgate.db-wal", "botgate.db-shm", "pepper", "master.key"} {
		if !seen[name] {
			t.Errorf("init wrote no %s (wrote %v)", name, seen)
		}
	}
}

// TestServeBodyReadTimeout: a client that trickles a request body, one
// byte a second, is answered 408 and cut off at --body-read-timeout,
// instead of holding its connection for as long as it likes.
func TestServeBodyReadTimeout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	base, _ := startServe(t, "--data-dir", dir, "--body-read-timeout", "1s", "--admin-token-file", tokenFile)
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /api/v4/user/personal_access_tokens HTTP/1.1\r\nHost: botgate\r\n"+
		"PRIVATE-TOKEN: "+strings.TrimSpace(string(token))+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes the connection
		answered <- string(b)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case resp := <-answered:
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("cut off after %s, want about 1s", took)
			}
			if !strings.HasPrefix(resp, "HTTP/1.1 408 ") || !strings.Contains(resp, "did not arrive in time") {
				t.Errorf("answer %q, want 408 saying why", resp)
			}
			return
		case <-tick.C:
			if time.Since(start) > 20*time.Second {
				t.Fatal("the server still waits for a trickled body after 20s")
			}
			_, _ = conn.Write([]byte("{"))
		}
	}
}

// TestServeMetricsPublic: --metrics-public opens /metrics to scrapers
// without a token.
func TestServeMetricsPublic(t *testing.T) {
	base, _ := startServe(t, "--data-dir", filepath.Join(t.TempDir(), "data"), "--metrics-public",
		"--admin-token-file", filepath.Join(t.TempDir(), "admin.token"))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "botgate_gateway_") {
		t.Fatalf("/metrics with --metrics-public: %d %.200s", resp.StatusCode, b)
	}
}

// TestAuditVerifyAnchors: `audit verify` prints the head as SEQ:HASH and
// checks --expect-head and the data directory's checkpoint, so that a
// writer of the database alone cannot hide deleted events, not even by
// rewriting the recorded head or emptying the log.
func TestAuditVerifyAnchors(t *testing.T) {
	headRE := regexp.MustCompile(`head (\d+:[0-9a-f]{64})`)
	var admin string
	setup := func(t *testing.T) (dir, head string) {
		t.Helper()
		dir = filepath.Join(t.TempDir(), "data")
		tokenFile := filepath.Join(t.TempDir(), "admin.token")
		if out, err := runCmd(t, "init", "--data-dir", dir, "--admin-token-file", tokenFile); err != nil {
			t.Fatalf("init: %v\n%s", err, out)
		}
		// A few more events: a user and its token.
		base, stop := startServe(t, "--data-dir", dir)
		b, _ := os.ReadFile(tokenFile)
		admin = strings.TrimSpace(string(b))
		var u struct{ ID int64 }
		postJSON(t, base+"/api/v4/users", admin, `{"username":"carol","name":"Carol","email":"carol@example.com"}`, &u)
		var pat struct{ Token string }
		postJSON(t, fmt.Sprintf("%s/api/v4/users/%d/personal_access_tokens", base, u.ID), admin, `{"name":"ci","scopes":["read_api"]}`, &pat)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
		m := headRE.FindStringSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("audit verify: %v\n%s", err, out)
		}
		return dir, m[1]
	}
	tamper := func(t *testing.T, dir string, stmts ...string) {
		t.Helper()
		db, err := sql.Open("sqlite", filepath.Join(dir, "botgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	truncate := []string{
		"DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events)",
		`UPDATE audit_lanes SET seq = (SELECT max(seq) FROM audit_events), hash = (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
			signed = (SELECT seq || ':' || hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE lane = 0`,
	}
	wipe := []string{"DELETE FROM audit_events", "UPDATE audit_lanes SET seq = 0, hash = '', signed = ''"}
	broken := func(t *testing.T, out string, err error, want string) {
		t.Helper()
		if exitCode(err) != 3 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, want) {
			t.Fatalf("exit %d, %v, want 3 and %q:\n%s", exitCode(err), err, want, out)
		}
	}

	t.Run("ExpectHead", func(t *testing.T) {
		dir, head := setup(t)
		if out, err := runCmd(t, "audit", "verify", "--data-dir", dir, "--expect-head", head); err != nil {
			t.Fatalf("the printed head: %v\n%s", err, out)
		}
		seq, hash, _ := strings.Cut(head, ":")
		other := seq + ":" + strings.Repeat("0", len(hash))
		out, err := runCmd(t, "audit", "verify", "--data-dir", dir, "--expect-head", other)
		broken(t, out, err, "expected head")
		n, _ := strconv.Atoi(seq)
		out, err = runCmd(t, "audit", "verify", "--data-dir", dir, "--expect-head", fmt.Sprintf("%d:%s", n+3, hash))
		broken(t, out, err, "the log ends at event "+seq)
		if _, err := runCmd(t, "audit", "verify", "--data-dir", dir, "--expect-head", "nonsense"); exitCode(err) == 0 || exitCode(err) == 3 {
			t.Errorf("a malformed --expect-head: exit %d, want a usage error", exitCode(err))
		}
	})
	t.Run("TruncatedHeadRewritten", func(t *testing.T) {
		dir, _ := setup(t)
		tamper(t, dir, truncate...)
		out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
		broken(t, out, err, "recorded head")
	})
	t.Run("Wiped", func(t *testing.T) {
		dir, _ := setup(t)
		tamper(t, dir, wipe...)
		out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
		broken(t, out, err, "empty")
	})
	t.Run("OlderCopy", func(t *testing.T) {
		// The database replaced by an older copy of itself, with its own
		// (genuinely signed) head: only an anchor outside the database
		// tells. The checkpoint is one.
		dir, head := setup(t)
		db := filepath.Join(dir, "botgate.db")
		old := filepath.Join(t.TempDir(), "old.db")
		tamper(t, dir, "VACUUM INTO '"+old+"'")
		base, stop := startServe(t, "--data-dir", dir)
		var u struct{ ID int64 }
		postJSON(t, base+"/api/v4/users", admin, `{"username":"dave","name":"Dave","email":"dave@example.com"}`, &u)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		// serve moved the checkpoint past the old copy's head on its way out.
		if cp, err := os.ReadFile(filepath.Join(dir, "audit-checkpoint")); err != nil || strings.HasPrefix(string(cp), strings.SplitN(head, ":", 2)[0]+":") {
			t.Fatalf("checkpoint after serve: %q, %v; want it past %s", cp, err, head)
		}
		if out, err := runCmd(t, "audit", "verify", "--data-dir", dir); err != nil {
			t.Fatalf("before the swap: %v\n%s", err, out)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			os.Remove(db + suffix)
		}
		raw, err := os.ReadFile(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(db, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := runCmd(t, "audit", "verify", "--data-dir", dir)
		broken(t, out, err, "checkpoint")
	})
}
