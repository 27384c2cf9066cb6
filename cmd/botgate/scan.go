package main

import (
	"cmp"
	"context"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/scan"
)

func newScanCmd(e *env) *cobra.Command {
	var req scan.Request
	var output string
	var revoke bool
	a := newAPI(e)
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find leaked botgate/GitLab tokens in files, directories, stdin or git history",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output, cliout.Text, cliout.JSON, cliout.SARIF); err != nil {
				return err
			}
			req.Paths = args
			res, err := scan.Run(cmd.Context(), req, e.stdin)
			if botgate.IsKind(err, botgate.KindNotFound) {
				// Not 1, which is "tokens found": 5 for a path that does
				// not exist, else 2.
				return cliout.Fail(err)
			} else if err != nil {
				return cliout.Usage(err)
			}
			var revokeErr error
			if revoke {
				revokeErr = res.Revoke(cmd.Context(), a.reportLeaks())
			}
			if err := cliout.ShowReport(e.stdout, output, res); err != nil || revokeErr != nil {
				return cmp.Or(err, revokeErr)
			}
			if n := len(res.Findings); n > 0 {
				return cliout.Exitf(cliout.ExitFailure, "scan: %d token(s) found", n)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(cli.FlagError)
	f := cmd.Flags()
	f.BoolVar(&req.Git, "git", false, "scan the git history of each PATH (a repository) instead of its files")
	f.BoolVar(&req.FromStdin, "stdin", false, "scan standard input")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or sarif")
	f.BoolVar(&revoke, "revoke", false, "revoke every checksum-valid token found through the botgate server")
	f.StringSliceVar(&req.Prefixes, "prefix", nil, "also look for tokens with this custom prefix (repeatable)")
	f.StringSliceVar(&req.Ignore, "ignore", nil, "skip paths matching this pattern (repeatable; 'dir/' for directories, 'a/*.txt' for paths)")
	f.Int64Var(&req.MaxSize, "max-size", 100<<20, "skip files larger than this many bytes when walking a directory (0: no limit)")
	a.URLFlag(f.StringVar, " for --revoke")
	return cmd
}

// reportLeaks reports leaked tokens to the server, building the client
// at the first batch, so that a scan that finds nothing needs none.
func (a *apiCmd) reportLeaks() func(context.Context, []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
	var c *apiclient.V1
	return func(ctx context.Context, items []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
		var err error
		if c == nil {
			if c, err = a.V1(); err != nil {
				return nil, err
			}
		}
		answers, err := c.ReportLeaks(ctx, items)
		return answers, cliout.Fail(err)
	}
}
