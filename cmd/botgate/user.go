package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
)

func newUserCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "user", "Show and manage users")
	cmd.AddCommand(a.userWhoamiCmd(), a.userListCmd(), a.userShowCmd(), a.userCreateCmd(),
		a.deleteCmd("delete ID|USERNAME", "Delete a user and revoke their tokens (administrators)",
			"deleting a user revokes all their tokens", (*apiclient.GitLab).DeleteUser))
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) userWhoamiCmd() *cobra.Command {
	return a.command(&cobra.Command{
		Use:   "whoami",
		Short: "Show the user the token belongs to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			u, err := g.CurrentUser(cmd.Context())
			return a.show(u, err, nil)
		},
	})
}

func (a *apiCmd) userListCmd() *cobra.Command {
	var f apiclient.UserFilter
	var pf cli.Page
	cmd := a.command(&cobra.Command{
		Use:   "list",
		Short: "List users (administrators)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, p, err := a.gitlabPage(pf)
			if err != nil {
				return err
			}
			us, err := g.Users(cmd.Context(), f, p)
			return a.show(us, err, nil)
		},
	})
	cmd.Flags().StringVar(&f.Search, "search", "", "only users whose name, username or e-mail contains this")
	cmd.Flags().StringVar(&f.Username, "username", "", "only the user with this username")
	cmd.Flags().BoolVar(&f.Humans, "humans", false, "only human users (no bots or service accounts)")
	pf.Register(cmd)
	return cmd
}

func (a *apiCmd) userShowCmd() *cobra.Command {
	return a.command(&cobra.Command{
		Use:   "show ID|USERNAME",
		Short: "Show a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			u, err := g.User(cmd.Context(), args[0])
			return a.show(u, err, nil)
		},
	})
}

func (a *apiCmd) userCreateCmd() *cobra.Command {
	var n apiclient.NewUser
	cmd := a.command(&cobra.Command{
		Use:   "create",
		Short: "Create a human user (administrators)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n.Username == "" || n.Email == "" {
				return usageErr("--username and --email are required")
			}
			if n.Name == "" {
				n.Name = n.Username
			}
			g, err := a.gitlab()
			if err != nil {
				return err
			}
			u, err := g.CreateUser(cmd.Context(), n)
			return a.change("Created", u, err)
		},
	})
	cmd.Flags().StringVar(&n.Username, "username", "", "login name (required)")
	cmd.Flags().StringVar(&n.Name, "name", "", "display name (default: the username)")
	cmd.Flags().StringVar(&n.Email, "email", "", "e-mail address (required)")
	cmd.Flags().BoolVar(&n.Admin, "admin", false, "make the user an administrator")
	return cmd
}
