package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/datadir"
)

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// runWith runs botgate with the environment and standard input.
func runWith(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, envMap(env), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// serveWith starts 'botgate serve' with the environment, like startServe,
// and returns its URL, a stop function and its log.
func serveWith(t *testing.T, env map[string]string, args ...string) (string, func() error, *safeBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &safeBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), envMap(env), strings.NewReader(""), io.Discard, pw)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		stopped := false
		stop := func() error {
			if stopped {
				return nil
			}
			stopped = true
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				return errors.New("serve did not stop")
			}
		}
		t.Cleanup(func() { _ = stop() })
		return "http://" + a, stop, logs
	case err := <-done:
		cancel()
		return "", func() error { return err }, logs
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	return "", nil, nil
}

// safeBuffer collects the server's log lines.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func randomKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

var keyIDRE = regexp.MustCompile(`master key ([0-9a-f]{16})`)

func TestVaultCLIEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	if out, _, err := runWith(t, nil, "", "init", "--data-dir", dir, "--admin-token-file", tokenFile); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(dir, datadir.MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	tok, _ := os.ReadFile(tokenFile)
	admin := strings.TrimSpace(string(tok))

	base, stop, logs := serveWith(t, nil, "--data-dir", dir)
	gl, err := gitlab.NewClient(admin, gitlab.WithBaseURL(base+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Platform"), Path: gitlab.Ptr("platform")}); err != nil {
		t.Fatal(err)
	}
	cli := map[string]string{"BOTGATE_URL": base, "BOTGATE_TOKEN": admin, "HOME": t.TempDir()}
	const value = "upstream-admin-value-4c1d2b"
	steps := []struct {
		name    string
		stdin   string
		args    []string
		wantOut string
		wantErr bool
	}{
		{"put from stdin", value + "\n", []string{"secret", "put", "platform", "gitlab-admin", "--description", "upstream"}, "stored secret gitlab-admin", false},
		{"put refuses an empty value", "", []string{"secret", "put", "platform", "empty"}, "", true},
		{"get", "", []string{"secret", "get", "platform", "gitlab-admin"}, value, false},
		{"list shows metadata", "", []string{"secret", "list", "platform"}, "gitlab-admin", false},
		{"get unknown", "", []string{"secret", "get", "platform", "nope"}, "", true},
		{"bind needs a token", "", []string{"secret", "bind", "platform", "gitlab-admin"}, "", true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, errOut, err := runWith(t, cli, st.stdin, st.args...)
			if (err != nil) != st.wantErr || !strings.Contains(out, st.wantOut) {
				t.Fatalf("%v: err %v, out %q, stderr %q", st.args, err, out, errOut)
			}
			if st.args[1] != "get" && strings.Contains(out+errOut, value) {
				t.Fatalf("%v printed the value", st.args)
			}
		})
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), value) {
		t.Fatal("the server logged the secret value")
	}

	t.Run("wrong master key fails at start", func(t *testing.T) {
		_, stopWrong, wlogs := serveWith(t, map[string]string{"BOTGATE_MASTER_KEY": randomKey(t)}, "--data-dir", dir)
		err := stopWrong()
		if err == nil || !strings.Contains(err.Error(), "wrong master key") || !strings.Contains(err.Error(), "BOTGATE_MASTER_KEY") {
			t.Fatalf("serve with a wrong key: %v\n%s", err, wlogs)
		}
	})
	t.Run("readable key file is refused", func(t *testing.T) {
		k := filepath.Join(t.TempDir(), "loose.key")
		os.WriteFile(k, []byte(randomKey(t)+"\n"), 0o644)
		_, stopLoose, _ := serveWith(t, nil, "--data-dir", dir, "--master-key-file", k)
		if err := stopLoose(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("serve with a 0644 key file: %v", err)
		}
	})

	t.Run("rotate master key", func(t *testing.T) {
		oldKey, _ := os.ReadFile(filepath.Join(dir, datadir.MasterKeyFile))
		newKey := filepath.Join(t.TempDir(), "new.key")
		if out, _, err := runWith(t, nil, "", "vault", "generate-key", newKey); err != nil || !strings.Contains(out, "mode 0600") {
			t.Fatalf("generate-key: %q, %v", out, err)
		}
		if _, _, err := runWith(t, nil, "", "vault", "generate-key", newKey); err == nil {
			t.Fatal("generate-key overwrote an existing key")
		}
		// Servers restarted with the new key current and the old one loaded
		// keep serving the secret before the rotation.
		base, stopBoth, _ := serveWith(t, nil, "--data-dir", dir, "--master-key-file", newKey, "--old-master-key-file", filepath.Join(dir, datadir.MasterKeyFile))
		cli["BOTGATE_URL"] = base
		if out, _, err := runWith(t, cli, "", "secret", "get", "platform", "gitlab-admin"); err != nil || strings.TrimSpace(out) != value {
			t.Fatalf("get with new+old keys: %q, %v", out, err)
		}
		out, errOut, err := runWith(t, nil, "", "vault", "rotate-master-key", "--data-dir", dir, "--new-key-file", newKey, "--output", "json")
		if err != nil {
			t.Fatalf("rotate: %v\n%s%s", err, out, errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil || res["rewrapped"] != float64(1) || res["canary_moved"] != true || res["installed"] == "" {
			t.Fatalf("rotate result: %s (%v)", out, err)
		}
		// The running server kept working through the rotation.
		if out, _, err := runWith(t, cli, "", "secret", "get", "platform", "gitlab-admin"); err != nil || strings.TrimSpace(out) != value {
			t.Fatalf("get during rotation: %q, %v", out, err)
		}
		stopBoth()
		installed, _ := os.ReadFile(filepath.Join(dir, datadir.MasterKeyFile))
		fresh, _ := os.ReadFile(newKey)
		if !bytes.Equal(installed, fresh) || bytes.Equal(installed, oldKey) {
			t.Fatal("the new key was not installed as the data directory's master key")
		}
		// The server starts with the new key and reads the secret.
		base, stop, _ := serveWith(t, nil, "--data-dir", dir)
		cli["BOTGATE_URL"] = base
		out, _, err = runWith(t, cli, "", "secret", "get", "platform", "gitlab-admin")
		if err != nil || strings.TrimSpace(out) != value {
			t.Fatalf("get after rotation: %q, %v", out, err)
		}
		stop()
		// The old key alone no longer opens the vault.
		_, stopOld, _ := serveWith(t, map[string]string{"BOTGATE_MASTER_KEY": strings.TrimSpace(string(oldKey))}, "--data-dir", dir)
		err = stopOld()
		if err == nil || !strings.Contains(err.Error(), "wrong master key") {
			t.Fatalf("serve with the retired key: %v", err)
		}
		if m := keyIDRE.FindStringSubmatch(err.Error()); m == nil || m[1] != res["to_key_id"] {
			t.Fatalf("the error does not name the expected key %v: %v", res["to_key_id"], err)
		}
		out, _, err = runWith(t, nil, "", "vault", "status", "--data-dir", dir)
		if err != nil || !strings.Contains(out, "1 secrets under "+res["to_key_id"].(string)) {
			t.Fatalf("vault status: %q, %v", out, err)
		}
	})
}

func TestServeReportsACorruptSecretAndKeepsServing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	base, stop, _ := serveWith(t, nil, "--data-dir", dir, "--admin-token-file", tokenFile)
	tok, _ := os.ReadFile(tokenFile)
	admin := strings.TrimSpace(string(tok))
	gl, err := gitlab.NewClient(admin, gitlab.WithBaseURL(base+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gl.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Platform"), Path: gitlab.Ptr("platform")}); err != nil {
		t.Fatal(err)
	}
	cli := map[string]string{"BOTGATE_URL": base, "BOTGATE_TOKEN": admin, "HOME": t.TempDir()}
	for _, name := range []string{"good", "bad"} {
		if _, _, err := runWith(t, cli, "value-of-"+name, "secret", "put", "platform", name); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	db, err := sql.Open("sqlite", filepath.Join(dir, datadir.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	// Change the ciphertext's last byte, as a damaged disk or a hand edit
	// would (to x'01' if it is x'00' already: one seal in 256 ends so).
	res, err := db.Exec(`UPDATE secrets SET sealed = substr(sealed, 1, length(sealed) - 1) ||
		CASE WHEN substr(sealed, -1) = x'00' THEN x'01' ELSE x'00' END WHERE name = 'bad'`)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("corrupting the row: %v (%d rows)", err, n)
	}
	db.Close()

	base, _, logs := serveWith(t, nil, "--data-dir", dir)
	if base == "" {
		t.Fatalf("serve did not start with a corrupt secret:\n%s", logs)
	}
	cli["BOTGATE_URL"] = base
	if out, _, err := runWith(t, cli, "", "secret", "get", "platform", "good"); err != nil || strings.TrimSpace(out) != "value-of-good" {
		t.Fatalf("intact secret: %q, %v", out, err)
	}
	_, _, err = runWith(t, cli, "", "secret", "get", "platform", "bad")
	if exitCode(err) != exitServer {
		t.Fatalf("corrupt secret: exit %d (%v), want %d", exitCode(err), err, exitServer)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="vault secret does not open"`) || !strings.Contains(logs.String(), "name=bad") {
		if time.Now().After(deadline) {
			t.Fatalf("the damaged secret was not reported by name:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "value-of-") {
		t.Fatal("a value reached the log")
	}
}
