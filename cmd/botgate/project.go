package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

func newProjectCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "project", "List, show and create projects", `project manages projects. Give each automation working on a project its own
project access token: 'botgate token create --project PATH ...'.`)
	var f apiclient.NamespaceFilter
	list := namespaceListCmd(a, &f, (*apiclient.GitLab).Projects, "List the projects you can see, or a group's", `  botgate project list
  botgate project list --search app --all --output json
  botgate project list --group team-a`)
	list.Flags().StringVar(&f.Search, "search", "", "only projects whose name contains this")
	list.Flags().BoolVar(&f.Membership, "membership", false, "only projects you are a member of")
	list.Flags().StringVar(&f.Within, "group", "", "only this group's (`ID|PATH`) projects")
	cmd.AddCommand(list,
		namespaceShowCmd(a, "project", (*apiclient.GitLab).Project, `  botgate project show team-a/app
  botgate project show 12 --output json`),
		namespaceCreateCmd(a, "project", (*apiclient.GitLab).CreateProject, "Create a project in a group",
			`  botgate project create --namespace team-a --name app
  botgate project create --namespace team-a/platform --name "Release tools" --path release-tools`,
			"namespace", "the group `ID|PATH` to create it in (required)", "the project is for"),
		namespaceUpdateCmd(a, "project", (*apiclient.GitLab).UpdateProject, `  botgate project update team-a/app --description "the payments API"
  botgate project update 12 --name "App" --output json`),
		a.deleteCmd("delete ID|PATH", "Delete a project and revoke its access tokens", `  botgate project delete team-a/old-app --yes`,
			"deleting a project revokes its access tokens and deactivates their bot users", (*apiclient.GitLab).DeleteProject),
	)
	a.refineAll(cmd)
	return cmd
}
