package cliout

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/botgate/botgate"
)

// The formats of --output.
const (
	Text  = "text"
	JSON  = "json"
	SARIF = "sarif"
)

// Check returns a KindInvalid error unless format is one of allowed (Text
// and JSON when none is given).
func Check(format string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{Text, JSON}
	}
	if slices.Contains(allowed, format) {
		return nil
	}
	names := strings.Join(allowed, ", ")
	if i := strings.LastIndex(names, ", "); i >= 0 {
		names = names[:i] + " or " + names[i+2:]
	}
	return botgate.Errorf(botgate.KindInvalid, "--output must be %s, not %q", names, format)
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Show writes v as JSON when format is JSON; otherwise with text, or, when
// text is nil, as Detail does.
func Show(w io.Writer, format string, v any, text func(io.Writer) error) error {
	if format == JSON {
		return WriteJSON(w, emptyList(v))
	}
	if text == nil {
		return Detail(w, v)
	}
	return text(w)
}

// Line returns a text function writing one sentence, for a command that
// changes something and shows no object.
func Line(format string, args ...any) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := fmt.Fprintf(w, format+"\n", args...)
		return err
	}
}

// Report is a result with its own text, JSON and SARIF forms (scan's and
// lint's).
type Report interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
	WriteSARIF(io.Writer) error
}

// ShowReport writes r in format: Text, JSON or SARIF.
func ShowReport(w io.Writer, format string, r Report) error {
	switch format {
	case JSON:
		return r.WriteJSON(w)
	case SARIF:
		return r.WriteSARIF(w)
	}
	return r.WriteText(w)
}

// ToFile writes with write to file, or to stdout when file is "" or "-".
func ToFile(stdout io.Writer, file string, write func(io.Writer) error) error {
	if file == "" || file == "-" {
		return write(stdout)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Table writes rows under a header, aligned in columns.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Fields writes one object as aligned "name: value" lines.
func Fields(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, f := range kv {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}
