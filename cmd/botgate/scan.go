package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/scan"
)

// scanOptions are botgate scan's flags.
type scanOptions struct {
	git      bool
	stdin    bool
	output   string
	revoke   bool
	prefixes []string
	ignore   []string
	maxSize  int64
}

func newScanCmd(e *env) *cobra.Command {
	var o scanOptions
	a := &apiCmd{e: e}
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find leaked botgate/GitLab tokens in files, directories, stdin or git history",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.output {
			case "text", "json", "sarif":
			default:
				return usageErr("--output must be text, json or sarif, not %q", o.output)
			}
			if o.git && o.stdin {
				return usageErr("--git and --stdin do not go together")
			}
			if len(args) == 0 && !o.stdin {
				args = []string{"."}
			}
			maxSize := o.maxSize
			if maxSize == 0 {
				maxSize = -1
			}
			s, err := scan.New(scan.Config{Prefixes: o.prefixes, Ignore: o.ignore, MaxFileSize: maxSize})
			if err != nil {
				return usageErr("%v", err)
			}
			ctx := cmd.Context()
			res := &scan.Result{}
			if o.stdin {
				if err := s.Stdin(ctx, e.stdin, res); err != nil {
					return scanErr(err)
				}
			}
			for _, p := range args {
				if o.git {
					err = s.GitHistory(ctx, p, res)
				} else {
					err = s.Path(ctx, p, res)
				}
				if err != nil {
					return scanErr(err)
				}
			}
			var revokeErr error
			if o.revoke {
				revokeErr = a.revokeFindings(cmd, res)
			}
			switch o.output {
			case "json":
				err = res.WriteJSON(e.stdout)
			case "sarif":
				err = res.WriteSARIF(e.stdout)
			default:
				err = res.WriteText(e.stdout)
			}
			if err != nil {
				return err
			}
			if revokeErr != nil {
				return revokeErr
			}
			if n := len(res.Findings); n > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("scan: %d token(s) found", n)}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	f := cmd.Flags()
	f.BoolVar(&o.git, "git", false, "scan the git history of each PATH (a repository) instead of its files")
	f.BoolVar(&o.stdin, "stdin", false, "scan standard input")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or sarif")
	f.BoolVar(&o.revoke, "revoke", false, "revoke every checksum-valid token found through the botgate server")
	f.StringSliceVar(&o.prefixes, "prefix", nil, "also look for tokens with this custom prefix (repeatable)")
	f.StringSliceVar(&o.ignore, "ignore", nil, "skip paths matching this pattern (repeatable; 'dir/' for directories, 'a/*.txt' for paths)")
	f.Int64Var(&o.maxSize, "max-size", 100<<20, "skip files larger than this many bytes when walking a directory (0: no limit)")
	f.StringVar(&a.url, "url", "", "botgate server URL for --revoke (default: $BOTGATE_URL, else the one stored by botgate login)")
	return cmd
}

// scanErr gives a scan failure an exit status that cannot be taken for
// "tokens found" (1): 5 for a path that does not exist, else 2.
func scanErr(err error) error {
	if botgate.IsKind(err, botgate.KindNotFound) {
		return cliErr(err)
	}
	return &exitError{code: exitUsage, err: shown{err}}
}

// revocationWords are how scan shows the server's statuses.
var revocationWords = map[string]string{
	"revoked":          "revoked",
	"already_inactive": "already inactive",
	"unknown":          "unknown to this instance",
}

// revokeFindings sends each distinct checksum-valid token found to the
// server, in batches, and records the outcome on every finding of it.
// Legacy-format tokens are never botgate's and are not sent.
func (a *apiCmd) revokeFindings(cmd *cobra.Command, res *scan.Result) error {
	var items []apiwire.LeakItem
	var fps []string
	seen := map[string]bool{}
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Format != scan.FormatRoutable {
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
	var c *apiclient.V1
	var err error
	if len(items) > 0 {
		c, err = a.v1()
	}
	for start := 0; start < len(items) && err == nil; start += apiwire.MaxLeakItems {
		end := min(start+apiwire.MaxLeakItems, len(items))
		var answers []apiwire.LeakAnswer
		if answers, err = c.ReportLeaks(cmd.Context(), items[start:end]); err != nil {
			err = cliErr(err)
			break
		}
		for i, ans := range answers {
			w, ok := revocationWords[ans.Status]
			if !ok {
				w = ans.Status
			}
			outcome[fps[start+i]] = w
		}
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Format != scan.FormatRoutable {
			continue
		}
		if w, ok := outcome[f.Fingerprint]; ok {
			f.Revocation = w
		} else {
			f.Revocation = "not revoked"
		}
	}
	return err
}
