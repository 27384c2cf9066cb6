package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
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
	var pf pageFlags
	cmd := a.memberCmd(&cobra.Command{
		Use:   "list",
		Short: "List the direct members of a project or group",
		Args:  cobra.NoArgs,
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		p, err := pf.check()
		if err != nil {
			return err
		}
		ms, err := g.Members(cmd.Context(), n, p)
		return renderList(a, ms, err, apiclient.MemberHeader)
	})
	pf.register(cmd)
	return cmd
}

// membership parses --access-level and --expires-at; the level is required
// unless optional.
func membership(level, expires string, required bool) (apiclient.Membership, error) {
	var m apiclient.Membership
	if level == "" && required {
		return m, usageErr("--access-level is required: guest, planner, reporter, developer, maintainer or owner")
	}
	if level != "" {
		l, err := parseAccessLevel(level)
		if err != nil {
			return m, err
		}
		m.AccessLevel = &l
	}
	if _, err := parseDate("expires-at", expires); err != nil {
		return m, err
	}
	if expires != "" {
		m.ExpiresAt = &expires
	}
	return m, nil
}

func (a *apiCmd) memberAddCmd() *cobra.Command {
	var level, expires string
	cmd := a.memberCmd(&cobra.Command{
		Use:   "add USER",
		Short: "Add a user (ID or username) at a role",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, n apiclient.Namespace, args []string) error {
		m, err := membership(level, expires, true)
		if err != nil {
			return err
		}
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		v, err := g.AddMember(cmd.Context(), n, args[0], m)
		return a.render(v, err, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "Added %s (user %d) to %s as %s.\n", v.Username, v.ID, n, strings.ToLower(v.Role))
			return err
		})
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
		return a.say(map[string]any{"removed": true, "user_id": uid}, err, fmt.Sprintf("Removed user %d from %s.", uid, n))
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
		m, err := membership(level, expires, false)
		if err != nil {
			return err
		}
		g, err := a.gitlab()
		if err != nil {
			return err
		}
		v, err := g.UpdateMember(cmd.Context(), n, args[0], m)
		return a.render(v, err, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s (user %d) is now %s of %s.\n", v.Username, v.ID, v.Role, n)
			return err
		})
	})
	cmd.Flags().StringVar(&level, "access-level", "", "new role: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "membership expiry `DATE` (YYYY-MM-DD)")
	return cmd
}
