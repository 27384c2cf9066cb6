package migrate_test

import (
	"bytes"
	"fmt"

	"github.com/botgate/botgate/migrate"
)

// The sample log simulates seven automations sharing one bot; the planner
// tells them apart and proposes one least-privilege automation each.
func ExamplePlan() {
	var log bytes.Buffer
	if err := migrate.GenerateSampleLog(&log, 42, 2000); err != nil {
		panic(err)
	}
	reqs, err := migrate.Read(&log)
	if err != nil {
		panic(err)
	}
	p, err := migrate.Plan(reqs, migrate.Options{Owner: "gitlab-org"})
	if err != nil {
		panic(err)
	}
	for _, c := range p.Clients {
		target := c.Target
		if target == "" {
			target = fmt.Sprintf("%d projects", len(c.Projects))
		}
		fmt.Printf("%-25s %-16s %-25s %s\n", c.Name, c.Kind, target, c.Scopes)
	}
	// Output:
	// danger-js-merge-requests  group_token      gitlab-org                api
	// gitlab-ruby-gem-issues    project_token    gitlab-org/gitlab         api
	// gitlab-triage-issues      group_token      gitlab-org                api
	// go-http-client-releases   project_token    gitlab-org/gitlab-runner  api
	// go-http-client-git        group_token      gitlab-org                write_repository
	// python-gitlab-pipelines   service_account  4 projects                read_api
	// python-gitlab-issues      group_token      gitlab-org                api
}
