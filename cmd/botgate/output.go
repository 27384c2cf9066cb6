package main

import (
	"io"

	"github.com/botgate/botgate/apiclient"
)

// render ends an API command: a failed call exits with its error's status;
// otherwise v is written as JSON with --output json, else by text.
func (a *apiCmd) render(v any, err error, text func(w io.Writer) error) error {
	if err != nil {
		return cliErr(err)
	}
	if a.output == "json" {
		return writeJSON(a.e.stdout, v)
	}
	return text(a.e.stdout)
}

// detailed is a view with aligned "name: value" details.
type detailed interface{ Fields() [][2]string }

// renderOne renders one object: with text output, headline (when not
// empty) and then its details.
func (a *apiCmd) renderOne(v detailed, err error, headline func() string) error {
	return a.render(v, err, func(w io.Writer) error {
		if headline != nil {
			if _, err := io.WriteString(w, headline()+"\n"); err != nil {
				return err
			}
		}
		return apiclient.Fields(w, v.Fields())
	})
}

// renderList renders a list: a JSON array (empty, never null), or a table
// under header with one row per view.
func renderList[V interface{ Row() []string }](a *apiCmd, vs []V, err error, header []string) error {
	if vs == nil {
		vs = []V{}
	}
	return a.render(vs, err, func(w io.Writer) error {
		rows := make([][]string, 0, len(vs))
		for _, v := range vs {
			rows = append(rows, v.Row())
		}
		return apiclient.Table(w, header, rows)
	})
}

// say renders a command that changes something and shows no object: out as
// JSON, or the sentence line.
func (a *apiCmd) say(out any, err error, line string) error {
	return a.render(out, err, func(w io.Writer) error {
		_, err := io.WriteString(w, line+"\n")
		return err
	})
}

// titled is a view that names itself in messages, e.g. `group 3 "team-a"`.
type titled interface {
	detailed
	Title() string
}

// renderChange renders an object a command created or changed: with text
// output, "<verb> <title>." and then its details.
func (a *apiCmd) renderChange(verb string, v titled, err error) error {
	return a.renderOne(v, err, func() string { return verb + " " + v.Title() + "." })
}
