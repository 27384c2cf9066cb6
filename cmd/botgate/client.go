package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cli"
)

// apiCmd is the state shared by the commands of one API command group.
type apiCmd struct{ *cli.API }

// newAPIGroup returns a command group whose subcommands talk to the API; it
// carries the persistent --url flag.
func newAPIGroup(e *env, use, short string) (*cobra.Command, *apiCmd) {
	a := newAPI(e)
	return a.Group(use, short), a
}

func newAPI(e *env) *apiCmd {
	return &apiCmd{&cli.API{Getenv: e.getenv, Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr}}
}
