package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
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
	cmd := cli.Group(use, short)
	a.urlFlag(cmd.PersistentFlags().StringVar, "")
	return cmd, a
}

// urlFlag registers --url; extra ends its usage.
func (a *apiCmd) urlFlag(register func(*string, string, string, string), extra string) {
	register(&a.url, "url", "", "botgate server URL"+extra+" (default: $BOTGATE_URL, else the one stored by botgate login)")
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
	return r, cliout.Fail(err)
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
	return g, cliout.Fail(err)
}

// gitlabPage is gitlab for a list command: it also checks the paging
// flags.
func (a *apiCmd) gitlabPage(pf cli.Page) (*apiclient.GitLab, apiclient.Page, error) {
	g, err := a.gitlab()
	if err != nil {
		return nil, apiclient.Page{}, err
	}
	p, err := pf.Check()
	return g, p, err
}

// v1 resolves the connection and builds the client of botgate's own API.
func (a *apiCmd) v1() (*apiclient.V1, error) {
	r, err := a.resolve()
	if err != nil {
		return nil, err
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliout.Fail(err)
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
					return cliout.Fail(r)
				}
			}
			return err
		}
	}
}

// parseID parses a positive numeric ID argument.
func parseID(what, s string) (int64, error) {
	id, err := apiclient.ParseID(what, s)
	return id, cliout.Usage(err)
}
