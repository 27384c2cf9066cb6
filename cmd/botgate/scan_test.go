package main

import (
	"crypto/rand"
	"encoding/json"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/scan"
	"github.com/botgate/botgate/tokenfmt"
)

type scanJSON struct {
	Counts   scan.Counts `json:"counts"`
	Findings []struct {
		RuleID      string `json:"rule_id"`
		Path        string `json:"path"`
		Line        int    `json:"line"`
		Fingerprint string `json:"fingerprint"`
		Revocation  string `json:"revocation"`
	} `json:"findings"`
}

// TestScanRevokeEndToEnd leaks a real token of a running botgate into a
// directory, scans it with --revoke, and checks the token is revoked,
// reported per finding, and never shown.
func TestScanRevokeEndToEnd(t *testing.T) {
	srv := startServer(t)
	admin, err := gitlab.NewClient(srv.adminToken, gitlab.WithBaseURL(srv.url+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := admin.Users.CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	leaky, _, err := admin.Users.CreatePersonalAccessToken(me.ID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr("leaky"), Scopes: &[]string{"read_api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ghost, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{Org: 1})
	if err != nil {
		t.Fatal(err)
	}
	legacy := "glpat-" + "aB3dE5fG7hI9jK1lM3nO"
	lookalike := leaky.Token[:len(leaky.Token)-2] + "zz"
	secrets := []string{leaky.Token, ghost, legacy, srv.adminToken}

	dir := t.TempDir()
	for name, content := range map[string]string{
		"ci.env":          "TOKEN=" + leaky.Token + "\n",
		"deploy/vars.yml": "a: 1\nb: " + leaky.Token + "\nc: " + ghost + "\nd: " + legacy + "\ne: " + lookalike + "\n",
		"clean.txt":       "nothing to see\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": srv.adminToken})
	scanRun := func(t *testing.T, args ...string) (cliResult, scanJSON) {
		t.Helper()
		r := s.in(t).run(append([]string{"scan", "--output", "json"}, args...)...)
		var out scanJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%v", err, r)
		}
		return r, out
	}
	want := func(t *testing.T, out scanJSON, revocation map[string]string) {
		t.Helper()
		if len(out.Findings) != 4 || out.Counts.Tokens != 3 || out.Counts.Legacy != 1 {
			t.Fatalf("findings %+v, want 3 tokens and 1 legacy", out)
		}
		for _, f := range out.Findings {
			if w := revocation[f.Fingerprint]; f.Revocation != w {
				t.Errorf("%s:%d (%s): revocation %q, want %q", f.Path, f.Line, f.Fingerprint, f.Revocation, w)
			}
		}
	}

	t.Run("revokes", func(t *testing.T) {
		r, out := scanRun(t, "--revoke", dir)
		if r.code() != 1 {
			t.Errorf("exit %d, want 1 (tokens found):\n%v", r.code(), r)
		}
		want(t, out, map[string]string{
			scan.Fingerprint(leaky.Token): "revoked",
			scan.Fingerprint(ghost):       "unknown to this instance",
			scan.Fingerprint(legacy):      "not sent (legacy format)",
		})
		_, resp, err := (func() (*gitlab.User, *gitlab.Response, error) {
			c, _ := gitlab.NewClient(leaky.Token, gitlab.WithBaseURL(srv.url+"/api/v4"))
			return c.Users.CurrentUser()
		})()
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("the leaked token still works (%v)", err)
		}
	})
	t.Run("again: already inactive", func(t *testing.T) {
		_, out := scanRun(t, "--revoke", dir)
		want(t, out, map[string]string{
			scan.Fingerprint(leaky.Token): "already inactive",
			scan.Fingerprint(ghost):       "unknown to this instance",
			scan.Fingerprint(legacy):      "not sent (legacy format)",
		})
	})
	t.Run("without credentials the scan is shown and the command fails", func(t *testing.T) {
		bare := newSession(t, map[string]string{"BOTGATE_URL": srv.url})
		r := bare.run("scan", "--revoke", dir)
		if r.code() != exitAuth {
			t.Errorf("exit %d, want %d:\n%v", r.code(), exitAuth, r)
		}
		if !strings.Contains(r.stdout, "not revoked") || !strings.Contains(r.stdout, scan.Redact(ghost, "glpat-")) {
			t.Errorf("output:\n%s", r.stdout)
		}
		*s.seen = append(*s.seen, r)
	})
	t.Run("stdin", func(t *testing.T) {
		r := s.in(t).runIn("log line "+ghost+"\n", "scan", "--stdin")
		if r.code() != 1 || !strings.Contains(r.stdout, "-:1:10: error BGL001 leaked-token") {
			t.Errorf("stdin scan:\n%v", r)
		}
	})
	t.Run("sarif", func(t *testing.T) {
		r := s.in(t).run("scan", "--output", "sarif", dir)
		if r.code() != 1 || !strings.Contains(r.stdout, `"name": "botgate-scan"`) {
			t.Errorf("sarif scan:\n%v", r)
		}
	})
	t.Run("nothing found exits 0", func(t *testing.T) {
		r := s.in(t).run("scan", filepath.Join(dir, "clean.txt"))
		if r.code() != 0 || !strings.Contains(r.stdout, "No tokens found") {
			t.Errorf("clean scan:\n%v", r)
		}
	})
	t.Run("failures never exit 1", func(t *testing.T) {
		s.in(t).fail(exitUsage, []string{"--output"}, "scan", "--output", "xml", dir)
		s.in(t).fail(exitUsage, []string{"not a git repository"}, "scan", "--git", dir)
		s.in(t).fail(exitNotFound, []string{"cannot scan", "no such file"}, "scan", filepath.Join(dir, "nope"))
	})
	t.Run("no secret in any output or the server log", func(t *testing.T) {
		if len(*s.seen) < 6 {
			t.Fatalf("only %d commands seen", len(*s.seen))
		}
		logs := srv.log.String()
		for i, sec := range secrets {
			for _, r := range *s.seen {
				if strings.Contains(r.all(), sec) {
					t.Errorf("secret #%d appears in the output of %v", i+1, r.args)
				}
			}
			if strings.Contains(logs, sec) {
				t.Errorf("secret #%d appears in the server log", i+1)
			}
		}
	})
}

// TestScanGolden pins the text and JSON output of a scan of a small tree
// with deterministic tokens.
func TestScanGolden(t *testing.T) {
	seed := func(b byte) *mathrand.ChaCha8 {
		var s [32]byte
		s[0] = b
		return mathrand.NewChaCha8(s)
	}
	tok, err := tokenfmt.Generate(seed(1), tokenfmt.DefaultPrefix, tokenfmt.Routing{Org: 1, User: 42})
	if err != nil {
		t.Fatal(err)
	}
	custom, err := tokenfmt.Generate(seed(2), "acme-glpat-", tokenfmt.Routing{Org: 1, User: 7})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"app/config.yml":  "url: https://gitlab.example.com\ntoken: " + tok + "\n",
		"app/other.env":   "LEGACY=glpat-aB3dE5fG7hI9jK1lM3nO\nCUSTOM=" + custom + "\n",
		"docs/example.md": "Tokens look like `" + tok[:len(tok)-1] + "0` (not a real one).\n",
		"vendor/x.txt":    tok + "\n",
		"logo.png":        "\x89PNG\x00" + tok,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newSession(t, nil)
	for _, tc := range []struct{ name, output string }{{"scan.txt", "text"}, {"scan.json", "json"}} {
		t.Run(tc.output, func(t *testing.T) {
			r := s.in(t).run("scan", "--prefix", "acme-glpat-", "--ignore", "vendor/", "--output", tc.output, dir)
			if r.code() != 1 {
				t.Fatalf("exit %d, want 1:\n%v", r.code(), r)
			}
			for _, sec := range []string{tok, custom, "glpat-aB3dE5fG7hI9jK1lM3nO"} {
				if strings.Contains(r.all(), sec) {
					t.Fatalf("output shows a secret:\n%s", r.all())
				}
			}
			golden(t, tc.name, r.stdout)
		})
	}
}
