package main

import (
	"errors"

	"github.com/botgate/botgate/cliout"
)

// The exit statuses (cliout's table, documented in docs/cli.md) and the
// errors that carry them, by the short names the local-instance commands
// and the tests use. main exits with exitCode(err).
const (
	exitOK        = cliout.ExitOK
	exitFailure   = cliout.ExitFailure
	exitUsage     = cliout.ExitUsage
	exitIntegrity = cliout.ExitIntegrity
	exitAuth      = cliout.ExitAuth
	exitNotFound  = cliout.ExitNotFound
	exitServer    = cliout.ExitServer
	exitChanges   = cliout.ExitChanges
)

var (
	exitCode    = cliout.ExitCode
	cliErr      = cliout.Fail
	usage       = cliout.Usage
	usageErr    = cliout.Usagef
	writeJSON   = cliout.WriteJSON
	checkFormat = func(output string, allowed ...string) error { return usage(cliout.Check(output, allowed...)) }
	checkOutput = func(output string) error { return checkFormat(output) }
)

// errPlanChanges is the error of a plan --exit-code that found changes.
var errPlanChanges = errors.New("the plan has changes (exit status 7, --exit-code)")

// exitError is an error with an exit status, as cliout.ExitError.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string   { return e.err.Error() }
func (e *exitError) Unwrap() error   { return e.err }
func (e *exitError) ExitStatus() int { return e.code }
