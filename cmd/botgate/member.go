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
	a.refineAll(cmd)
	return cmd
}

// memberCmd builds a member command: it registers --project and --group
// and, before run, checks that exactly one was given and builds the client.
func (a *apiCmd) memberCmd(c *cobra.Command, run func(cmd *cobra.Command, n apiclient.Namespace, args []string) error) *cobra.Command {
	var n apiclient.Namespace
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if (n.Project == "") == (n.Group == "") {
			return usageErr("give exactly one of --project or --group")
		}
		return run(cmd, n, args)
	}
	c.Flags().StringVar(&n.Project, "project", "", "the project `ID|PATH`")
	c.Flags().StringVar(&n.Group, "group", "", "the group `ID|PATH`")
	return a.command(c)
}

func (a *apiCmd) memberListCmd() *cobra.Command {
	var pf cli.Page
	cmd := a.memberCmd(&cobra.Command{
		Use:   "list",
		Short: "List the direct members of a project or group",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		g, p, err := a.gitlabPage(pf)
		if err != nil {
			return err
		}
		ms, err := g.Members(cmd.Context(), n, p)
		return a.show(ms, err, nil)
	})
	pf.Register(cmd)
	return cmd
}

func (a *apiCmd) memberAddCmd() *cobra.Command {
	var level, expires string
	cmd := a.memberCmd(&cobra.Command{
		Use:   "add USER",
		Short: "Add a user (ID or username) at a role",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		m, err := apiclient.ParseMembership(level, expires, true)
		if err != nil {
			return usage(err)
		}
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		v, err := g.AddMember(cmd.Context(), n, args[0], m)
		return a.show(v, err, cliout.Line("Added %s (user %d) to %s as %s.", v.Username, v.ID, n, v.Role))
	})
	cmd.Flags().StringVar(&level, "access-level", "", "role: guest, planner, reporter, developer, maintainer, owner (or 10-50) (required)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return cmd
}

func (a *apiCmd) memberRemoveCmd() *cobra.Command {
	return a.memberCmd(&cobra.Command{
		Use:   "remove USER",
		Short: "Remove a user (ID or username) from a project or group",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		uid, err := g.RemoveMember(cmd.Context(), n, args[0])
		return a.show(map[string]any{"removed": true, "user_id": uid}, err, cliout.Line("Removed user %d from %s.", uid, n))
	})
}

func (a *apiCmd) memberUpdateCmd() *cobra.Command {
	var level, expires string
	cmd := a.memberCmd(&cobra.Command{
		Use:   "update USER",
		Short: "Change a member's role or membership expiry",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		if level == "" && expires == "" {
			return usageErr("give --access-level, --expires-at or both")
		}
		m, err := apiclient.ParseMembership(level, expires, false)
		if err != nil {
			return usage(err)
		}
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		v, err := g.UpdateMember(cmd.Context(), n, args[0], m)
		return a.show(v, err, cliout.Line("%s (user %d) is now %s of %s.", v.Username, v.ID, v.Role, n))
	})
	cmd.Flags().StringVar(&level, "access-level", "", "new role: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return cmd
}
