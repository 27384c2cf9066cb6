package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
)

// API is the state the commands of one API command group share: the
// outside world, --url and --output, and the client a command built.
type API struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	url    string
	output string
	// g is the client the running command built, for Refine's probe.
	g *apiclient.GitLab
}

// Show ends a command: a failed call exits with its error's status;
// otherwise v is written in the format output names: JSON, or text (by
// text, or, when it is nil, as cliout.Detail shows v).
func Show(w io.Writer, output string, v any, err error, text func(io.Writer) error) error {
	if err != nil {
		return cliout.Fail(err)
	}
	return cliout.Show(w, output, v, text)
}

// Group returns a command group whose subcommands talk to the API; it
// carries the persistent --url flag.
func (a *API) Group(use, short string) *cobra.Command {
	cmd := Group(use, short)
	a.URLFlag(cmd.PersistentFlags().StringVar, "")
	return cmd
}

// URLFlag registers --url with register; extra ends its usage.
func (a *API) URLFlag(register func(*string, string, string, string), extra string) {
	register(&a.url, "url", "", "botgate server URL"+extra+" (default: $BOTGATE_URL, else the one stored by botgate login)")
}

// Command registers --output on a data-printing command and checks it
// before the command runs.
func (a *API) Command(cmd *cobra.Command) *cobra.Command {
	OutputFlag(cmd, &a.output)
	cmd.PreRunE = func(*cobra.Command, []string) error { return cliout.Usage(cliout.Check(a.output)) }
	return cmd
}

// Show is Show to the command's standard output, in its --output format.
func (a *API) Show(v any, err error, text func(io.Writer) error) error {
	return Show(a.Stdout, a.output, v, err, text)
}

// Change shows an object a command created or changed: with text output,
// "<verb> <title>." and then its details.
func (a *API) Change(verb string, v any, err error) error {
	return a.Show(v, err, cliout.Changed(verb, v))
}

// Resolve resolves the connection: flags, environment, stored credentials.
func (a *API) Resolve() (apiclient.Resolved, error) {
	r, err := apiclient.Resolve(a.Getenv, a.url)
	return r, cliout.Fail(err)
}

// GitLab resolves the connection and builds the client of /api/v4.
func (a *API) GitLab() (*apiclient.GitLab, error) {
	_, g, err := a.ResolveGitLab()
	return g, err
}

// ResolveGitLab is GitLab that also returns the connection.
func (a *API) ResolveGitLab() (apiclient.Resolved, *apiclient.GitLab, error) {
	r, err := a.Resolve()
	if err != nil {
		return r, nil, err
	}
	g, err := apiclient.NewGitLab(r, apiclient.Options{})
	a.g = g
	return r, g, cliout.Fail(err)
}

// V1 resolves the connection and builds the client of botgate's own API.
func (a *API) V1() (*apiclient.V1, error) {
	r, err := a.Resolve()
	if err != nil {
		return nil, err
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliout.Fail(err)
}

// OnGitLab shows what call returns, called with the client of /api/v4.
func OnGitLab[V any](a *API, call func(*apiclient.GitLab) (V, error)) error {
	g, err := a.GitLab()
	if err != nil {
		return err
	}
	v, err := call(g)
	return a.Show(v, err, nil)
}

// OnGitLabPage is OnGitLab for a list command: it also checks the paging
// flags.
func OnGitLabPage[V any](a *API, pf Page, call func(*apiclient.GitLab, apiclient.Page) ([]V, error)) error {
	g, err := a.GitLab()
	if err != nil {
		return err
	}
	p, err := pf.Check()
	if err != nil {
		return err
	}
	vs, err := call(g, p)
	return a.Show(vs, err, nil)
}

// ChangeOn shows, as Change does, the object that call created or changed
// with the client of /api/v4.
func (a *API) ChangeOn(verb string, call func(*apiclient.GitLab) (any, error)) error {
	g, err := a.GitLab()
	if err != nil {
		return err
	}
	v, err := call(g)
	return a.Change(verb, v, err)
}

// OnV1 shows what call returns, called with the client of botgate's own
// API.
func OnV1[V any](a *API, call func(*apiclient.V1) (V, error)) error {
	c, err := a.V1()
	if err != nil {
		return err
	}
	v, err := call(c)
	return a.Show(v, err, nil)
}

// RefineAll makes the RunE of cmd and its subcommands improve a 401 with
// apiclient.GitLab.Refine: a token that still works, refused something it
// may not do.
func (a *API) RefineAll(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		a.RefineAll(sub)
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

// ParseID parses a positive numeric ID argument; a bad one is a usage
// error.
func ParseID(what, s string) (int64, error) {
	id, err := apiclient.ParseID(what, s)
	return id, cliout.Usage(err)
}
