package scan

import (
	"context"
	"io"
	"strconv"

	"github.com/botgate/botgate/apiwire"
)

// Sources are what Scan reads: standard input when Stdin is set, and each
// path, as a file or directory tree or, with Git, as a repository's
// history.
type Sources struct {
	Stdin io.Reader
	Paths []string
	Git   bool
}

// Scan scans every source in src into res, stopping at the first that
// cannot be scanned.
func (s *Scanner) Scan(ctx context.Context, src Sources, res *Result) error {
	if src.Stdin != nil {
		if err := s.Stdin(ctx, src.Stdin, res); err != nil {
			return err
		}
	}
	for _, p := range src.Paths {
		scan := s.Path
		if src.Git {
			scan = s.GitHistory
		}
		if err := scan(ctx, p, res); err != nil {
			return err
		}
	}
	return nil
}

// revocationWords are how findings show the server's statuses.
var revocationWords = map[string]string{
	"revoked":          "revoked",
	"already_inactive": "already inactive",
	"unknown":          "unknown to this instance",
}

// Revoke sends each distinct checksum-valid token found to report, in
// batches of at most apiwire.MaxLeakItems, and records the outcome on every
// finding of it. Legacy-format tokens are never botgate's and are not sent.
// A failed report stops the batches; the findings not answered say "not
// revoked", and Revoke returns report's error.
func (r *Result) Revoke(ctx context.Context, report func(context.Context, []apiwire.LeakItem) ([]apiwire.LeakAnswer, error)) error {
	var items []apiwire.LeakItem
	var fps []string
	seen := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Format != FormatRoutable {
			f.Revocation = "not sent (legacy format)"
			continue
		}
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		loc := f.Path + "#L" + strconv.Itoa(f.Line)
		if f.Commit != "" {
			loc = f.Commit + "/" + loc
		}
		items = append(items, apiwire.LeakItem{Type: apiwire.LeakTokenType, Token: f.Secret(), URL: loc})
		fps = append(fps, f.Fingerprint)
	}
	outcome := map[string]string{}
	var err error
	for start := 0; start < len(items) && err == nil; start += apiwire.MaxLeakItems {
		var answers []apiwire.LeakAnswer
		answers, err = report(ctx, items[start:min(start+apiwire.MaxLeakItems, len(items))])
		for i, ans := range answers {
			w, ok := revocationWords[ans.Status]
			if !ok {
				w = ans.Status
			}
			outcome[fps[start+i]] = w
		}
	}
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Format == FormatRoutable {
			if f.Revocation = outcome[f.Fingerprint]; f.Revocation == "" {
				f.Revocation = "not revoked"
			}
		}
	}
	return err
}
