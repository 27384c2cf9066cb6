package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
)

// userView is how the CLI shows a user.
type userView struct {
	ID        int64      `json:"id"`
	Username  string     `json:"username"`
	Name      string     `json:"name"`
	Email     string     `json:"email,omitempty"`
	State     string     `json:"state"`
	Bot       bool       `json:"bot"`
	IsAdmin   bool       `json:"is_admin"`
	CreatedAt *time.Time `json:"created_at"`
}

func newUserView(u *gitlab.User) userView {
	return userView{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, State: u.State, Bot: u.Bot, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt}
}

func (a *apiCmd) writeUser(asJSON bool, v userView) error {
	if asJSON {
		return writeJSON(a.e.stdout, v)
	}
	return fields(a.e.stdout, [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Username", v.Username},
		{"Name", v.Name},
		{"Email", orDash(v.Email)},
		{"State", v.State},
		{"Bot", yesNo(v.Bot)},
		{"Admin", yesNo(v.IsAdmin)},
		{"Created", fmtTime(v.CreatedAt)},
	})
}

func newUserCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "user", "Show and manage users", `user shows the current user (whoami) and, for administrators, lists and creates
human users. Bot users are made by creating project or group access tokens;
service accounts by 'botgate service-account create'.`)
	cmd.AddCommand(a.userWhoamiCmd(), a.userListCmd(), a.userShowCmd(), a.userCreateCmd(), a.userDeleteCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) userWhoamiCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the user the token belongs to",
		Example: `  botgate user whoami
  BOTGATE_TOKEN=$(cat ci.token) botgate user whoami --output json   # a bot user`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			u, resp, err := c.Users.CurrentUser(gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, "the current user")
			}
			return a.writeUser(asJSON, newUserView(u))
		},
	}
	return a.withOutput(cmd)
}

func (a *apiCmd) userListCmd() *cobra.Command {
	var search, username string
	var humans bool
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users (administrators)",
		Example: `  botgate user list
  botgate user list --search ali --all --output json
  botgate user list --humans`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			opt := &gitlab.ListUsersOptions{Search: optional(search), Username: optional(username)}
			if humans {
				opt.Humans = gitlab.Ptr(true)
			}
			ctx := gitlab.WithContext(cmd.Context())
			us, err := collect(pf, "the user list", func(lo gitlab.ListOptions) ([]*gitlab.User, *gitlab.Response, error) {
				opt.ListOptions = lo
				return c.Users.ListUsers(opt, ctx)
			})
			if err != nil {
				return err
			}
			return writeList(a.e.stdout, asJSON, viewsOf(us, newUserView), []string{"ID", "USERNAME", "NAME", "STATE", "BOT", "ADMIN"},
				func(v userView) []string {
					return []string{fmt.Sprint(v.ID), v.Username, v.Name, v.State, yesNo(v.Bot), yesNo(v.IsAdmin)}
				})
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "only users whose name, username or e-mail contains this")
	cmd.Flags().StringVar(&username, "username", "", "only the user with this username")
	cmd.Flags().BoolVar(&humans, "humans", false, "only human users (no bots or service accounts)")
	pf.register(cmd)
	return a.withOutput(cmd)
}

// resolveUser turns an ID or a username into a user ID.
func resolveUser(cmd *cobra.Command, c *gitlab.Client, ref string) (int64, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	us, resp, err := c.Users.ListUsers(&gitlab.ListUsersOptions{Username: &ref}, gitlab.WithContext(cmd.Context()))
	if err != nil {
		// Looking users up by name may need more rights than the command
		// itself: say how to do without it.
		e := apiclient.Explain(err, resp, fmt.Sprintf("user %q", ref))
		return 0, cliErr(&botgate.Error{Kind: botgate.KindOf(e), Err: e,
			Message: fmt.Sprintf("cannot look up the username %q (%s): give the numeric user ID instead", ref, botgate.MessageOf(e))})
	}
	for _, u := range us {
		if u.Username == ref {
			return u.ID, nil
		}
	}
	return 0, apiErr(gitlab.ErrNotFound, nil, fmt.Sprintf("user %q", ref))
}

func (a *apiCmd) userShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID|USERNAME",
		Short: "Show a user",
		Example: `  botgate user show 7
  botgate user show alice --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.begin()
			if err != nil {
				return err
			}
			id, err := resolveUser(cmd, c, args[0])
			if err != nil {
				return err
			}
			u, resp, err := c.Users.GetUser(id, nil, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, "user "+args[0])
			}
			return a.writeUser(asJSON, newUserView(u))
		},
	}
	return a.withOutput(cmd)
}

func (a *apiCmd) userCreateCmd() *cobra.Command {
	var username, name, email string
	var admin bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a human user (administrators)",
		Long: `create makes a human user. Give them a personal access token with
'botgate token create --user ID'. Automations should not be humans: use project
access tokens or service accounts for them.`,
		Example: `  botgate user create --username alice --name "Alice Liddell" --email alice@example.com
  botgate user create --username ops --name Ops --email ops@example.com --admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			if username == "" || email == "" {
				return usageErr("--username and --email are required")
			}
			if name == "" {
				name = username
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			opt := &gitlab.CreateUserOptions{Username: &username, Name: &name, Email: &email}
			if admin {
				opt.Admin = gitlab.Ptr(true)
			}
			u, resp, err := c.Users.CreateUser(opt, gitlab.WithContext(cmd.Context()))
			if err != nil {
				return apiErr(err, resp, "the user list")
			}
			if !asJSON {
				fmt.Fprintf(a.e.stdout, "Created user %d %q.\n", u.ID, u.Username)
			}
			return a.writeUser(asJSON, newUserView(u))
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "login name (required)")
	cmd.Flags().StringVar(&name, "name", "", "display name (default: the username)")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address (required)")
	cmd.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	return a.withOutput(cmd)
}
