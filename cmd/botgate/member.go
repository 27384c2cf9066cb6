package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

func newMemberCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "member", "List, add and remove members of a project or group")
	cmd.AddCommand(a.memberListCmd(), a.memberAddCmd(), a.memberUpdateCmd(), a.memberRemoveCmd())
	a.RefineAll(cmd)
	return cmd
}

// memberCmd builds a member command: it registers --project and --group
// and, before run, checks that exactly one was given and builds the client.
func (a *apiCmd) memberCmd(c *cobra.Command, run func(cmd *cobra.Command, n apiclient.Namespace, args []string) error) *cobra.Command {
	var n apiclient.Namespace
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if (n.Project == "") == (n.Group == "") {
			return cliout.Usagef("give exactly one of --project or --group")
		}
		return run(cmd, n, args)
	}
	c.Flags().StringVar(&n.Project, "project", "", "the project `ID|PATH`")
	c.Flags().StringVar(&n.Group, "group", "", "the group `ID|PATH`")
	return a.Command(c)
}

func (a *apiCmd) memberListCmd() *cobra.Command {
	var pf cli.Page
	cmd := a.memberCmd(&cobra.Command{Use: "list", Short: "List the direct members of a project or group", Args: cobra.NoArgs},
		func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
			return cli.OnGitLabPage(a.API, pf, func(g *apiclient.GitLab, p apiclient.Page) ([]apiclient.Member, error) {
				return g.Members(cmd.Context(), n, p)
			})
		})
	pf.Register(cmd)
	return cmd
}

// memberSetCmd is 'add' and 'update': set adds or updates the user args[0]
// names with the membership the flags give.
func (a *apiCmd) memberSetCmd(c *cobra.Command, add bool, set func(*apiclient.GitLab, *cobra.Command, apiclient.Namespace, string, apiclient.Membership) (apiclient.Member, error), line string) *cobra.Command {
	var level, expires string
	cmd := a.memberCmd(c, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		if !add && level == "" && expires == "" {
			return cliout.Usagef("give --access-level, --expires-at or both")
		}
		m, err := apiclient.ParseMembership(level, expires, add)
		if err != nil {
			return cliout.Usage(err)
		}
		g, err := a.GitLab()
		if err != nil {
			return err
		}
		v, err := set(g, cmd, n, args[0], m)
		return a.Show(v, err, cliout.Line(line, v.Username, v.ID, n, v.Role))
	})
	usage := "new role: guest, planner, reporter, developer, maintainer, owner (or 10-50)"
	if add {
		usage = "role: guest, planner, reporter, developer, maintainer, owner (or 10-50) (required)"
	}
	cmd.Flags().StringVar(&level, "access-level", "", usage)
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return cmd
}

func (a *apiCmd) memberAddCmd() *cobra.Command {
	return a.memberSetCmd(&cobra.Command{Use: "add USER", Short: "Add a user (ID or username) at a role", Args: cobra.ExactArgs(1)}, true,
		func(g *apiclient.GitLab, cmd *cobra.Command, n apiclient.Namespace, user string, m apiclient.Membership) (apiclient.Member, error) {
			return g.AddMember(cmd.Context(), n, user, m)
		}, "Added %[1]s (user %[2]d) to %[3]s as %[4]s.")
}

func (a *apiCmd) memberUpdateCmd() *cobra.Command {
	return a.memberSetCmd(&cobra.Command{Use: "update USER", Short: "Change a member's role or membership expiry", Args: cobra.ExactArgs(1)}, false,
		func(g *apiclient.GitLab, cmd *cobra.Command, n apiclient.Namespace, user string, m apiclient.Membership) (apiclient.Member, error) {
			return g.UpdateMember(cmd.Context(), n, user, m)
		}, "%[1]s (user %[2]d) is now %[4]s of %[3]s.")
}

func (a *apiCmd) memberRemoveCmd() *cobra.Command {
	return a.memberCmd(&cobra.Command{Use: "remove USER", Short: "Remove a user (ID or username) from a project or group", Args: cobra.ExactArgs(1)},
		func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
			g, err := a.GitLab()
			if err != nil {
				return err
			}
			uid, err := g.RemoveMember(cmd.Context(), n, args[0])
			return a.Show(map[string]any{"removed": true, "user_id": uid}, err, cliout.Line("Removed user %d from %s.", uid, n))
		})
}
