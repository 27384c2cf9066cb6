package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

func newGroupCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "group", "List, show and create groups (teams)", `group manages groups and subgroups. A group is a team: it owns projects,
service accounts and group access tokens.`)
	var f apiclient.NamespaceFilter
	list := namespaceListCmd(a, &f, (*apiclient.GitLab).Groups, "List the groups you can see, or a group's subgroups", `  botgate group list
  botgate group list --search team --all --output json
  botgate group list --parent team-a            # its subgroups`)
	list.Flags().StringVar(&f.Search, "search", "", "only groups whose name or path contains this")
	list.Flags().StringVar(&f.Within, "parent", "", "list this group's (`ID|PATH`) direct subgroups")
	create := namespaceCreateCmd(a, "group", (*apiclient.GitLab).CreateGroup, "Create a group, or a subgroup with --parent",
		`  botgate group create --name "Team A" --path team-a
  botgate group create --name Platform --parent team-a --description "platform tooling"`,
		"parent", "parent group `ID|PATH`: create a subgroup", "the group is for")
	cmd.AddCommand(list,
		namespaceShowCmd(a, "group", (*apiclient.GitLab).Group, `  botgate group show team
  botgate group show team/platform --output json
  botgate group show 3`),
		create,
		namespaceUpdateCmd(a, "group", (*apiclient.GitLab).UpdateGroup, `  botgate group update team-a --description "Team A: payments"
  botgate group update 3 --name "Team Alpha" --output json`),
		a.deleteCmd("delete ID|PATH", "Delete a group with its subgroups, projects and their tokens", `  botgate group delete team-a/old --yes`,
			"deleting a group deletes its subgroups and projects and revokes their access tokens", (*apiclient.GitLab).DeleteGroup),
	)
	a.refineAll(cmd)
	return cmd
}
