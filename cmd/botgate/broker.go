package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiwire"
)

func newBrokerCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "broker", "Mint, rotate and revoke automations' own tokens on an upstream GitLab")
	cmd.AddCommand(newBrokerAddCmd(a), newBrokerListCmd(a), newBrokerGetCmd(a), newBrokerRotateCmd(a), newBrokerRmCmd(a))
	return cmd
}

func newBrokerAddCmd(a *apiCmd) *cobra.Command {
	var (
		upstream, admin, kind, target, tokenName, scopes, notify string
		level, lifetime, before                                  int
		serviceAccount                                           int64
		auto                                                     bool
	)
	cmd := &cobra.Command{
		Use:   "add GROUP AUTOMATION --upstream-url URL --admin-secret SECRET --target T --scopes S",
		Short: "Register an automation's upstream token and mint it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.beginV1()
			if err != nil {
				return err
			}
			out, err := c.CreateUpstream(cmd.Context(), apiwire.CreateUpstream{
				Group: args[0], Automation: args[1], UpstreamURL: upstream, AdminSecret: admin, Kind: kind,
				Target: target, Scopes: strings.Split(scopes, ","), LifetimeDays: lifetime,
				RotateBeforeDays: before, AutoRotate: auto, TokenName: tokenName, Notify: notify,
				AccessLevel: level, ServiceAccountID: serviceAccount,
			})
			if err != nil {
				return cliErr(err)
			}
			if asJSON {
				return writeJSON(a.e.stdout, out)
			}
			if err := printUpstream(a, out); err != nil {
				return err
			}
			if out.State != "active" {
				return &exitError{code: exitServer, err: fmt.Errorf("registered, but the first mint failed (%s); the server's scheduler retries it", out.LastError)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&upstream, "upstream-url", "", "the upstream GitLab, e.g. https://gitlab.example.com")
	f.StringVar(&admin, "admin-secret", "", "the team's vault secret holding the upstream admin/owner token")
	f.StringVar(&kind, "kind", "project_access", "project_access, group_access or service_account")
	f.StringVar(&target, "target", "", "upstream project (project_access) or group: id or full path")
	f.Int64Var(&serviceAccount, "service-account-id", 0, "existing upstream service account (service_account; default: create one)")
	f.StringVar(&tokenName, "token-name", "", "the upstream token's name (default: the automation)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes")
	f.IntVar(&level, "access-level", 0, "role of a project or group token (default 30)")
	f.IntVar(&lifetime, "lifetime-days", 30, "lifetime of each minted token, in days")
	f.IntVar(&before, "rotate-before-days", 7, "rotate this many days before expiry")
	f.BoolVar(&auto, "auto-rotate", false, "let the scheduler rotate the token before it expires")
	f.StringVar(&notify, "notify", "", "webhook URL told about the token's coming expiry")
	return a.withOutput(cmd)
}

func newBrokerListCmd(a *apiCmd) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list GROUP",
		Short: "List a team's upstream credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, c, err := a.beginV1()
			if err != nil {
				return err
			}
			all, err := c.ListUpstreams(cmd.Context(), args[0])
			if err != nil {
				return cliErr(err)
			}
			return writeList(a.e.stdout, asJSON, all, []string{"ID", "AUTOMATION", "KIND", "TARGET", "STATE", "UPSTREAM TOKEN", "EXPIRES", "AUTO", "LAST ERROR"},
				func(c apiwire.UpstreamCredential) []string {
					return []string{strconv.FormatInt(c.ID, 10), c.Automation, c.Kind, c.Target, c.State,
						strconv.FormatInt(c.UpstreamTokenID, 10), derefOr(c.ExpiresAt), strconv.FormatBool(c.AutoRotate), orDash(c.LastError)}
				})
		},
	}
	return a.withOutput(cmd)
}

// brokerByID is a command on one credential: action is "" (show), "rotate"
// or "delete".
func brokerByID(a *apiCmd, use, short, action string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("ID must be a number")
			}
			c, err := a.v1()
			if err != nil {
				return err
			}
			out, err := c.Upstream(cmd.Context(), id, action)
			if err != nil {
				return cliErr(err)
			}
			if action == "delete" {
				fmt.Fprintf(a.e.stdout, "revoked upstream and removed credential %s\n", args[0])
				return nil
			}
			if asJSON {
				return writeJSON(a.e.stdout, out)
			}
			return printUpstream(a, out)
		},
	}
	return a.withOutput(cmd)
}

func newBrokerGetCmd(a *apiCmd) *cobra.Command {
	return brokerByID(a, "get", "Show an upstream credential", "")
}

func newBrokerRotateCmd(a *apiCmd) *cobra.Command {
	return brokerByID(a, "rotate", "Rotate an upstream token now (mint, store, then revoke the old one)", "rotate")
}

func newBrokerRmCmd(a *apiCmd) *cobra.Command {
	return brokerByID(a, "rm", "Revoke the automation's upstream tokens and forget the credential", "delete")
}

func derefOr(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func printUpstream(a *apiCmd, c *apiwire.UpstreamCredential) error {
	return fields(a.e.stdout, [][2]string{
		{"id", strconv.FormatInt(c.ID, 10)},
		{"automation", c.Automation},
		{"upstream", c.UpstreamURL},
		{"kind", c.Kind},
		{"target", c.Target},
		{"scopes", strings.Join(c.Scopes, " ")},
		{"state", c.State},
		{"upstream token", strconv.FormatInt(c.UpstreamTokenID, 10)},
		{"expires", derefOr(c.ExpiresAt)},
		{"auto rotate", strconv.FormatBool(c.AutoRotate)},
		{"stored as", "vault secret " + c.SecretName},
		{"last error", orDash(c.LastError)},
	})
}
