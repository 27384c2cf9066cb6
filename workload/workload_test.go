package workload_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/identitytest"
	"github.com/botgate/botgate/workload"
)

// script is a command that calls the gateway with $GITLAB_TOKEN, writes
// the status and what it saw of its environment to out, and exits 7.
func script(t *testing.T, e *identitytest.Env, out string) []string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the command under test calls the gateway with it")
	}
	return []string{"sh", "-c", `code=$(curl -s -o /dev/null -w '%{http_code}' -H "Private-Token: $GITLAB_TOKEN" ` + e.Proxy + `/api/v4/projects/1)
same=no; [ "$GITLAB_TOKEN" = "$BOTGATE_TOKEN" ] && same=yes
printf '%s %s id=%s token=%s\n' "$code" "$same" "${BOTGATE_ID_TOKEN:-unset}" "$GITLAB_TOKEN" > ` + out + `
exit 7`}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// check runs the command as "triage" with the environment env and checks
// that the command reached the gateway with the token, saw no identity
// token, had its exit status passed through, and that the token was
// revoked when it ended.
func check(t *testing.T, e *identitytest.Env, env map[string]string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	environ := []string{"PATH=" + os.Getenv("PATH"), "BOTGATE_ID_TOKEN=" + env["BOTGATE_ID_TOKEN"], "GITLAB_TOKEN=stale"}
	code, err := workload.Run(t.Context(), workload.Config{URL: e.API, Automation: "triage", Command: script(t, e, out),
		Getenv: getenv(env), Environ: environ, Stdout: &log, Stderr: &log, Log: &log})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if code != 7 {
		t.Errorf("exit status %d, want the command's 7", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the command did not run: %v\n%s", err, log.String())
	}
	f := strings.Fields(string(b))
	if len(f) != 4 || f[0] != "200" || f[1] != "yes" || f[2] != "id=unset" {
		t.Fatalf("the command saw %q, want a 200 from the gateway, GITLAB_TOKEN = BOTGATE_TOKEN and no identity token", b)
	}
	tok := strings.TrimPrefix(f[3], "token=")
	if strings.Contains(log.String(), tok) {
		t.Error("botgate's log lines hold the token")
	}
	if !strings.Contains(log.String(), "revoked token #") {
		t.Errorf("log does not report the revocation:\n%s", log.String())
	}
	req, _ := http.NewRequest(http.MethodGet, e.Proxy+"/api/v4/projects/1", nil)
	req.Header.Set("Private-Token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the token after the command ended: %d, want 401 (revoked)", resp.StatusCode)
	}
}

func TestRunGitLabCI(t *testing.T) {
	e := identitytest.Start(t)
	check(t, e, map[string]string{"BOTGATE_ID_TOKEN": e.GitLab.Sign(t, e.GitLabJob("ci-1"))})
}

func TestRunKubernetesTokenFile(t *testing.T) {
	e := identitytest.Start(t)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(e.K8s.Sign(t, e.Pod("pod-9"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, e, map[string]string{"BOTGATE_ID_TOKEN_FILE": path})
}

// TestRunGitHubActions: the identity token is requested from the Actions
// token service with its bearer token and the audience.
func TestRunGitHubActions(t *testing.T) {
	e := identitytest.Start(t)
	signed := e.GitLab.Sign(t, e.GitLabJob("gha-1"))
	var gotAudience string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer request-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		gotAudience = r.URL.Query().Get("audience")
		json.NewEncoder(w).Encode(map[string]string{"value": signed})
	}))
	defer svc.Close()
	check(t, e, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": svc.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"})
	if gotAudience != e.API {
		t.Errorf("audience asked of GitHub = %q, want the botgate URL %q", gotAudience, e.API)
	}
}

func TestRunRefused(t *testing.T) {
	e := identitytest.Start(t)
	claims := e.GitLabJob("ci-2")
	claims["ref_protected"] = "false"
	out := filepath.Join(t.TempDir(), "ran")
	_, err := workload.Run(t.Context(), workload.Config{URL: e.API, Automation: "triage", Command: []string{"touch", out},
		Getenv: getenv(map[string]string{"BOTGATE_ID_TOKEN": e.GitLab.Sign(t, claims)})})
	if !botgate.IsKind(err, botgate.KindUnauthenticated) || !strings.Contains(err.Error(), `claim ref_protected is "false", the policy requires "true"`) {
		t.Fatalf("Run = %v, want KindUnauthenticated naming ref_protected", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the command ran although the exchange was refused")
	}

	_, err = workload.Run(t.Context(), workload.Config{URL: e.API, Automation: "triage", Command: []string{"true"}, Getenv: getenv(nil)})
	if !botgate.IsKind(err, botgate.KindUnauthenticated) || !strings.Contains(err.Error(), "BOTGATE_ID_TOKEN") {
		t.Fatalf("Run without an identity token = %v, want a message naming BOTGATE_ID_TOKEN", err)
	}
}

func TestRunSignalStatus(t *testing.T) {
	e := identitytest.Start(t)
	code, err := workload.Run(t.Context(), workload.Config{URL: e.API, Automation: "triage",
		Command: []string{"sh", "-c", "kill -TERM $$"}, Environ: []string{"PATH=" + os.Getenv("PATH")},
		Getenv: getenv(map[string]string{"BOTGATE_ID_TOKEN": e.GitLab.Sign(t, e.GitLabJob("ci-3"))})})
	if err != nil || code != 128+15 {
		t.Fatalf("Run = %d, %v; want 143 (128+SIGTERM)", code, err)
	}
}

// TestRunUpstreamToken: with Upstream, the command gets a real upstream
// token (a second botgate standing in for GitLab) in GITLAB_TOKEN with
// GITLAB_URL, calls the upstream directly, and the token is revoked there
// when the command ends.
func TestRunUpstreamToken(t *testing.T) {
	e := identitytest.Start(t)
	up := e.StartUpstream(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the command under test calls the upstream with it")
	}
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	code, err := workload.Run(t.Context(), workload.Config{URL: e.API, Automation: "triage", Upstream: true,
		Command: []string{"sh", "-c", `code=$(curl -s -o /dev/null -w '%{http_code}' -H "Private-Token: $GITLAB_TOKEN" "$GITLAB_URL/api/v4/personal_access_tokens/self")
printf '%s %s %s\n' "$code" "${BOTGATE_TOKEN:-unset}" "$GITLAB_TOKEN" > ` + out},
		Getenv:  getenv(map[string]string{"BOTGATE_ID_TOKEN": e.GitLab.Sign(t, e.GitLabJob("up-exec"))}),
		Environ: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &log, Stderr: &log, Log: &log})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 3 || f[0] != "200" || f[1] != "unset" {
		t.Fatalf("the command saw %q, want a 200 from the upstream and no BOTGATE_TOKEN", b)
	}
	if up.Works(t, f[2]) {
		t.Errorf("the upstream token still works after the command ended\n%s", log.String())
	}
	if !strings.Contains(log.String(), "revoked an upstream token of "+up.URL) {
		t.Errorf("log does not report the revocation:\n%s", log.String())
	}
}
