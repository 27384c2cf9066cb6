package main

import (
	"fmt"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// deleteSpec describes one delete command.
type deleteSpec struct {
	use, short, long, example string
	// warn says what is lost, for the --yes refusal.
	warn string
	// target registers extra flags; may be nil.
	target func(cmd *cobra.Command)
	// del performs the call; it returns what was deleted, for the output.
	del func(cmd *cobra.Command, c *gitlab.Client, ref string) (what string, resp *gitlab.Response, err error)
}

// newDeleteCmd builds a delete command that refuses to run without --yes.
func (a *apiCmd) newDeleteCmd(d deleteSpec) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use: d.use, Short: d.short, Long: d.long, Example: d.example,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if !yes {
				return usageErr("%s; add --yes to go ahead", d.warn)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			what, resp, err := d.del(cmd, c, args[0])
			if err != nil {
				return apiErr(err, resp, what)
			}
			if asJSON {
				return writeJSON(a.e.stdout, map[string]any{"deleted": args[0]})
			}
			_, err = fmt.Fprintf(a.e.stdout, "Deleted %s.\n", what)
			return err
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	if d.target != nil {
		d.target(cmd)
	}
	return a.withOutput(cmd)
}

func (a *apiCmd) groupDeleteCmd() *cobra.Command {
	return a.newDeleteCmd(deleteSpec{
		use: "delete ID|PATH", short: "Delete a group with its subgroups, projects and their tokens",
		example: `  botgate group delete team-a/old --yes`,
		warn:    "deleting a group deletes its subgroups and projects and revokes their access tokens",
		del: func(cmd *cobra.Command, c *gitlab.Client, ref string) (string, *gitlab.Response, error) {
			resp, err := c.Groups.DeleteGroup(idOrPath(ref), nil, gitlab.WithContext(cmd.Context()))
			return describe("group", ref), resp, err
		},
	})
}

func (a *apiCmd) projectDeleteCmd() *cobra.Command {
	return a.newDeleteCmd(deleteSpec{
		use: "delete ID|PATH", short: "Delete a project and revoke its access tokens",
		example: `  botgate project delete team-a/old-app --yes`,
		warn:    "deleting a project revokes its access tokens and deactivates their bot users",
		del: func(cmd *cobra.Command, c *gitlab.Client, ref string) (string, *gitlab.Response, error) {
			resp, err := c.Projects.DeleteProject(idOrPath(ref), nil, gitlab.WithContext(cmd.Context()))
			return describe("project", ref), resp, err
		},
	})
}

func (a *apiCmd) saDeleteCmd() *cobra.Command {
	var s saTarget
	return a.newDeleteCmd(deleteSpec{
		use: "delete SA_ID", short: "Delete a group's or project's service account and its tokens",
		example: `  botgate service-account delete 12 --group team-a --yes`,
		warn:    "deleting a service account revokes all its tokens",
		target: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&s.group, "group", "", "the owning group `ID|PATH`")
			cmd.Flags().StringVar(&s.project, "project", "", "the owning project `ID|PATH`")
		},
		del: func(cmd *cobra.Command, c *gitlab.Client, ref string) (string, *gitlab.Response, error) {
			id, err := parseID("SA_ID", ref)
			if err != nil {
				return "", nil, err
			}
			what := "service account " + ref + " of " + s.what()
			ctx := gitlab.WithContext(cmd.Context())
			switch {
			case s.group != "" && s.project == "":
				resp, err := c.Groups.DeleteServiceAccount(idOrPath(s.group), id, nil, ctx)
				return what, resp, err
			case s.project != "" && s.group == "":
				resp, err := c.Projects.DeleteProjectServiceAccount(idOrPath(s.project), id, nil, ctx)
				return what, resp, err
			}
			return "", nil, usageErr("give exactly one of --group or --project (an instance service account is a user: botgate user delete)")
		},
	})
}

func (a *apiCmd) userDeleteCmd() *cobra.Command {
	return a.newDeleteCmd(deleteSpec{
		use: "delete ID|USERNAME", short: "Delete a user and revoke their tokens (administrators)",
		example: `  botgate user delete alice --yes`,
		warn:    "deleting a user revokes all their tokens",
		del: func(cmd *cobra.Command, c *gitlab.Client, ref string) (string, *gitlab.Response, error) {
			id, err := resolveUser(cmd, c, ref)
			if err != nil {
				return "", nil, err
			}
			resp, err := c.Users.DeleteUser(id, gitlab.WithContext(cmd.Context()))
			return "user " + ref, resp, err
		},
	})
}
