package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/datadir"
)

// The manifests of the governance-as-a-service tests: two teams under one
// parent, each with a project and an automation; beta's runs as a service
// account.
const govBase = `version: 1
teams:
  - path: org
  - path: alpha
    parent: org
  - path: beta
    parent: org
projects:
  - path: app
    group: org/alpha
  - path: web
    group: org/beta
service_accounts:
  - name: beta-bot
    owner: org/beta
automations:
  - name: alpha-triage
    purpose: Triage of org/alpha/app.
    owner: org/alpha
    projects: [org/alpha/app]
    scopes: [read_api]
    access_level: reporter
    expires_in: 30d
  - name: beta-sync
    purpose: Sync of org/beta/web.
    owner: org/beta
    kind: service_account
    service_account: beta-bot
    projects: [org/beta/web]
    scopes: [read_api]
    access_level: reporter
    expires_in: 30d
`

// govAlpha is alpha's part alone, with alpha's automation changed and one
// more declared.
const govAlpha = `version: 1
teams:
  - path: org
  - path: alpha
    parent: org
projects:
  - path: app
    group: org/alpha
automations:
  - name: alpha-triage
    purpose: Triage of org/alpha/app.
    owner: org/alpha
    projects: [org/alpha/app]
    scopes: [api]
    access_level: reporter
    expires_in: 30d
  - name: alpha-release
    purpose: Releases of org/alpha/app.
    owner: org/alpha
    projects: [org/alpha/app]
    scopes: [api, write_repository]
    access_level: developer
    expires_in: 30d
`

// apiCall sends a JSON request with token and decodes the answer.
func apiCall(t *testing.T, method, u, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, raw)
		}
	}
	return resp.StatusCode
}

// teamToken creates a group access token of group with scopes and level,
// as the admin, and returns its secret and its bot's username.
func teamToken(t *testing.T, srv *testServer, group string, scopes []string, level int) (string, string) {
	t.Helper()
	var tok struct {
		Token  string `json:"token"`
		UserID int64  `json:"user_id"`
	}
	u := srv.url + "/api/v4/groups/" + url.PathEscape(group) + "/access_tokens"
	exp := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	if code := apiCall(t, "POST", u, srv.adminToken, map[string]any{"name": "ci", "scopes": scopes, "access_level": level, "expires_at": exp}, &tok); code != 201 {
		t.Fatalf("creating the team token: HTTP %d", code)
	}
	var bot struct {
		Username string `json:"username"`
	}
	if code := apiCall(t, "GET", srv.url+"/api/v4/user", tok.Token, nil, &bot); code != 403 {
		t.Errorf("a manage_automations token reads /api/v4/user: HTTP %d, want 403 (it grants no general API access)", code)
	}
	if code := apiCall(t, "GET", fmt.Sprintf("%s/api/v4/users/%d", srv.url, tok.UserID), srv.adminToken, nil, &bot); code != 200 {
		t.Fatalf("reading the team bot: HTTP %d", code)
	}
	return tok.Token, bot.Username
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// activeTokens lists the names of the active tokens of automation a.
func activeTokens(t *testing.T, srv *testServer, project string) []string {
	t.Helper()
	var ts []struct {
		Name   string `json:"name"`
		Active bool   `json:"active"`
	}
	apiCall(t, "GET", srv.url+"/api/v4/projects/"+url.PathEscape(project)+"/access_tokens", srv.adminToken, nil, &ts)
	var out []string
	for _, x := range ts {
		if x.Active {
			out = append(out, x.Name)
		}
	}
	return out
}

// TestGovernanceOverAPI applies manifests through a real server (SQLite)
// with the CLI: an administrator bootstraps two teams, then team alpha's
// CI token (a group access token with manage_automations alone) plans and
// applies alpha's part, is refused beta's with the reason, and every
// escalation through a manifest is refused.
func TestGovernanceOverAPI(t *testing.T) {
	srv := startServer(t)
	dir := t.TempDir()
	base := writeFile(t, dir, "base.yaml", govBase)
	admin := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": srv.adminToken})
	admin.ok("apply", "-f", base)
	if r := admin.run("plan", "-f", base, "--exit-code"); r.code() != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the bootstrapped manifest still plans changes:\n%v", r)
	}

	alphaTok, alphaBot := teamToken(t, srv, "org/alpha", []string{"manage_automations"}, 40)
	team := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": alphaTok})

	t.Run("team token plans and applies its team's part", func(t *testing.T) {
		s := team.in(t)
		alpha := writeFile(t, dir, "alpha.yaml", govAlpha)
		r := s.run("plan", "-f", alpha, "--exit-code")
		if r.code() != exitChanges {
			t.Fatalf("plan with changes: exit %d, want %d:\n%v", r.code(), exitChanges, r)
		}
		for _, want := range []string{"+ automation alpha-release (owner org/alpha)", "+ token alpha-release", "~ token alpha-triage", "Plan: "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("plan lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.all(), "beta") {
			t.Errorf("alpha's plan tells about beta's objects:\n%s", r.all())
		}
		r = s.ok("apply", "-f", alpha, "--output", "json")
		var out struct {
			Steps  int `json:"steps_applied"`
			Tokens []struct {
				Automation string `json:"automation"`
				SecretRef  string `json:"secret_ref"`
				Secret     string `json:"secret"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("apply --output json: %v\n%s", err, r.stdout)
		}
		if out.Steps == 0 || len(out.Tokens) != 2 {
			t.Fatalf("apply: %d steps, %d tokens, want some and 2:\n%s", out.Steps, len(out.Tokens), r.stdout)
		}
		for _, tk := range out.Tokens {
			if tk.Secret != "" || !strings.HasPrefix(tk.SecretRef, "vault:org/alpha/") {
				t.Errorf("token of %s: secret %q, ref %q; want no secret and a ref into org/alpha's vault", tk.Automation, tk.Secret, tk.SecretRef)
			}
		}
		if strings.Contains(r.stdout, "glpat-") {
			t.Errorf("apply printed a secret:\n%s", r.stdout)
		}
		if r := s.run("plan", "-f", alpha, "--exit-code"); r.code() != 0 {
			t.Errorf("plan after apply: exit %d, want 0:\n%v", r.code(), r)
		}
	})

	t.Run("team token is refused the other team's part, with the reason", func(t *testing.T) {
		s := team.in(t)
		both := strings.Replace(govBase, "    scopes: [read_api]\n    access_level: reporter\n    expires_in: 30d\n", "    scopes: [api]\n    access_level: reporter\n    expires_in: 30d\n", -1)
		f := writeFile(t, dir, "both.yaml", both)
		r := s.run("plan", "-f", f)
		if r.code() != exitAuth {
			t.Fatalf("plan touching beta: exit %d, want %d:\n%v", r.code(), exitAuth, r)
		}
		for _, want := range []string{"Refused:", "automation beta-sync belongs to team org/beta, where you are not a member"} {
			if !strings.Contains(r.all(), want) {
				t.Errorf("plan lacks %q:\n%s", want, r.all())
			}
		}
		s.fail(exitAuth, []string{"nothing was applied", "org/beta"}, "apply", "-f", f)
		// Nothing of the plan ran, alpha's part included.
		if r := s.run("plan", "-f", writeFile(t, dir, "alpha2.yaml", govAlpha), "--exit-code"); r.code() != 0 {
			t.Errorf("a refused apply changed alpha's part:\n%v", r)
		}
	})

	t.Run("escalations through a manifest are refused", func(t *testing.T) {
		s := team.in(t)
		cases := []struct {
			name, manifest, want string
		}{
			{"a scope above its own", strings.Replace(govAlpha, "scopes: [api, write_repository]", "scopes: [api, manage_automations]", 1),
				"cannot give the manage_automations scope"},
			{"an access level above its own", strings.Replace(govAlpha, "access_level: developer", "access_level: owner", 1),
				"above your own"},
			{"itself as Owner of the parent group", strings.Replace(govAlpha, "  - path: org\n", "  - path: org\n    members:\n      - user: "+alphaBot+"\n        access_level: owner\n", 1),
				"belongs to team org, where you are not a member"},
		}
		for _, c := range cases {
			r := s.fail(exitAuth, []string{c.want}, "apply", "-f", writeFile(t, dir, "esc.yaml", c.manifest))
			if t.Failed() {
				t.Logf("%s:\n%v", c.name, r)
			}
		}
		// Pruning with alpha's part alone leaves beta's service account
		// token alone: prune is limited to the team.
		f := writeFile(t, dir, "alpha3.yaml", govAlpha)
		r := s.ok("apply", "-f", f, "--prune", "--output", "json")
		var out struct {
			Outside []json.RawMessage `json:"outside_scope"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Outside) == 0 {
			t.Errorf("apply --prune: want prune steps left out as outside the team (%v):\n%s", err, r.stdout)
		}
		var sats []struct {
			Name   string `json:"name"`
			Active bool   `json:"active"`
		}
		var users []struct {
			ID int64 `json:"id"`
		}
		apiCall(t, "GET", srv.url+"/api/v4/users?username=beta-bot", srv.adminToken, nil, &users)
		if len(users) != 1 {
			t.Fatalf("beta-bot: %d users", len(users))
		}
		apiCall(t, "GET", fmt.Sprintf("%s/api/v4/groups/%s/service_accounts/%d/personal_access_tokens", srv.url, url.PathEscape("org/beta"), users[0].ID), srv.adminToken, nil, &sats)
		active := 0
		for _, x := range sats {
			if x.Active {
				active++
			}
		}
		if active != 1 {
			t.Errorf("beta-bot has %d active tokens after alpha's prune, want 1: %+v", active, sats)
		}
		// The secrets stay in the vault: a bot may not have them revealed.
		s.fail(exitAuth, []string{"reveal_secrets"}, "apply", "-f", writeFile(t, dir, "alpha4.yaml", strings.Replace(govAlpha, "expires_in: 30d", "expires_in: 20d", 1)), "--show-secrets")
	})

	t.Run("the built CLI applies with only BOTGATE_URL and a token", func(t *testing.T) {
		bin := buildCLI(t)
		work := t.TempDir()
		writeFile(t, work, "automations.yaml", strings.Replace(govAlpha, "expires_in: 30d", "expires_in: 60d", -1))
		env := []string{"BOTGATE_URL=" + srv.url, "BOTGATE_TOKEN=" + alphaTok, "HOME=" + work}
		code, stdout, stderr := runBinary(t, bin, work, env, "plan", "-f", "automations.yaml", "--exit-code")
		if code != exitChanges || !strings.Contains(stdout, "~ automation alpha-triage") || !strings.Contains(stdout, "expires_in: 30d -> 60d") {
			t.Fatalf("plan: exit %d, want %d\n%s%s", code, exitChanges, stdout, stderr)
		}
		if code, stdout, stderr = runBinary(t, bin, work, env, "apply", "-f", "automations.yaml"); code != 0 || !strings.Contains(stdout, "Applied") {
			t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
		}
		if code, stdout, stderr = runBinary(t, bin, work, env, "plan", "-f", "automations.yaml", "--exit-code"); code != 0 {
			t.Fatalf("plan after apply: exit %d\n%s%s", code, stdout, stderr)
		}
		entries, _ := os.ReadDir(work)
		for _, e := range entries {
			if e.Name() != "automations.yaml" {
				t.Errorf("the CLI left %s in its working directory", e.Name())
			}
		}
		if n := len(activeTokens(t, srv, "org/alpha/app")); n != 2 {
			t.Errorf("org/alpha/app has %d active tokens, want 2", n)
		}
	})
}

// buildCLI builds botgate into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "botgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs the built CLI in dir with exactly env.
func runBinary(t *testing.T, bin, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("running %s: %v", bin, err)
	return 0, "", ""
}

// TestOfflineNeverCreatesDatabase: plan, apply and lint on a data
// directory without its database refuse, naming the file and the fixes,
// and create nothing.
func TestOfflineNeverCreatesDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := (datadir.Dir{Path: dir}).Create(rand.Reader); err != nil {
		t.Fatal(err)
	}
	f := writeFile(t, t.TempDir(), "m.yaml", govBase)
	s := newSession(t, nil)
	db := (datadir.Dir{Path: dir}).DatabasePath()
	for _, args := range [][]string{
		{"apply", "-f", f, "--data-dir", dir},
		{"plan", "-f", f, "--data-dir", dir},
		{"lint", "--data-dir", dir},
	} {
		s.fail(exitFailure, []string{db, "does not exist", "--store", "botgate init"}, args...)
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("%v created %s", args, db)
		}
	}
	// Naming a server and a data directory at once is a usage error.
	s2 := newSession(t, map[string]string{"BOTGATE_URL": "http://127.0.0.1:1", "BOTGATE_TOKEN": "x"})
	s2.fail(exitUsage, []string{"use one"}, "plan", "-f", f, "--data-dir", dir)
}
