package main

import "github.com/botgate/botgate/cliout"

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
