package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/server"
)

// features are the optional steps of the migration scripts that this
// botgate supports; the scripts skip the others. Each names a GitLab
// behaviour a script checks when it is listed:
//
//	revoke_204   deleting an already revoked token answers 204
//	members_all  GET /projects/:id/members/all lists inherited members
//	keyset       pagination=keyset on GET /projects
//	metadata     GET /metadata
var features = []string{"revoke_204", "members_all", "keyset", "metadata"}

// steps are the steps every run of a migration script does, in order,
// before the optional ones.
var steps = []string{
	"admin authenticates",
	"admin creates users and their tokens",
	"groups and projects",
	"members",
	"project access tokens",
	"list with filters and offset pagination",
	"rotate, then delete the old id",
	"group access token",
	"personal token rotate and delete",
	"service accounts",
	"admin token lookup and revoke",
	"bad input",
}

// wantSteps are the steps a script must report with the features above.
func wantSteps() []string {
	want := slices.Clone(steps)
	if slices.Contains(features, "revoke_204") {
		i := slices.Index(want, "rotate, then delete the old id")
		want = slices.Insert(want, i+1, "delete the rotated-out id answers 204")
	}
	for _, f := range []struct{ feature, step string }{
		{"members_all", "inherited members"}, {"keyset", "keyset pagination"}, {"metadata", "metadata"},
	} {
		if slices.Contains(features, f.feature) {
			want = append(want, f.step)
		}
	}
	return want
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a botgate server started for one test.
type running struct {
	url   string
	admin string // the administrator's token
	logs  *syncBuffer
	dir   string
}

// startBotgate initialises a data directory, starts the server on a free
// loopback port with its SQLite store and waits until it is ready; the
// server stops when the test ends.
func startBotgate(t *testing.T) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	cfg := server.Config{DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" }, Listen: "127.0.0.1:0"}
	if _, err := server.Initialize(ctx, cfg, server.Admin{Username: "root", Email: "root@botgate.test", TokenFile: tokenFile}, log); err != nil {
		t.Fatal(err)
	}
	admin, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("botgate stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("botgate did not stop within 30s")
		}
		srv.Close()
	})
	r := &running{url: "http://" + srv.Addr().String(), admin: strings.TrimSpace(string(admin)), logs: logs, dir: dir}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.url + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("botgate at %s not ready after 30s: %v", r.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptResult is what a migration script prints when it succeeds.
type scriptResult struct {
	Steps   []string `json:"steps"`
	Secrets []string `json:"secrets"`
}

// runScript runs a migration script against r and fails the test on any
// script error, with the script's own account of the step that failed.
func runScript(t *testing.T, r *running, name string, args ...string) scriptResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "BG_URL="+r.url, "BG_TOKEN="+r.admin, "BG_FEATURES="+strings.Join(features, ","),
		"PYTHONWARNINGS=error::UserWarning")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	var res scriptResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("script output %q: %v\n%s", stdout.String(), err, stderr.String())
	}
	return res
}

// checkRun checks what the script reported and what the server recorded,
// independently of the script's own checks.
func checkRun(t *testing.T, r *running, res scriptResult) {
	t.Helper()
	if want := wantSteps(); !slices.Equal(res.Steps, want) {
		t.Errorf("steps done:\n  %q\nwant:\n  %q", res.Steps, want)
	}
	if len(res.Secrets) < 10 {
		t.Errorf("the script reports %d secrets; it creates more", len(res.Secrets))
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "request") {
		t.Error("the server logged no request; the log check would prove nothing")
	}
	for i, s := range append(res.Secrets, r.admin) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("secret #%d appears in the server's logs", i+1)
		}
	}
	// The audit log, read from the data directory's store, records the
	// lifecycle the script drove.
	in, err := server.Open(context.Background(), server.Config{DataDir: filepath.Join(r.dir, "data")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	count := func(action string) int {
		evs, err := in.Authority.AuditEvents(context.Background(), authority.SystemActor(), botgate.AuditFilter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for _, c := range []struct {
		action string
		min    int
	}{
		{botgate.ActionTokenCreate, 12}, {botgate.ActionTokenRotate, 3}, {botgate.ActionTokenRevoke, 3},
		{botgate.ActionMemberAdd, 2}, {botgate.ActionGroupCreate, 2}, {botgate.ActionProjectCreate, 2},
	} {
		if n := count(c.action); n < c.min {
			t.Errorf("%s events: %d, want at least %d", c.action, n, c.min)
		}
	}
}

// systemPython is the interpreter Debian's python3-gitlab is installed for.
const systemPython = "/usr/bin/python3"

// TestPythonGitlabMigration runs the migration script with python-gitlab.
// It is skipped only when the system Python cannot import gitlab (.ci/run
// installs Debian's python3-gitlab).
func TestPythonGitlabMigration(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import gitlab").Run(); err != nil {
		t.Skipf("python-gitlab is not importable by %s (%v): apt-get install -y python3-gitlab", systemPython, err)
	}
	r := startBotgate(t)
	checkRun(t, r, runScript(t, r, systemPython, "migration.py"))
}

// TestGitbeakerMigration runs the migration script with @gitbeaker/rest.
// It is skipped only when node or the installed node_modules are missing
// (.ci/run runs npm ci here).
func TestGitbeakerMigration(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: install Node.js 20 and run npm ci in e2e/")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@gitbeaker", "rest", "package.json")); err != nil {
		t.Skip("@gitbeaker/rest is not installed: run npm ci in e2e/ (.ci/run does)")
	}
	r := startBotgate(t)
	checkRun(t, r, runScript(t, r, node, "migration.mjs"))
}
