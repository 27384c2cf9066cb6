package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiwire"
)

func (a *apiCmd) tokenUsageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "usage ID",
		Short: "Show how a token was used through the gateway",
		Long: `usage shows what the gateway recorded about a token: when it was last used,
from which addresses and by which clients (user agents), every route it called
and the scope each call needed. A token that holds scopes it never needed, or
that is used by several different clients, is a candidate for a narrower token
per automation.`,
		Example: `  botgate token usage 42
  botgate token usage 42 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			id, err := parseID("the token ID", args[0])
			if err != nil {
				return err
			}
			c, err := a.v1()
			if err != nil {
				return err
			}
			u, err := c.TokenUsage(cmd.Context(), id)
			if err != nil {
				return cliErr(err)
			}
			if asJSON {
				return writeJSON(a.e.stdout, u)
			}
			return printTokenUsage(a.e.stdout, u)
		},
	}
	return a.withOutput(cmd)
}

// printTokenUsage writes the usage for people.
func printTokenUsage(w io.Writer, u *apiwire.TokenUsage) error {
	err := fields(w, [][2]string{
		{"token", fmt.Sprintf("%d (%s)", u.TokenID, u.Name)},
		{"automation", orDash(u.Automation)},
		{"scopes", orDash(strings.Join(u.Scopes, " "))},
		{"scopes used", orDash(strings.Join(u.ScopesUsed, " "))},
		{"calls", strconv.FormatInt(u.Calls, 10)},
		{"last used", fmtStamp(u.LastUsedAt)},
		{"addresses", orDash(strings.Join(u.LastUsedIPs, ", "))},
		{"clients", orDash(strings.Join(u.UserAgents, ", "))},
	})
	if err != nil {
		return err
	}
	if len(u.Routes) == 0 {
		_, err := fmt.Fprintln(w, "\nNo calls through the gateway recorded.")
		return err
	}
	fmt.Fprintln(w)
	rows := make([][]string, len(u.Routes))
	for i, r := range u.Routes {
		rows[i] = []string{r.Method, r.Route, orDash(r.Scope), strconv.FormatInt(r.Count, 10), fmtStamp(&r.LastSeen)}
	}
	return table(w, []string{"METHOD", "ROUTE", "SCOPE", "CALLS", "LAST SEEN"}, rows)
}

// fmtStamp is fmtTime for an API timestamp; one that does not parse is
// shown as sent.
func fmtStamp(s *string) string {
	if s == nil {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return *s
	}
	return fmtTime(&t)
}
