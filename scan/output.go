package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// Rules returns the scanner's rules, for SARIF's rule table.
func Rules() []lint.Rule {
	return []lint.Rule{
		{ID: RuleToken, Name: "leaked-token", Severity: lint.SeverityError,
			Summary: "A checksum-valid botgate/GitLab access token (routable layout) is in the scanned content.",
			Help:    "Revoke the token (botgate scan --revoke, botgate token revoke --secret-file, or POST /api/botgate/v1/leaks), issue its automation a new one, and remove the secret from the file and its history."},
		{ID: RuleLegacyToken, Name: "leaked-legacy-token", Severity: lint.SeverityWarning,
			Summary: "A GitLab personal access token in the legacy 20-character format, which has no checksum, is in the scanned content.",
			Help:    "It cannot be verified offline: check it on the GitLab instance that may have issued it, revoke it there, and remove it from the file and its history."},
	}
}

// where is the finding's location: path:line:column, after the commit for
// git history.
func (f *Finding) where() string {
	s := f.Path + ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)
	if f.Commit != "" {
		s = shortCommit(f.Commit) + ":" + s
	}
	return s
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func ruleName(id string) string {
	for _, r := range Rules() {
		if r.ID == id {
			return r.Name
		}
	}
	return id
}

// Counts is the number of findings per format.
type Counts struct {
	Tokens int `json:"tokens"`
	Legacy int `json:"legacy"`
}

// Counts counts the result's findings.
func (r *Result) Counts() Counts {
	var c Counts
	for _, f := range r.Findings {
		if f.Format == FormatLegacy {
			c.Legacy++
		} else {
			c.Tokens++
		}
	}
	return c
}

// WriteText writes one line per finding, "WHERE: SEVERITY ID name:
// REDACTED (FINGERPRINT)", with the revocation outcome when there is one,
// then the skipped files and a summary line.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	for i := range r.Findings {
		f := &r.Findings[i]
		fmt.Fprintf(&b, "%s: %s %s %s: %s (%s)", f.where(), f.Severity, f.RuleID, ruleName(f.RuleID), f.Redacted, f.Fingerprint)
		if f.Revocation != "" {
			fmt.Fprintf(&b, " - %s", f.Revocation)
		}
		b.WriteString("\n")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Path, s.Reason)
	}
	c := r.Counts()
	var parts []string
	if r.Stats.Files > 0 || r.Stats.Commits == 0 {
		parts = append(parts, plural(r.Stats.Files, "file"))
	}
	if r.Stats.Commits > 0 {
		parts = append(parts, plural(r.Stats.Commits, "commit"))
	}
	parts = append(parts, plural64(r.Stats.Bytes, "byte"))
	scanned := "scanned " + strings.Join(parts, ", ")
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "No tokens found (%s).\n", scanned)
	} else {
		fmt.Fprintf(&b, "%s: %s, %s (%s).\n", plural(len(r.Findings), "finding"),
			plural(c.Tokens, "checksum-valid token"), plural(c.Legacy, "legacy-format token"), scanned)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, noun string) string { return plural64(int64(n), noun) }

func plural64(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

type resultJSON struct {
	Counts   Counts    `json:"counts"`
	Findings []Finding `json:"findings"`
	Skipped  []Skipped `json:"skipped"`
	Stats    Stats     `json:"stats"`
}

// WriteJSON writes the result as indented JSON: counts, findings, skipped
// files and stats. Findings carry the redacted form and fingerprint only.
func (r *Result) WriteJSON(w io.Writer) error {
	out := resultJSON{Counts: r.Counts(), Findings: r.Findings, Skipped: r.Skipped, Stats: r.Stats}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return botgate.E("scan.WriteJSON", botgate.KindInternal, err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// WriteSARIF writes the result as a SARIF 2.1.0 log through lint's writer
// (tool "botgate-scan"): one result per finding, located at its file, line
// and column, logically at "secret/FINGERPRINT", with the fingerprint as
// the partial fingerprint so that code-scanning services track one secret
// across runs.
func (r *Result) WriteSARIF(w io.Writer) error {
	rep := &lint.Report{Tool: "botgate-scan", Rules: Rules(), Findings: make([]lint.Finding, 0, len(r.Findings))}
	for i := range r.Findings {
		f := &r.Findings[i]
		msg := f.Message() + " Token " + f.Redacted + " (" + f.Fingerprint + ")"
		if f.Commit != "" {
			msg += ", added in commit " + f.Commit
		}
		msg += "."
		if f.Revocation != "" {
			msg += " Revocation: " + f.Revocation + "."
		}
		file := f.Path
		if f.Source == "stdin" {
			file = "stdin"
		}
		rep.Findings = append(rep.Findings, lint.Finding{
			RuleID: f.RuleID, Rule: ruleName(f.RuleID), Severity: lint.Severity(f.Severity), Message: msg,
			Subject:  lint.Subject{Type: "secret", Name: f.Fingerprint},
			Position: &manifest.Position{File: file, Line: f.Line, Column: f.Column},
		})
	}
	return rep.WriteSARIF(w)
}
