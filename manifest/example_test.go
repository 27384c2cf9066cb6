package manifest_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

const small = `version: 1
teams:
  - path: infra
projects:
  - path: deploy
    group: infra
automations:
  - name: deploy-notifier
    purpose: Posts deployment notes on merge requests.
    owner: infra
    projects: [infra/deploy]
    scopes: [api]
    access_level: reporter
    expires_in: 90d
`

// A typo in a key is an error with its position and a suggestion, never
// silently ignored.
func ExampleParse_typo() {
	_, err := manifest.ParseNamed("automations.yaml", strings.NewReader(strings.Replace(small, "scopes:", "scoeps:", 1)))
	fmt.Println(err)
	fmt.Println(botgate.KindOf(err))
	// Output:
	// automations.yaml:8:5: automations[0].scopes: scopes is missing
	// automations.yaml:12:5: automations[0].scoeps: unknown key "scoeps" in automations[0]: did you mean "scopes"? (unknown keys are rejected so that a typo cannot silently change access)
	// invalid
}

// Plan shows the drift: a scope widened by hand (the token is replaced,
// since scopes cannot be edited) and a token nobody declared.
func ExamplePlan() {
	m, err := manifest.Parse(strings.NewReader(small))
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	expires := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	live := manifest.State{
		Groups:      []manifest.LiveGroup{{ID: 1, FullPath: "infra"}},
		Projects:    []manifest.LiveProject{{ID: 2, FullPath: "infra/deploy"}},
		Automations: []manifest.LiveAutomation{{Name: "deploy-notifier", Owner: "infra", Purpose: "Posts deployment notes on merge requests.", Kind: manifest.KindProjectToken}},
		Tokens: []manifest.LiveToken{
			{ID: 7, Name: "deploy-notifier", Automation: "deploy-notifier", Kind: botgate.ProjectAccessToken,
				Resource: manifest.Ref{Type: botgate.ProjectResource, Path: "infra/deploy"}, Scopes: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeWriteRepository},
				AccessLevel: botgate.ReporterAccess, ExpiresAt: &expires, CreatedAt: now.AddDate(0, -1, 0)},
			{ID: 9, Name: "quick fix", Kind: botgate.ProjectAccessToken,
				Resource: manifest.Ref{Type: botgate.ProjectResource, Path: "infra/deploy"}, Scopes: botgate.Scopes{botgate.ScopeAPI},
				AccessLevel: botgate.MaintainerAccess, CreatedAt: now.AddDate(0, 0, -2)},
		},
	}
	fmt.Print(manifest.Plan(m, live, now).Text())
	// Output:
	// botgate will make these changes:
	//
	//   ~ token deploy-notifier #7: replace with project_access on project infra/deploy, scopes api, reporter, expires 2027-02-22
	//       # scopes changed; a token's scopes cannot be edited, so a new token is issued and the old one revoked
	//       scopes: api write_repository -> api
	//   - token quick fix #9 (project_access on project infra/deploy): revoke  [only with --prune]
	//       # drift: no automation declares this token (made by hand?)
	//
	// Plan: 0 to create, 1 to change, 1 to revoke.
}
