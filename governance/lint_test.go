package governance_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
)

// findings returns the rule IDs of the report's findings about subject.
func findings(rep *lint.Report, subject string) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Subject.Name == subject {
			out = append(out, f.RuleID)
		}
	}
	return out
}

func TestSnapshotFromLiveState(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	sys := authority.SystemActor()
	// A service account on one project only (a project token would do) and
	// a team secret that six maintainers can read.
	e.apply(parse(t, `version: 1
teams: [{path: infra}]
projects: [{path: deploy, group: infra}, {path: web, group: infra}]
service_accounts: [{name: deploy-bot, owner: infra}]
automations:
  - name: deployer
    purpose: Deploys.
    owner: infra
    kind: service_account
    service_account: deploy-bot
    projects: [infra/deploy]
    scopes: [api]
    access_level: developer
    expires_in: 30d
`), governance.ApplyOptions{})
	var team *botgate.Group
	e.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		team, err = tx.GroupByPath(ctx, "infra")
		return err
	})
	for i := range 6 {
		u, err := e.auth.CreateUser(ctx, sys, authority.NewUser{Username: fmt.Sprintf("ops%d", i), Name: "Ops", Email: fmt.Sprintf("ops%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		level := botgate.MaintainerAccess
		if i == 5 {
			level = botgate.DeveloperAccess // cannot read
		}
		if _, err := e.auth.AddMember(ctx, sys, botgate.Resource{Type: botgate.GroupResource, ID: team.ID}, u.ID, level, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.vault.PutSecret(ctx, sys, authority.NewSecret{GroupID: team.ID, Name: "deploy-key", Value: []byte("k")}); err != nil {
		t.Fatal(err)
	}

	snap, err := e.gov.Snapshot(ctx, governance.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SecretReaders", func(t *testing.T) {
		i := slices.IndexFunc(snap.Secrets, func(s lint.Secret) bool { return s.Name == "deploy-key" })
		if i < 0 {
			t.Fatalf("secret missing from the snapshot: %+v", snap.Secrets)
		}
		got := slices.Sorted(slices.Values(snap.Secrets[i].Readers))
		want := []string{"ops0", "ops1", "ops2", "ops3", "ops4"}
		if !slices.Equal(got, want) || snap.Secrets[i].Owner != "infra" {
			t.Fatalf("readers of deploy-key = %v (owner %q), want %v (owner infra)", got, snap.Secrets[i].Owner, want)
		}
	})
	t.Run("ServiceAccountTargetsFromMemberships", func(t *testing.T) {
		i := slices.IndexFunc(snap.ServiceAccounts, func(s lint.ServiceAccount) bool { return s.Name == "deploy-bot" })
		if i < 0 || !slices.Equal(snap.ServiceAccounts[i].Projects, []string{"infra/deploy"}) || len(snap.ServiceAccounts[i].Groups) != 0 ||
			snap.ServiceAccounts[i].Owner != "infra" {
			t.Fatalf("service accounts = %+v; want deploy-bot owned by infra on infra/deploy only", snap.ServiceAccounts)
		}
	})
	t.Run("AutomationsFromRecords", func(t *testing.T) {
		i := slices.IndexFunc(snap.Automations, func(a lint.Automation) bool { return a.Name == "deployer" })
		if i < 0 || snap.Automations[i].Owner != "infra" || len(snap.Automations[i].TokenIDs) != 1 || snap.Automations[i].ExpiresInDays != 30 {
			t.Fatalf("automations = %+v", snap.Automations)
		}
	})
	t.Run("Rules", func(t *testing.T) {
		tests := []struct {
			name    string
			cfg     lint.Config
			subject string
			want    []string
		}{
			{"ServiceAccountOnOneProject", lint.Config{}, "deploy-bot", []string{"BG009"}},
			{"SecretWithinDefaultReaders", lint.Config{}, "deploy-key", nil},
			{"SecretReadableByTooMany", lint.Config{MaxSecretReaders: 4}, "deploy-key", []string{"BG011"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep, err := e.gov.Lint(ctx, governance.SnapshotOptions{}, tt.cfg)
				if err != nil {
					t.Fatal(err)
				}
				if got := findings(rep, tt.subject); !slices.Equal(got, tt.want) {
					t.Fatalf("findings about %s = %v, want %v", tt.subject, got, tt.want)
				}
			})
		}
	})
}
