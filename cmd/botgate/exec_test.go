package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/botgate/botgate/internal/identitytest"
)

// TestExecCommand runs botgate exec against a botgate trusting a test OIDC
// issuer: the command's exit status comes through, a refused exchange
// exits 4 with the reason, and a missing --automation is a usage error.
func TestExecCommand(t *testing.T) {
	e := identitytest.Start(t)
	refused := e.GitLabJob("cli-2")
	refused["ref"] = "feature/x"
	tests := []struct {
		name    string
		args    []string
		idToken string
		code    int
		stderr  string
	}{
		{"status passed through", []string{"exec", "--url", e.API, "--automation", "triage", "--", "sh", "-c", `test -n "$GITLAB_TOKEN" && exit 3`},
			e.GitLab.Sign(t, e.GitLabJob("cli-1")), 3, "revoked token #"},
		{"refused", []string{"exec", "--url", e.API, "--automation", "triage", "--", "true"},
			e.GitLab.Sign(t, refused), exitAuth, `claim ref is "feature/x", the policy requires "main"`},
		{"no automation", []string{"exec", "--url", e.API, "--", "true"}, "x", exitUsage, "--automation is required"},
		{"command not after --", []string{"exec", "--url", e.API, "--automation", "triage", "true"}, "x", exitUsage, "after --"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string {
				if k == "BOTGATE_ID_TOKEN" {
					return tt.idToken
				}
				return ""
			}
			err := run(t.Context(), tt.args, getenv, strings.NewReader(""), &stdout, &stderr)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d\nstderr: %s", got, err, tt.code, stderr.String())
			}
			all := stderr.String()
			if err != nil {
				all += err.Error()
			}
			if !strings.Contains(all, tt.stderr) {
				t.Errorf("output %q does not say %q", all, tt.stderr)
			}
		})
	}
}
