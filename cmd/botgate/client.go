package main

import (
	"github.com/spf13/cobra"

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
	cmd := groupCmd(use, short)
	cmd.PersistentFlags().StringVar(&a.url, "url", "", "botgate server URL (default: $BOTGATE_URL, else the one stored by botgate login)")
	return cmd, a
}

// groupCmd is a command that only holds subcommands: without one it shows
// the help; an unknown one is a usage error (cobra would print the help
// and succeed).
func groupCmd(use, short string) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for %q: see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	return cmd
}

// command registers --output on a data-printing command and checks it
// before the command runs.
func (a *apiCmd) command(cmd *cobra.Command) *cobra.Command {
	outputFlag(cmd, &a.output)
	cmd.PreRunE = func(*cobra.Command, []string) error { return checkOutput(a.output) }
	return cmd
}

// resolve resolves the connection: flags, environment, stored credentials.
func (a *apiCmd) resolve() (apiclient.Resolved, error) {
	r, err := apiclient.Resolve(a.e.getenv, a.url)
	return r, cliErr(err)
}

// gitlab resolves the connection and builds the client of /api/v4.
func (a *apiCmd) gitlab() (*apiclient.GitLab, error) {
	r, err := a.resolve()
	if err != nil {
		return nil, err
	}
	return a.newGitLab(r)
}

// newGitLab builds the client of /api/v4 for r and remembers it.
func (a *apiCmd) newGitLab(r apiclient.Resolved) (*apiclient.GitLab, error) {
	g, err := apiclient.NewGitLab(r, apiclient.Options{})
	a.g = g
	return g, cliErr(err)
}

// gitlabPage is gitlab for a list command: it also checks the paging
// flags.
func (a *apiCmd) gitlabPage(pf pageFlags) (*apiclient.GitLab, apiclient.Page, error) {
	g, err := a.gitlab()
	if err != nil {
		return nil, apiclient.Page{}, err
	}
	p, err := pf.check()
	return g, p, err
}

// v1 resolves the connection and builds the client of botgate's own API.
func (a *apiCmd) v1() (*apiclient.V1, error) {
	r, err := a.resolve()
	if err != nil {
		return nil, err
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliErr(err)
}

// refineAll makes the RunE of cmd and its subcommands improve a 401 with
// apiclient.GitLab.Refine: a token that still works, refused something it
// may not do.
func (a *apiCmd) refineAll(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		a.refineAll(sub)
	}
	if inner := cmd.RunE; inner != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := inner(c, args)
			if a.g != nil && err != nil {
				if r := a.g.Refine(c.Context(), err); r != err {
					return cliErr(r)
				}
			}
			return err
		}
	}
}

// parseID parses a positive numeric ID argument.
func parseID(what, s string) (int64, error) {
	id, err := apiclient.ParseID(what, s)
	return id, usage(err)
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
