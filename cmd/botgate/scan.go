package main

import (
	"github.com/spf13/cobra"

	"context"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"

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
			if err := checkFormat(o.output, cliout.Text, cliout.JSON, cliout.SARIF); err != nil {
				return err
			}
			if o.git && o.stdin {
				return usageErr("--git and --stdin do not go together")
			}
			src := scan.Sources{Paths: args, Git: o.git}
			if o.stdin {
				src.Stdin = e.stdin
			} else if len(args) == 0 {
				src.Paths = []string{"."}
			}
			maxSize := o.maxSize
			if maxSize == 0 {
				maxSize = -1
			}
			s, err := scan.New(scan.Config{Prefixes: o.prefixes, Ignore: o.ignore, MaxFileSize: maxSize})
			if err != nil {
				return usageErr("%v", err)
			}
			res := &scan.Result{}
			if err := s.Scan(cmd.Context(), src, res); err != nil {
				return scanErr(err)
			}
			var revokeErr error
			if o.revoke {
				revokeErr = res.Revoke(cmd.Context(), a.reportLeaks())
			}
			if err := cliout.ShowReport(e.stdout, o.output, res); err != nil {
				return err
			}
			if revokeErr != nil {
				return revokeErr
			}
			if n := len(res.Findings); n > 0 {
				return cliout.Exitf(cliout.ExitFailure, "scan: %d token(s) found", n)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(cli.FlagError)
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
	return cliout.Exit(cliout.ExitUsage, cliout.Shown(err))
}

// reportLeaks reports leaked tokens to the server, building the client
// at the first batch, so that a scan that finds nothing needs none.
func (a *apiCmd) reportLeaks() func(context.Context, []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
	var c *apiclient.V1
	return func(ctx context.Context, items []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
		var err error
		if c == nil {
			if c, err = a.v1(); err != nil {
				return nil, err
			}
		}
		answers, err := c.ReportLeaks(ctx, items)
		return answers, cliErr(err)
	}
}
