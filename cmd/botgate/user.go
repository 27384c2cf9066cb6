package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

func newUserCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "user", "Show and manage users")
	cmd.AddCommand(a.userWhoamiCmd(), a.userListCmd(), a.userShowCmd(), a.userCreateCmd(),
		a.deleteCmd("delete ID|USERNAME", "Delete a user and revoke their tokens (administrators)",
			"deleting a user revokes all their tokens", (*apiclient.GitLab).DeleteUser))
	a.RefineAll(cmd)
	return cmd
}

func (a *apiCmd) userWhoamiCmd() *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "whoami", Short: "Show the user the token belongs to", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnGitLab(a.API, func(g *apiclient.GitLab) (apiclient.User, error) { return g.CurrentUser(cmd.Context()) })
		},
	})
}

func (a *apiCmd) userListCmd() *cobra.Command {
	var f apiclient.UserFilter
	var pf cli.Page
	cmd := a.Command(&cobra.Command{
		Use: "list", Short: "List users (administrators)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnGitLabPage(a.API, pf, func(g *apiclient.GitLab, p apiclient.Page) ([]apiclient.User, error) {
				return g.Users(cmd.Context(), f, p)
			})
		},
	})
	cmd.Flags().StringVar(&f.Search, "search", "", "only users whose name, username or e-mail contains this")
	cmd.Flags().StringVar(&f.Username, "username", "", "only the user with this username")
	cmd.Flags().BoolVar(&f.Humans, "humans", false, "only human users (no bots or service accounts)")
	pf.Register(cmd)
	return cmd
}

func (a *apiCmd) userShowCmd() *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "show ID|USERNAME", Short: "Show a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnGitLab(a.API, func(g *apiclient.GitLab) (apiclient.User, error) { return g.User(cmd.Context(), args[0]) })
		},
	})
}

func (a *apiCmd) userCreateCmd() *cobra.Command {
	var n apiclient.NewUser
	cmd := a.Command(&cobra.Command{
		Use: "create", Short: "Create a human user (administrators)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n.Username == "" || n.Email == "" {
				return cliout.Usagef("--username and --email are required")
			}
			if n.Name == "" {
				n.Name = n.Username
			}
			return a.ChangeOn("Created", func(g *apiclient.GitLab) (any, error) { return g.CreateUser(cmd.Context(), n) })
		},
	})
	cmd.Flags().StringVar(&n.Username, "username", "", "login name (required)")
	cmd.Flags().StringVar(&n.Name, "name", "", "display name (default: the username)")
	cmd.Flags().StringVar(&n.Email, "email", "", "e-mail address (required)")
	cmd.Flags().BoolVar(&n.Admin, "admin", false, "make the user an administrator")
	return cmd
}
