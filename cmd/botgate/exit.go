package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
)

// The exit statuses of every botgate command, documented in docs/cli.md
// ("Errors and exit status"). main exits with exitCode(err).
const (
	exitOK        = 0 // success
	exitFailure   = 1 // any other failure (a bad local file included); scan found tokens; lint found findings at --fail-on
	exitUsage     = 2 // bad flags, arguments, configuration file or unknown command, for every command
	exitIntegrity = 3 // an integrity check failed: a broken audit chain, vault secrets that do not open
	exitAuth      = 4 // token missing, rejected, or lacking scope or role
	exitNotFound  = 5 // the thing named does not exist or is hidden
	exitServer    = 6 // the server failed, rate limited the request, or could not be reached
	exitChanges   = 7 // plan --exit-code: the plan has changes (apply would change the instance)
)

// errPlanChanges is the error of a plan --exit-code that found changes.
var errPlanChanges = errors.New("the plan has changes (exit status 7, --exit-code)")

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the exit status for err: the code of the outermost
// exitError in its chain, else exitFailure.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailure
}

// codeOf is the exit status that a *botgate.Error's kind calls for.
func codeOf(k botgate.Kind) int {
	switch k {
	case botgate.KindUnauthenticated, botgate.KindForbidden:
		return exitAuth
	case botgate.KindNotFound:
		return exitNotFound
	case botgate.KindInternal, botgate.KindRateLimited:
		return exitServer
	}
	return exitFailure
}

// shown displays a *botgate.Error by its caller-facing message alone; the
// full error stays in the chain.
type shown struct{ err error }

func (s shown) Error() string {
	if m := botgate.MessageOf(s.err); m != "" {
		return m
	}
	return s.err.Error()
}
func (s shown) Unwrap() error { return s.err }

// cliErr wraps err in an exitError whose code follows its kind; an error
// that already carries a code keeps it.
func cliErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: codeOf(botgate.KindOf(err)), err: shown{err}}
}

// usageErr is a usage error (exit status 2).
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: shown{botgate.Errorf(botgate.KindInvalid, format, args...)}}
}

// flagError makes a bad flag a usage error (exit status 2).
func flagError(cmd *cobra.Command, err error) error {
	return usageErr("%v: see '%s --help'", err, cmd.CommandPath())
}

// usageArgs makes every command's argument check, and an unknown command,
// a usage error (exit status 2) like a bad flag.
func usageArgs(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageErr("%v: see '%s --help'", err, cmd.CommandPath())
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
					return usageErr("unknown command %q for %q: see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
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
