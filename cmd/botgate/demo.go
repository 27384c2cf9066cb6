package main

import (
	"fmt"
	"io"

	"github.com/botgate/botgate/governance"
)

// writeDemo tells a newcomer what the demo set up and how to look at it.
func writeDemo(w io.Writer, res *governance.ApplyResult, addr, dataDir string) {
	base := "http://" + addr
	fmt.Fprintf(w, "\nbotgate demo: %s applied (teams, projects, service accounts, one token per automation).\n", governance.ExampleManifestName)
	if len(res.Steps) == 0 {
		fmt.Fprintln(w, "It was applied on an earlier start already; the automations' tokens are in the vault.")
	} else {
		fmt.Fprintf(w, "%d steps applied. The automations' tokens (shown once; each is also kept in its team's vault):\n", len(res.Steps))
		for _, t := range res.Tokens {
			fmt.Fprintf(w, "  %-22s #%-3d %s  (%s)\n", t.Automation, t.TokenID, t.Secret, t.SecretRef)
		}
	}
	fmt.Fprintf(w, `
Explore it (ADMIN is the admin token printed when the data directory was initialised):
  export BOTGATE_URL=%[1]s BOTGATE_TOKEN=$ADMIN
  curl -s -H "PRIVATE-TOKEN: $ADMIN" %[1]s/api/v4/groups | jq '.[].full_path'
  curl -s -H "PRIVATE-TOKEN: $ADMIN" '%[1]s/api/v4/groups/gitlab-org/access_tokens' | jq '.[] | {id, name, scopes}'
  curl -s -H "PRIVATE-TOKEN: $ADMIN" %[1]s/api/botgate/v1/lint | jq '.counts'
  botgate lint --data-dir %[2]s      # the same report, as text
  botgate plan -f examples/automations.yaml --data-dir %[2]s   # no changes
  botgate secret get gitlab-org/engineering-productivity danger-review.token   # an automation's token, from its team's vault

Ask the gateway as an automation would (forward-auth, as nginx auth_request does):
  curl -si -H "PRIVATE-TOKEN: $DANGER_REVIEW_TOKEN" -H 'X-Original-Method: POST' \
    -H 'X-Original-URI: /api/v4/projects/gitlab-org%%2Fgitlab/merge_requests/1/notes' %[1]s/-/auth
`, base, dataDir)
}
