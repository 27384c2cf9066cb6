package apiclient

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

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

// OrDash shows an empty value as "-".
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FmtTime formats a timestamp for tables, in UTC.
func FmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// FmtStamp is FmtTime for an API timestamp; one that does not parse is
// shown as sent.
func FmtStamp(s *string) string {
	if s == nil {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return *s
	}
	return FmtTime(&t)
}

// orElse shows a missing date as def.
func orElse(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// YesNo shows a boolean as yes or no.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// dateString is a date for JSON, nil when absent.
func dateString(t *gitlab.ISOTime) *string {
	if t == nil || time.Time(*t).IsZero() {
		return nil
	}
	s := t.String()
	return &s
}

// optional returns a pointer to s, or nil when s is empty: an API option
// sent only when it was given a value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
