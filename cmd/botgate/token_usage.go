package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
)

// tokenUsage is the answer of GET /api/botgate/v1/tokens/{id}/usage.
type tokenUsage struct {
	TokenID     int64        `json:"token_id"`
	Name        string       `json:"name"`
	Automation  string       `json:"automation"`
	Scopes      []string     `json:"scopes"`
	LastUsedAt  *time.Time   `json:"last_used_at"`
	LastUsedIPs []string     `json:"last_used_ips"`
	UserAgents  []string     `json:"user_agents"`
	ScopesUsed  []string     `json:"scopes_used"`
	Calls       int64        `json:"calls"`
	Routes      []routeUsage `json:"routes"`
}

type routeUsage struct {
	Method    string    `json:"method"`
	Route     string    `json:"route"`
	Scope     string    `json:"scope"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

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
			r, err := apiclient.Resolve(a.e.getenv, a.url)
			if err != nil {
				return cliErr(err)
			}
			u, raw, err := fetchTokenUsage(cmd, r, id)
			if err != nil {
				return err
			}
			if asJSON {
				_, err := a.e.stdout.Write(raw)
				return err
			}
			return printTokenUsage(a.e.stdout, u)
		},
	}
	return a.withOutput(cmd)
}

// fetchTokenUsage asks the server for a token's usage.
func fetchTokenUsage(cmd *cobra.Command, r apiclient.Resolved, id int64) (*tokenUsage, []byte, error) {
	url := strings.TrimRight(r.URL, "/") + "/api/botgate/v1/tokens/" + strconv.FormatInt(id, 10) + "/usage"
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, usageErr("bad server URL %q", r.URL)
	}
	req.Header.Set("PRIVATE-TOKEN", r.Token)
	req.Header.Set("User-Agent", "botgate-cli/"+botgate.Version)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, nil, cliErr(botgate.E(botgate.KindInternal, botgate.Errorf(botgate.KindInternal, "cannot reach %s: %v", r.URL, err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, cliErr(botgate.Errorf(botgate.KindInternal, "reading the answer: %v", err))
	}
	if resp.StatusCode != http.StatusOK {
		msg := serverMessage(body)
		kind := botgate.KindInternal
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			kind = botgate.KindUnauthenticated
		case http.StatusForbidden:
			kind = botgate.KindForbidden
		case http.StatusNotFound:
			kind, msg = botgate.KindNotFound, fmt.Sprintf("token %d not found (or you may not manage it)", id)
		case http.StatusTooManyRequests:
			kind = botgate.KindRateLimited
		}
		return nil, nil, cliErr(botgate.Errorf(kind, "%s (HTTP %d)", msg, resp.StatusCode))
	}
	var u tokenUsage
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, nil, cliErr(botgate.Errorf(botgate.KindInternal, "the server's answer is not token usage: %v", err))
	}
	return &u, body, nil
}

// printTokenUsage writes the usage for people.
func printTokenUsage(w io.Writer, u *tokenUsage) error {
	err := fields(w, [][2]string{
		{"token", fmt.Sprintf("%d (%s)", u.TokenID, u.Name)},
		{"automation", orDash(u.Automation)},
		{"scopes", orDash(strings.Join(u.Scopes, " "))},
		{"scopes used", orDash(strings.Join(u.ScopesUsed, " "))},
		{"calls", strconv.FormatInt(u.Calls, 10)},
		{"last used", fmtTime(u.LastUsedAt)},
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
		rows[i] = []string{r.Method, r.Route, orDash(r.Scope), strconv.FormatInt(r.Count, 10), fmtTime(&r.LastSeen)}
	}
	return table(w, []string{"METHOD", "ROUTE", "SCOPE", "CALLS", "LAST SEEN"}, rows)
}
