package main

import (
	"io"

	"github.com/botgate/botgate/cliout"
)

// show ends a command: a failed call exits with its error's status;
// otherwise v is written in the format output names: JSON, or text (by
// text, or, when it is nil, as cliout.Detail shows v).
func show(w io.Writer, output string, v any, err error, text func(io.Writer) error) error {
	if err != nil {
		return cliout.Fail(err)
	}
	return cliout.Show(w, output, v, text)
}

// show is show to the command's standard output, in its --output format.
func (a *apiCmd) show(v any, err error, text func(io.Writer) error) error {
	return show(a.e.stdout, a.output, v, err, text)
}

// change shows an object a command created or changed: with text output,
// "<verb> <title>." and then its details.
func (a *apiCmd) change(verb string, v any, err error) error {
	return a.show(v, err, cliout.Changed(verb, v))
}
