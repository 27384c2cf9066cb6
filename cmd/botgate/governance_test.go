package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"

	"github.com/botgate/botgate/internal/pgtest"
)

// runSplit runs the command line and returns stdout and stderr apart.
func runSplit(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// initDir makes an initialised data directory.
func initDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if out, err := runCmd(t, "init", "--data-dir", dir, "--admin-token-file", filepath.Join(t.TempDir(), "admin.token")); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return dir
}

const exampleFile = "../../examples/automations.yaml"

func TestPlanApplyLint(t *testing.T) {
	dir := initDir(t)

	out, _, err := runSplit(t, "", "plan", "-f", exampleFile, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "+ token danger-review: group_access on group gitlab-org, scopes api, reporter") ||
		!regexp.MustCompile(`Plan: \d+ to create, 0 to change, 0 to revoke`).MatchString(out) {
		t.Fatalf("plan: %v\n%s", err, out)
	}

	out, progress, err := runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir)
	if err != nil {
		t.Fatalf("apply: %v\n%s\n%s", err, out, progress)
	}
	t.Run("ApplyOutput", func(t *testing.T) {
		m, err := manifest.ParseFile(exampleFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Automations {
			want := "for " + a.Name + " (expires "
			ref := "secret in vault:" + a.Owner + "/" + a.Name + ".token"
			if !strings.Contains(out, want) || !strings.Contains(out, ref) {
				t.Errorf("apply output lacks %q / %q:\n%s", want, ref, out)
			}
		}
		if strings.Contains(out+progress, "glpat-") {
			t.Error("apply printed a token secret without --show-secrets")
		}
		if !strings.Contains(progress, "+ group gitlab-org: done") {
			t.Errorf("progress lines missing on stderr:\n%s", progress)
		}
	})

	t.Run("SecondApplyChangesNothing", func(t *testing.T) {
		out, _, err := runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir)
		if err != nil || !strings.Contains(out, "No changes") {
			t.Fatalf("second apply: %v\n%s", err, out)
		}
		out, _, err = runSplit(t, "", "plan", "-f", exampleFile, "--data-dir", dir, "--output", "json")
		var plan struct {
			Summary manifest.Summary `json:"summary"`
			Actions []any            `json:"actions"`
		}
		if err != nil || json.Unmarshal([]byte(out), &plan) != nil || len(plan.Actions) != 0 {
			t.Fatalf("plan --output json after apply: %v\n%s", err, out)
		}
	})

	t.Run("NewAutomationWithShowSecrets", func(t *testing.T) {
		src, _ := os.ReadFile(exampleFile)
		more := string(src) + `
  - name: chatops-notifier
    purpose: Posts deployment notes to merge requests of gitlab-org/gitlab.
    owner: gitlab-org/delivery
    projects: [gitlab-org/gitlab]
    scopes: [api]
    access_level: reporter
    expires_in: 30d
`
		out, _, err := runSplit(t, more, "apply", "-f", "-", "--data-dir", dir, "--show-secrets", "--output", "json")
		var res governance.ApplyJSON
		if err != nil || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("apply --show-secrets --output json: %v\n%s", err, out)
		}
		if len(res.Tokens) != 1 || res.Tokens[0].Automation != "chatops-notifier" || !strings.HasPrefix(res.Tokens[0].Secret, "glpat-") ||
			res.Tokens[0].SecretRef != "vault:gitlab-org/delivery/chatops-notifier.token" {
			t.Fatalf("apply issued %+v; want one chatops-notifier token with its secret and vault ref", res.Tokens)
		}
		// Removing it again leaves the token unless pruning is asked for.
		_, stderr, err := runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir)
		if err != nil || !strings.Contains(stderr, "1 prune step(s) skipped") {
			t.Fatalf("apply without prune: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "warning: automation record chatops-notifier is not declared") {
			t.Fatalf("apply does not warn of the undeclared record:\n%s", stderr)
		}
		out, stderr, err = runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir, "--prune")
		if err != nil || !strings.Contains(out, "Applied 1 step(s).") || !strings.Contains(out, "Removed 1 automation record(s)") ||
			!strings.Contains(stderr, "- automation record chatops-notifier: removed") {
			t.Fatalf("apply --prune: %v\n%s\n%s", err, out, stderr)
		}
		out, stderr, err = runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir, "--prune")
		if err != nil || !strings.Contains(out, "No changes") || strings.Contains(stderr, "warning") {
			t.Fatalf("apply --prune again: %v\n%s\n%s", err, out, stderr)
		}
	})

	t.Run("ManifestErrorsPointAtTheLine", func(t *testing.T) {
		bad := "version: 1\nteams:\n  - path: infra\n    membrs: []\n"
		_, _, err := runSplit(t, bad, "plan", "-f", "-", "--data-dir", dir)
		if err == nil || !strings.Contains(err.Error(), "<stdin>:4:5") || !strings.Contains(err.Error(), `"members"`) {
			t.Fatalf("plan of a manifest with a typo: %v", err)
		}
	})

	t.Run("Lint", func(t *testing.T) {
		out, _, err := runSplit(t, "", "lint", "--data-dir", dir)
		if err != nil || !strings.Contains(out, "No findings") {
			t.Fatalf("lint: %v\n%s", err, out)
		}
		out, _, err = runSplit(t, "", "lint", "-f", exampleFile, "--data-dir", dir, "--output", "sarif")
		var sarif map[string]any
		if err != nil || json.Unmarshal([]byte(out), &sarif) != nil || sarif["version"] != "2.1.0" {
			t.Fatalf("lint --output sarif: %v\n%s", err, out)
		}
	})
}

func TestLintExitCodes(t *testing.T) {
	dir := initDir(t)
	// One warning (BG010: a rate limit above the policy) and no error.
	src := `version: 1
policy: {max_rate_limit: 100/min}
teams: [{path: infra}]
projects: [{path: deploy, group: infra}]
automations:
  - name: deploy-notifier
    purpose: Tells chat about deployments.
    owner: infra
    projects: [infra/deploy]
    scopes: [read_api]
    access_level: reporter
    expires_in: 90d
    rate_limit: 600/min
`
	file := filepath.Join(t.TempDir(), "automations.yaml")
	os.WriteFile(file, []byte(src), 0o600)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"DefaultFailsOnErrorsOnly", nil, 0, "warning BG010"},
		{"FailOnWarning", []string{"--fail-on", "warning"}, 1, "warning BG010"},
		{"RuleDisabled", []string{"--fail-on", "warning", "--disable", "bg010"}, 0, "No findings"},
		{"JSON", []string{"--output", "json"}, 0, `"rule_id": "BG010"`},
		{"BadFailOn", []string{"--fail-on", "fatal"}, exitUsage, "--fail-on"},
		{"BadOutput", []string{"--output", "xml"}, exitUsage, "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runSplit(t, "", append([]string{"lint", "-f", file, "--data-dir", dir}, tt.args...)...)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.wantCode || !strings.Contains(out+stderr+errText(err), tt.want) {
				t.Fatalf("lint %v: exit %d (%v), want %d and %q in:\n%s%s", tt.args, code, err, tt.wantCode, tt.want, out, stderr)
			}
		})
	}
}

func TestMigrateCommands(t *testing.T) {
	tmp := t.TempDir()
	log, _, err := runSplit(t, "", "migrate", "sample", "--seed", "7", "--lines", "300")
	if err != nil || strings.Count(log, "\n") != 300 {
		t.Fatalf("migrate sample: %v (%d lines)", err, strings.Count(log, "\n"))
	}
	again, _, _ := runSplit(t, "", "migrate", "sample", "--seed", "7", "--lines", "300")
	if again != log {
		t.Fatal("migrate sample with one seed wrote two different logs")
	}
	logFile := filepath.Join(tmp, "api_json.log")
	os.WriteFile(logFile, []byte(log), 0o600)

	t.Run("Plan", func(t *testing.T) {
		out, report := filepath.Join(tmp, "proposed.yaml"), filepath.Join(tmp, "report.txt")
		stdout, stderr, err := runSplit(t, "", "migrate", "plan", "--log", logFile, "--format", "gitlab", "-o", out, "--report", report)
		if err != nil || stdout != "" || stderr != "" {
			t.Fatalf("migrate plan: %v\nstdout %q\nstderr %q", err, stdout, stderr)
		}
		m, err := manifest.ParseFile(out)
		if err != nil || len(m.Automations) < 5 {
			t.Fatalf("proposed manifest: %v (%d automations)", err, len(m.Automations))
		}
		rep, _ := os.ReadFile(report)
		for _, a := range m.Automations {
			if !strings.Contains(string(rep), a.Name) {
				t.Errorf("the report does not mention %s", a.Name)
			}
		}
		// The proposal plans and applies on a fresh instance.
		dir := initDir(t)
		if o, e2, err := runSplit(t, "", "apply", "-f", out, "--data-dir", dir); err != nil {
			t.Fatalf("applying the proposal: %v\n%s%s", err, o, e2)
		}
	})

	t.Run("StdinAndSummary", func(t *testing.T) {
		stdout, stderr, err := runSplit(t, log, "migrate", "plan", "--log", "-", "--owner", "gitlab-org")
		if err != nil || !strings.Contains(stdout, "version: 1") || !strings.Contains(stderr, "automation(s) proposed, owned by gitlab-org") ||
			!strings.Contains(stderr, "shared:") {
			t.Fatalf("migrate plan from stdin: %v\n%s\n%s", err, stdout, stderr)
		}
	})

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"WrongFormat", []string{"migrate", "plan", "--log", logFile, "--format", "botgate"}, "holds the other format"},
		{"UnknownFormat", []string{"migrate", "plan", "--log", logFile, "--format", "syslog"}, "--format must be"},
		{"NoLog", []string{"migrate", "plan"}, "--log FILE is required"},
		{"TooFewLines", []string{"migrate", "sample", "--lines", "10"}, "--lines must be at least"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runSplit(t, "", tt.args...)
			if exitCode(err) != exitUsage || !strings.Contains(errText(err), tt.want) {
				t.Fatalf("%v: exit %d, %v; want usage error %q", tt.args, exitCode(err), err, tt.want)
			}
		})
	}
}

// startDemo runs 'botgate serve --demo' and returns its base URL, all it
// wrote to stderr so far (a function), and a stop function.
func startDemo(t *testing.T, dir, tokenFile string) (string, func() string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var all syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--admin-token-file", tokenFile},
			func(string) string { return "" }, strings.NewReader(""), io.Discard, pw)
		pw.Close()
	}()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			all.Write(append(sc.Bytes(), '\n'))
			// The demo's output comes before the server listens.
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve --demo exited early: %v\n%s", err, all.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve --demo did not start within 60s:\n%s", all.String())
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return base, all.String, stop
}

func TestServeDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	base, stderr, stop := startDemo(t, dir, tokenFile)
	first := stderr()
	for _, want := range []string{"botgate demo: examples/automations.yaml applied", "danger-review", "security-mirror",
		"vault:gitlab-org/delivery/security-mirror.token", base + "/api/botgate/v1/lint"} {
		if !strings.Contains(first, want) {
			t.Errorf("demo output lacks %q:\n%s", want, first)
		}
	}
	admin, _ := os.ReadFile(tokenFile)
	danger := regexp.MustCompile(`danger-review\s+#\d+\s+(glpat-\S+)`).FindStringSubmatch(first)
	if danger == nil {
		t.Fatalf("the demo did not show danger-review's token:\n%s", first)
	}

	t.Run("LintEndpoint", func(t *testing.T) {
		tests := []struct {
			name   string
			token  string
			status int
		}{
			{"Admin", strings.TrimSpace(string(admin)), http.StatusOK},
			{"NoToken", "", http.StatusUnauthorized},
			{"AutomationToken", danger[1], http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", base+"/api/botgate/v1/lint?expiring_days=7", nil)
				if tt.token != "" {
					req.Header.Set("PRIVATE-TOKEN", tt.token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct {
					Counts   *map[string]int `json:"counts"`
					Findings []any           `json:"findings"`
				}
				json.NewDecoder(resp.Body).Decode(&body)
				if resp.StatusCode != tt.status || (tt.status == http.StatusOK && (body.Counts == nil || len(body.Findings) != 0)) {
					t.Fatalf("GET /lint: %d, counts %v, %d findings; want %d and a clean report", resp.StatusCode, body.Counts, len(body.Findings), tt.status)
				}
			})
		}
	})

	t.Run("RestartAppliesNothing", func(t *testing.T) {
		stop()
		_, stderr, _ := startDemo(t, dir, tokenFile)
		if out := stderr(); !strings.Contains(out, "applied on an earlier start already") || strings.Contains(out, "glpat-") {
			t.Fatalf("second demo start:\n%s", out)
		}
	})
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestGovernanceOnPostgres runs apply, plan and lint with --store against
// a PostgreSQL installation (set BOTGATE_TEST_POSTGRES_URL).
func TestGovernanceOnPostgres(t *testing.T) {
	store := pgtest.Schema(t, pgtest.URL(t, "the governance commands on PostgreSQL"))

	dir := filepath.Join(t.TempDir(), "data")
	_, stop := startServe(t, "--data-dir", dir, "--store", store, "--admin-token-file", filepath.Join(t.TempDir(), "admin.token"))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runSplit(t, "", "apply", "-f", exampleFile, "--data-dir", dir, "--store", store)
	if err != nil || !strings.Contains(out, "secret in vault:gitlab-org/delivery/security-mirror.token") {
		t.Fatalf("apply --store: %v\n%s\n%s", err, out, stderr)
	}
	out, _, err = runSplit(t, "", "plan", "-f", exampleFile, "--data-dir", dir, "--store", store)
	if err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("plan --store after apply: %v\n%s", err, out)
	}
	out, _, err = runSplit(t, "", "lint", "--data-dir", dir, "--store", store)
	if err != nil || !strings.Contains(out, "No findings") {
		t.Fatalf("lint --store: %v\n%s", err, out)
	}
}
