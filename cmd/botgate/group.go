package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

func newGroupCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "group", "List, show and create groups (teams)")
	var f apiclient.NamespaceFilter
	list := namespaceListCmd(a, &f, (*apiclient.GitLab).Groups, "List the groups you can see, or a group's subgroups")
	list.Flags().StringVar(&f.Search, "search", "", "only groups whose name or path contains this")
	list.Flags().StringVar(&f.Within, "parent", "", "list this group's (`ID|PATH`) direct subgroups")
	create := namespaceCreateCmd(a, "group", (*apiclient.GitLab).CreateGroup, "Create a group, or a subgroup with --parent",
		"parent", "parent group `ID|PATH`: create a subgroup", "the group is for")
	cmd.AddCommand(list,
		namespaceShowCmd(a, "group", (*apiclient.GitLab).Group),
		create,
		namespaceUpdateCmd(a, "group", (*apiclient.GitLab).UpdateGroup),
		a.deleteCmd("delete ID|PATH", "Delete a group with its subgroups, projects and their tokens",
			"deleting a group deletes its subgroups and projects and revokes their access tokens", (*apiclient.GitLab).DeleteGroup),
	)
	a.RefineAll(cmd)
	return cmd
}
