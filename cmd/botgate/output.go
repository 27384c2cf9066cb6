package main

import (
	"io"

	"github.com/botgate/botgate/cliout"
)

// The one way every command ends: show for a result, usage for a flag the
// packages refuse; exit.go turns the error into the exit status.

// show ends a command: a failed call exits with its error's status;
// otherwise v is written in the format output names: JSON, or text (by
// text, or, when it is nil, as cliout.Detail shows v).
func show(w io.Writer, output string, v any, err error, text func(io.Writer) error) error {
	if err != nil {
		return cliErr(err)
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
	return a.show(v, err, func(w io.Writer) error {
		if _, err := io.WriteString(w, verb+" "+cliout.Title(v)+".\n"); err != nil {
			return err
		}
		return cliout.Detail(w, v)
	})
}

// usage makes a package's refusal of a flag or argument (a KindInvalid
// error) a usage error.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: shown{err}}
}

// checkFormat checks --output against the formats a command offers.
func checkFormat(output string, allowed ...string) error {
	return usage(cliout.Check(output, allowed...))
}
