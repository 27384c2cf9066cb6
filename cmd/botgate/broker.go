package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
)

func newBrokerCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "broker", "Mint, rotate and revoke automations' own tokens on an upstream GitLab")
	cmd.AddCommand(a.brokerAddCmd(), a.brokerListCmd(),
		a.brokerByID("get", "Show an upstream credential", ""),
		a.brokerByID("rotate", "Rotate an upstream token now (mint, store, then revoke the old one)", "rotate"),
		a.brokerByID("rm", "Revoke the automation's upstream tokens and forget the credential", "delete"))
	return cmd
}

func (a *apiCmd) brokerAddCmd() *cobra.Command {
	var in apiwire.CreateUpstream
	var scopes string
	cmd := a.Command(&cobra.Command{
		Use:   "add GROUP AUTOMATION --upstream-url URL --admin-secret SECRET --target T --scopes S",
		Short: "Register an automation's upstream token and mint it", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.V1()
			if err != nil {
				return err
			}
			in.Group, in.Automation, in.Scopes = args[0], args[1], strings.Split(scopes, ",")
			out, err := c.CreateUpstream(cmd.Context(), in)
			if err := a.Show(out, err, nil); err != nil || out.State == "active" {
				return err
			}
			return cliout.Exitf(cliout.ExitServer, "registered, but the first mint failed (%s); the server's scheduler retries it", out.LastError)
		},
	})
	f := cmd.Flags()
	f.StringVar(&in.UpstreamURL, "upstream-url", "", "the upstream GitLab, e.g. https://gitlab.example.com")
	f.StringVar(&in.AdminSecret, "admin-secret", "", "the team's vault secret holding the upstream admin/owner token")
	f.StringVar(&in.Kind, "kind", "project_access", "project_access, group_access or service_account")
	f.StringVar(&in.Target, "target", "", "upstream project (project_access) or group: id or full path")
	f.Int64Var(&in.ServiceAccountID, "service-account-id", 0, "existing upstream service account (service_account; default: create one)")
	f.StringVar(&in.TokenName, "token-name", "", "the upstream token's name (default: the automation)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes")
	f.IntVar(&in.AccessLevel, "access-level", 0, "role of a project or group token (default 30)")
	f.IntVar(&in.LifetimeDays, "lifetime-days", 30, "lifetime of each minted token, in days")
	f.IntVar(&in.RotateBeforeDays, "rotate-before-days", 7, "rotate this many days before expiry")
	f.BoolVar(&in.AutoRotate, "auto-rotate", false, "let the scheduler rotate the token before it expires")
	f.StringVar(&in.Notify, "notify", "", "webhook URL told about the token's coming expiry")
	return cmd
}

func (a *apiCmd) brokerListCmd() *cobra.Command {
	return a.Command(&cobra.Command{
		Use: "list GROUP", Short: "List a team's upstream credentials", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.OnV1(a.API, func(c *apiclient.V1) ([]apiwire.UpstreamCredential, error) {
				return c.ListUpstreams(cmd.Context(), args[0])
			})
		},
	})
}

// brokerByID is a command on one credential: action is "" (show), "rotate"
// or "delete".
func (a *apiCmd) brokerByID(use, short, action string) *cobra.Command {
	return a.Command(&cobra.Command{
		Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return cliout.Usagef("ID must be a number")
			}
			c, err := a.V1()
			if err != nil {
				return err
			}
			out, err := c.Upstream(cmd.Context(), id, action)
			if action == "delete" {
				return show(a.Stdout, cliout.Text, nil, err, cliout.Line("revoked upstream and removed credential %s", args[0]))
			}
			return a.Show(out, err, nil)
		},
	})
}
