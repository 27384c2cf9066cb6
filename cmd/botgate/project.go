package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

func newProjectCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "project", "List, show and create projects")
	var f apiclient.NamespaceFilter
	list := namespaceListCmd(a, &f, (*apiclient.GitLab).Projects, "List the projects you can see, or a group's")
	list.Flags().StringVar(&f.Search, "search", "", "only projects whose name contains this")
	list.Flags().BoolVar(&f.Membership, "membership", false, "only projects you are a member of")
	list.Flags().StringVar(&f.Within, "group", "", "only this group's (`ID|PATH`) projects")
	cmd.AddCommand(list,
		namespaceShowCmd(a, "project", (*apiclient.GitLab).Project),
		namespaceCreateCmd(a, "project", (*apiclient.GitLab).CreateProject, "Create a project in a group",
			"namespace", "the group `ID|PATH` to create it in (required)", "the project is for"),
		namespaceUpdateCmd(a, "project", (*apiclient.GitLab).UpdateProject),
		a.deleteCmd("delete ID|PATH", "Delete a project and revoke its access tokens",
			"deleting a project revokes its access tokens and deactivates their bot users", (*apiclient.GitLab).DeleteProject),
	)
	a.RefineAll(cmd)
	return cmd
}
