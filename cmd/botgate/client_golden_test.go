package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// transcript records CLI invocations as a user would see them, for a
// golden file: the command, its exit status, stdout, stderr and main's
// error line.
type transcript struct {
	b       strings.Builder
	replace []string // old, new pairs applied before the masks
}

func (tr *transcript) add(r cliResult) {
	fmt.Fprintf(&tr.b, "$ botgate %s\n", strings.Join(r.args, " "))
	fmt.Fprintf(&tr.b, "-- exit %d\n", r.code())
	if r.stdout != "" {
		fmt.Fprintf(&tr.b, "-- stdout:\n%s", r.stdout)
	}
	if r.stderr != "" {
		fmt.Fprintf(&tr.b, "-- stderr:\n%s", r.stderr)
	}
	if r.err != nil {
		fmt.Fprintf(&tr.b, "-- error:\nbotgate: %s\n", r.err)
	}
	tr.b.WriteString("\n")
}

// goldenMasks hide what golden's masks do not: durations and the
// fingerprints and key ids that differ per run.
var goldenMasks = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`), "<DURATION>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<HASH>"},
	{regexp.MustCompile(`\b[0-9a-f]{16}\b`), "<HEX>"},
	{regexp.MustCompile(`"(key_id)": "[^"]*"`), `"$1": "<KEY>"`},
}

func (tr *transcript) String() string {
	s := tr.b.String()
	for i := 0; i+1 < len(tr.replace); i += 2 {
		s = strings.ReplaceAll(s, tr.replace[i], tr.replace[i+1])
	}
	for _, m := range goldenMasks {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	return s
}

// TestCLIGoldenClient records the client commands' output, text and JSON,
// and exit statuses against a real server, so that a change to how the CLI
// talks to the server or renders its answers shows up as a golden diff.
func TestCLIGoldenClient(t *testing.T) {
	srv := startServer(t)
	adminFile := filepath.Join(srv.dir, "admin.token")
	s := newSession(t, nil)
	tr := &transcript{replace: []string{srv.dir, "<DIR>", s.env["HOME"], "<HOME>"}}
	step := func(stdin string, args ...string) cliResult {
		t.Helper()
		r := s.runIn(stdin, args...)
		tr.add(r)
		return r
	}
	both := func(args ...string) {
		t.Helper()
		step("", args...)
		step("", append(args, "-o", "json")...)
	}
	mustID := func(args ...string) string {
		t.Helper()
		r := step("", args...)
		if r.err != nil {
			t.Fatalf("command failed:\n%v", r)
		}
		return jsonID(t, r.stdout)
	}

	step("", "login", "--url", srv.url+"/", "--token-file", adminFile)
	both("user", "whoami")
	step("", "group", "create", "--name", "Team A", "--path", "team-a")
	step("", "group", "create", "--name", "Platform", "--parent", "team-a", "-o", "json")
	both("group", "list")
	both("group", "show", "team-a/platform")
	step("", "group", "show", "nope")
	step("", "group", "update", "team-a/platform", "--description", "platform tooling")
	step("", "project", "create", "--namespace", "team-a", "--name", "App")
	step("", "project", "create", "--namespace", "team-a/platform", "--name", "Tools", "-o", "json")
	both("project", "list")
	both("project", "show", "team-a/app")
	step("", "project", "show", "team-a/nope")
	step("", "project", "update", "team-a/app")
	step("", "project", "update", "team-a/app", "--description", "the app", "-o", "json")

	step("", "user", "create", "--username", "alice", "--name", "Alice", "--email", "alice@example.com")
	both("user", "list")
	both("user", "show", "alice")
	step("", "member", "add", "alice", "--project", "team-a/app", "--access-level", "developer")
	both("member", "list", "--project", "team-a/app")
	step("", "member", "update", "alice", "--project", "team-a/app", "--access-level", "reporter", "-o", "json")
	step("", "member", "remove", "alice", "--project", "team-a/app")

	step("", "token", "create", "--project", "team-a/app", "--name", "deploy", "--scopes", "read_api", "--access-level", "reporter", "--expires-at", time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02"))
	deploy := mustID("token", "create", "--project", "team-a/app", "--name", "triage", "--scopes", "api", "--access-level", "developer", "-o", "json")
	step("", "token", "create", "--project", "team-a/app", "--name", "x", "--scopes", "api", "--access-level", "emperor")
	step("", "token", "create", "--project", "team-a/app", "--name", "x")
	both("token", "list", "--project", "team-a/app")
	both("token", "show", deploy, "--project", "team-a/app")
	step("", "token", "show", "999", "--project", "team-a/app")
	rotated := mustID("token", "rotate", deploy, "--project", "team-a/app", "-o", "json")
	step("", "token", "rotate", rotated, "--project", "team-a/app")
	both("token", "usage", "1")
	step("", "token", "usage", "999")
	step("", "token", "usage", "abc")
	step("", "token", "revoke", rotated, "--project", "team-a/app")
	both("token", "list", "--project", "team-a/app", "--state", "active")
	step("", "token", "create", "--group", "team-a", "--name", "group-bot", "--scopes", "read_api", "--access-level", "reporter")
	both("token", "list", "--group", "team-a")

	sa := mustID("service-account", "create", "--group", "team-a", "--name", "release-bot", "-o", "json")
	step("", "service-account", "create", "--project", "team-a/app", "--name", "mirror-bot")
	both("service-account", "list", "--group", "team-a")
	step("", "service-account", "token", "create", sa, "--group", "team-a", "--name", "release", "--scopes", "read_api")
	both("service-account", "token", "list", sa, "--group", "team-a")
	step("", "service-account", "update", sa, "--group", "team-a", "--name", "Release Bot")

	leaky := step("", "token", "create", "--name", "leaky", "--scopes", "read_api", "-o", "json")
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(leaky.stdout), &v); err != nil || v.Token == "" {
		t.Fatalf("token create: %v\n%v", err, leaky)
	}
	step(v.Token+"\n", "token", "lookup")
	step(v.Token+"\n", "token", "lookup", "-o", "json")
	file := filepath.Join(s.env["HOME"], "leaked.txt")
	if err := os.WriteFile(file, []byte(v.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("", "token", "revoke", "--secret-file", file)
	step("", "token", "revoke", "5", "--secret-file", file)

	step("value-4c1d2b\n", "secret", "put", "team-a", "gitlab-admin", "--description", "upstream")
	step("", "secret", "put", "team-a", "empty")
	both("secret", "get", "team-a", "gitlab-admin")
	both("secret", "list", "team-a")
	step("", "secret", "get", "team-a", "nope")
	step("", "secret", "bind", "team-a", "gitlab-admin")
	step("", "secret", "bind", "team-a", "gitlab-admin", "--token-id", deploy)
	step("", "secret", "bind", "team-a", "gitlab-admin", "--unbind", "-o", "json")
	step("", "secret", "rm", "team-a", "gitlab-admin")
	step("", "secret", "rm", "team-a", "gitlab-admin")
	step("", "broker", "list", "team-a")
	step("", "broker", "list", "team-a", "-o", "json")
	step("", "broker", "rotate", "999")

	step("", "group", "list", "--per-page", "101")
	step("", "project", "delete", "team-a/platform/tools")
	step("", "project", "delete", "team-a/platform/tools", "--yes")
	step("", "logout")
	step("", "user", "whoami")
	s.env["BOTGATE_URL"] = srv.url
	s.env["BOTGATE_TOKEN"] = "glpat-not-a-real-token"
	step("", "user", "whoami")
	s.env["BOTGATE_URL"] = "http://127.0.0.1:1"
	step("", "user", "whoami")

	golden(t, "client.golden", tr.String())
}

// TestCLIGoldenDataDir records the commands that work on a data directory
// (plan, apply, lint, vault status, audit verify), text and JSON.
func TestCLIGoldenDataDir(t *testing.T) {
	dir := initDir(t)
	s := newSession(t, nil)
	tr := &transcript{replace: []string{dir, "<DATA>"}}
	step := func(args ...string) {
		t.Helper()
		tr.add(s.run(args...))
	}
	step("plan", "-f", exampleFile, "--data-dir", dir)
	step("apply", "-f", exampleFile, "--data-dir", dir)
	step("plan", "-f", exampleFile, "--data-dir", dir, "-o", "json")
	step("lint", "--data-dir", dir)
	step("lint", "--data-dir", dir, "-o", "json")
	step("lint", "-f", exampleFile, "--data-dir", dir)
	step("vault", "status", "--data-dir", dir)
	step("vault", "status", "--data-dir", dir, "-o", "json")
	step("audit", "verify", "--data-dir", dir)
	step("plan", "-f", "nope.yaml", "--data-dir", dir)
	step("plan", "--bogus")
	step("lint", "--data-dir", dir, "-o", "yaml")
	step("version", "-o", "yaml")
	step("audit", "verify", "--data-dir", dir, "--bogus")
	golden(t, "datadir.golden", tr.String())
}
