// Package cli holds the conventions every botgate command follows on top
// of cobra, so that each command is only its flags and a call into the
// package that does the work: a bad flag, argument or unknown command is
// a usage error (exit status 2, see cliout); a group of commands run alone
// shows its help; the help text comes from docs/commands.md; the
// configuration file's settings become flag values; --output, the paging
// flags and the flags of an update that say what it changes.
package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/config"
	"github.com/botgate/botgate/docs"
)

// FlagError makes a bad flag a usage error (exit status 2).
func FlagError(cmd *cobra.Command, err error) error {
	return cliout.Usagef("%v: see '%s --help'", err, cmd.CommandPath())
}

// unknown is the usage error of an unknown subcommand of cmd.
func unknown(cmd *cobra.Command, name string) error {
	return cliout.Usagef("unknown command %q for %q: see '%s --help'", name, cmd.CommandPath(), cmd.CommandPath())
}

// Group is a command that only holds subcommands: without one it shows
// the help; an unknown one is a usage error (cobra would print the help
// and succeed).
func Group(use, short string) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknown(cmd, args[0])
			}
			return cmd.Help()
		},
	}
	cmd.SetFlagErrorFunc(FlagError)
	return cmd
}

// Finish readies the command tree under root: every command's argument
// check, and an unknown command, become usage errors like a bad flag, and
// each command gets the help docs/commands.md holds for it.
func Finish(root *cobra.Command) {
	help := docs.Commands()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if h, ok := help[c.CommandPath()]; ok {
			c.Long, c.Example = h.Long, h.Example
		}
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return FlagError(cmd, err)
				}
				return nil
			}
		} else if c.HasSubCommands() {
			// A group of commands run alone shows its help; with an
			// unknown subcommand it is a usage error.
			if !c.Runnable() {
				c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
			}
			c.Args = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return unknown(cmd, args[0])
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// LoadConfig reads the configuration file at path, if any, and gives each
// flag of cmd that the file sets the file's value, unless the flag was
// given or its environment variable is set. It returns the file, nil
// without one.
func LoadConfig(cmd *cobra.Command, getenv func(string) string, path string) (*config.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, cliout.Exit(cliout.ExitUsage, err)
	}
	for _, s := range f.Settings() {
		fl := cmd.Flags().Lookup(s.Flag)
		if fl == nil || fl.Changed || (s.Env != "" && getenv(s.Env) != "") {
			continue
		}
		if err := fl.Value.Set(s.Value); err != nil {
			return nil, cliout.Usagef("%s: %s: %v", path, s.Flag, err)
		}
	}
	return f, nil
}

// OutputFlag registers --output text|json.
func OutputFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", "text", "output format: text or json")
}

// Page holds a list command's paging flags.
type Page struct {
	all     bool
	page    int64
	perPage int64
}

// Register registers --all, --page and --per-page on cmd.
func (p *Page) Register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.all, "all", false, "fetch every page")
	cmd.Flags().Int64Var(&p.page, "page", 1, "page to fetch (ignored with --all)")
	cmd.Flags().Int64Var(&p.perPage, "per-page", 20, "items per page (1-100)")
}

// Check checks the paging flags and returns the page they ask for.
func (p Page) Check() (apiclient.Page, error) {
	if p.perPage < 1 || p.perPage > 100 {
		return apiclient.Page{}, cliout.Usagef("--per-page must be between 1 and 100")
	}
	if p.page < 1 {
		return apiclient.Page{}, cliout.Usagef("--page must be 1 or more")
	}
	return apiclient.Page{All: p.all, Page: p.page, PerPage: p.perPage}, nil
}

// Changed returns a pointer to v when the flag was given, else nil, so an
// update sends only what the user changed.
func Changed(cmd *cobra.Command, flag, v string) *string {
	if cmd.Flags().Changed(flag) {
		return &v
	}
	return nil
}

// NeedChange refuses an update that changes nothing.
func NeedChange(cmd *cobra.Command, flags ...string) error {
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return nil
		}
	}
	return cliout.Usagef("nothing to change: give at least one of --%s", strings.Join(flags, ", --"))
}
