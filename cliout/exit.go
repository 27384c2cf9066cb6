package cliout

import (
	"errors"
	"fmt"

	"github.com/botgate/botgate"
)

// The exit statuses of every botgate command, documented in docs/cli.md
// ("Errors and exit status"). botgate exits with ExitCode(err).
const (
	ExitOK        = 0 // success
	ExitFailure   = 1 // any other failure (a bad local file included); scan found tokens; lint found findings at --fail-on
	ExitUsage     = 2 // bad flags, arguments, configuration file or unknown command, for every command
	ExitIntegrity = 3 // an integrity check failed: a broken audit chain, vault secrets that do not open
	ExitAuth      = 4 // token missing, rejected, or lacking scope or role
	ExitNotFound  = 5 // the thing named does not exist or is hidden
	ExitServer    = 6 // the server failed, rate limited the request, or could not be reached
	ExitChanges   = 7 // plan --exit-code: the plan has changes (apply would change the instance)
)

// ExitError is an error that calls for a specific exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitStatus is Code.
func (e *ExitError) ExitStatus() int { return e.Code }

// Exit returns an error that exits with code and says err.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// Exitf is Exit with a formatted message.
func Exitf(code int, format string, args ...any) error {
	return Exit(code, fmt.Errorf(format, args...))
}

// ExitCode is the exit status for err: the status of the outermost error
// in its chain that has one (an ExitStatus method), else ExitFailure.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e interface{ ExitStatus() int }
	if errors.As(err, &e) {
		return e.ExitStatus()
	}
	return ExitFailure
}

// ForKind is the exit status that a *botgate.Error's kind calls for.
func ForKind(k botgate.Kind) int {
	switch k {
	case botgate.KindUnauthenticated, botgate.KindForbidden:
		return ExitAuth
	case botgate.KindNotFound:
		return ExitNotFound
	case botgate.KindInternal, botgate.KindRateLimited:
		return ExitServer
	}
	return ExitFailure
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

// Shown is err said by its caller-facing message alone.
func Shown(err error) error { return shown{err} }

// Fail wraps err in an ExitError whose code follows its kind; an error
// that already carries a code keeps it.
func Fail(err error) error {
	if err == nil {
		return nil
	}
	var e interface{ ExitStatus() int }
	if errors.As(err, &e) {
		return err
	}
	return Exit(ForKind(botgate.KindOf(err)), shown{err})
}

// Usage makes err, a refusal of a flag or argument, a usage error (exit
// status 2).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return Exit(ExitUsage, shown{err})
}

// Usagef is a usage error (exit status 2) with a KindInvalid message.
func Usagef(format string, args ...any) error {
	return Usage(botgate.Errorf(botgate.KindInvalid, format, args...))
}

// Invalid makes err a usage error when it is KindInvalid (a setting of the
// command line or the configuration is to be fixed), else leaves it.
func Invalid(err error) error {
	if botgate.IsKind(err, botgate.KindInvalid) {
		return Usage(err)
	}
	return err
}
