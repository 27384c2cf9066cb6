package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/apiclient"
)

// apiCmd is the state shared by the commands of one API command group.
type apiCmd struct {
	e      *env
	url    string
	output string
	// g is the client the running command built, for refine's probe.
	g *apiclient.GitLab
}

// newAPIGroup returns a command group whose subcommands talk to the API; it
// carries the persistent --url flag.
func newAPIGroup(e *env, use, short string) (*cobra.Command, *apiCmd) {
	a := &apiCmd{e: e}
	cmd := &cobra.Command{
		Use: use, Short: short,
		// Without a subcommand, show the help; with an unknown one, fail
		// as a usage error (cobra would print the help and succeed).
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for %q: see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	cmd.PersistentFlags().StringVar(&a.url, "url", "", "botgate server URL (default: $BOTGATE_URL, else the one stored by botgate login)")
	return cmd, a
}

// withOutput registers --output on a data-printing command.
func (a *apiCmd) withOutput(cmd *cobra.Command) *cobra.Command {
	outputFlag(cmd, &a.output)
	return cmd
}

// command registers --output on a data-printing command and checks it
// before the command runs.
func (a *apiCmd) command(cmd *cobra.Command) *cobra.Command {
	outputFlag(cmd, &a.output)
	cmd.PreRunE = func(*cobra.Command, []string) error { return checkOutput(a.output) }
	return cmd
}

// gitlab resolves the connection and builds the client of /api/v4.
func (a *apiCmd) gitlab() (*apiclient.GitLab, error) {
	r, err := apiclient.Resolve(a.e.getenv, a.url)
	if err != nil {
		return nil, cliErr(err)
	}
	return a.newGitLab(r)
}

// newGitLab builds the client of /api/v4 for r and remembers it.
func (a *apiCmd) newGitLab(r apiclient.Resolved) (*apiclient.GitLab, error) {
	g, err := apiclient.NewGitLab(r, apiclient.Options{})
	if err != nil {
		return nil, cliErr(err)
	}
	a.g = g
	return g, nil
}

// json reports whether JSON output was asked for, checking the flag.
func (a *apiCmd) json() (bool, error) {
	if a.output == "" {
		return false, nil
	}
	if err := checkOutput(a.output); err != nil {
		return false, err
	}
	return a.output == "json", nil
}

// v1 resolves the connection and builds the client of botgate's own API.
func (a *apiCmd) v1() (*apiclient.V1, error) {
	r, err := apiclient.Resolve(a.e.getenv, a.url)
	if err != nil {
		return nil, cliErr(err)
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliErr(err)
}

// beginV1 is begin for the commands of botgate's own API: check --output,
// then build its client.
func (a *apiCmd) beginV1() (asJSON bool, c *apiclient.V1, err error) {
	if asJSON, err = a.json(); err != nil {
		return false, nil, err
	}
	c, err = a.v1()
	return asJSON, c, err
}

// newClient builds the GitLab client for r and remembers it.
func (a *apiCmd) newClient(r apiclient.Resolved) (*gitlab.Client, error) {
	g, err := a.newGitLab(r)
	if err != nil {
		return nil, err
	}
	return g.Client(), nil
}

// refine improves a 401 from the server. GitLab answers 401 not only for a
// bad token but also for a token it will not let the caller manage (another
// user's token, for a non-admin); so when the token still works for GET
// /user, say that instead of sending the user to log in again.
func (a *apiCmd) refine(cmd *cobra.Command, err error) error {
	if a.g == nil || err == nil {
		return err
	}
	if r := a.g.Refine(cmd.Context(), err); r != err {
		return cliErr(r)
	}
	return err
}

// refineAll wraps the RunE of cmd and its subcommands with a.refine.
func (a *apiCmd) refineAll(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		a.refineAll(sub)
	}
	if inner := cmd.RunE; inner != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error { return a.refine(c, inner(c, args)) }
	}
}

// apiErr explains a client-go error about what and gives it an exit code.
func apiErr(err error, resp *gitlab.Response, what string) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return cliErr(apiclient.Explain(err, resp, what))
}

// parseID parses a positive numeric ID argument.
func parseID(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, usageErr("%s must be a positive number, not %q", what, s)
	}
	return n, nil
}

// parseDate parses --expires-at and similar YYYY-MM-DD flags.
func parseDate(flag, s string) (*gitlab.ISOTime, error) {
	if s == "" {
		return nil, nil
	}
	t, err := gitlab.ParseISOTime(s)
	if err != nil {
		return nil, usageErr("--%s must be a date like 2027-12-31, not %q", flag, s)
	}
	return &t, nil
}

// accessLevels maps role names to GitLab access levels.
var accessLevels = []struct {
	name  string
	level gitlab.AccessLevelValue
}{
	{"guest", gitlab.GuestPermissions},
	{"planner", gitlab.PlannerPermissions},
	{"reporter", gitlab.ReporterPermissions},
	{"developer", gitlab.DeveloperPermissions},
	{"maintainer", gitlab.MaintainerPermissions},
	{"owner", gitlab.OwnerPermissions},
}

// parseAccessLevel accepts a role name or its number.
func parseAccessLevel(s string) (gitlab.AccessLevelValue, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for _, l := range accessLevels {
		if ls == l.name || ls == strconv.Itoa(int(l.level)) {
			return l.level, nil
		}
	}
	return 0, usageErr("--access-level must be guest, planner, reporter, developer, maintainer or owner (or 10, 15, 20, 30, 40, 50), not %q", s)
}

// parseScopes splits a comma-separated scope list.
func parseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, usageErr("--scopes is required: a comma-separated list such as read_api or api,read_repository")
	}
	return out, nil
}

// pageFlags are the list commands' paging flags.
type pageFlags struct {
	all     bool
	page    int64
	perPage int64
}

func (p *pageFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.all, "all", false, "fetch every page")
	cmd.Flags().Int64Var(&p.page, "page", 1, "page to fetch (ignored with --all)")
	cmd.Flags().Int64Var(&p.perPage, "per-page", 20, "items per page (1-100)")
}

// check checks the paging flags.
func (p pageFlags) check() (apiclient.Page, error) {
	if p.perPage < 1 || p.perPage > 100 {
		return apiclient.Page{}, usageErr("--per-page must be between 1 and 100")
	}
	if p.page < 1 {
		return apiclient.Page{}, usageErr("--page must be 1 or more")
	}
	return apiclient.Page{All: p.all, Page: p.page, PerPage: p.perPage}, nil
}

// writeList writes a list command's result: a JSON array (empty, never
// null), or a table under header with one row per view.
func writeList[V any](w io.Writer, asJSON bool, views []V, header []string, row func(V) []string) error {
	if asJSON {
		if views == nil {
			views = []V{}
		}
		return writeJSON(w, views)
	}
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		rows = append(rows, row(v))
	}
	return table(w, header, rows)
}

// table writes rows under a header, aligned in columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes one object as aligned "name: value" lines.
func fields(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, f := range kv {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

// optional returns a pointer to s, or nil when s is empty: an API option
// sent only when its flag was given a value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orDash shows an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dateString is fmtDate for JSON, nil when absent.
func dateString(t *gitlab.ISOTime) *string {
	if t == nil || time.Time(*t).IsZero() {
		return nil
	}
	s := t.String()
	return &s
}
