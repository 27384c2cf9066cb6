package lint_test

import (
	"fmt"
	"os"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
)

// A shared token used by two tools, with more scope than its calls needed.
func ExampleRun() {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	snap := &lint.Snapshot{At: now, Tokens: []lint.Token{{
		ID: 12, Name: "ci-bot", Automation: "ci-bot", Kind: botgate.GroupAccessToken, Scopes: botgate.Scopes{botgate.ScopeAPI},
		CreatedAt: now.AddDate(0, -2, 0), LastUsedAt: &now,
		Usage: &lint.Usage{Since: now.AddDate(0, 0, -30), Until: now,
			Clients: []lint.Client{{UserAgent: "python-gitlab/4.4.0", IP: "10.0.0.5", Calls: 900}, {UserAgent: "curl/8.5.0", IP: "10.0.0.9", Calls: 12}},
			Routes:  []lint.RouteUse{{Method: "GET", Route: "/projects/:id/pipelines", Needed: botgate.ScopeReadAPI, Calls: 912}}},
	}}}
	rep := lint.Run(snap, lint.Config{})
	_ = rep.WriteText(os.Stdout)
	fmt.Println("exit code:", lint.ExitCode(rep, lint.SeverityWarning))
	// Output:
	// token/12: error BG001 token-reuse: token #12 (ci-bot) is used by 2 different clients (curl, python-gitlab): give each client its own automation and token (`botgate migrate plan` can propose them), then revoke this one
	// token/12: warning BG004 excess-scopes: token #12 (ci-bot) holds scopes api but its 912 calls over 30 days only needed read_api: set `scopes: [read_api]`
	// 2 findings: 1 error, 1 warning, 0 notes.
	// exit code: 1
}
