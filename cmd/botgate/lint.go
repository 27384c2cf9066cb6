package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cli"
)

func newLintCmd(e *env) *cobra.Command {
	var o localOptions
	var in cli.LintRequest
	cmd := &cobra.Command{
		Use: "lint [-f FILE]", Short: "Check the instance against the one-token-per-automation practice", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.governance(cmd, e).Lint(cmd.Context(), in)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&in.File, "file", "f", "", "the automations manifest to check with the live state (optional)")
	f.StringVarP(&in.Output, "output", "o", "text", "output format: text, json or sarif")
	f.StringVar(&in.FailOn, "fail-on", "error", "lowest severity that makes the exit status non-zero: error, warning or note")
	f.StringVar(&in.Window, "window", "30d", "how far back recorded usage counts")
	f.IntVar(&in.Config.UnusedDays, "unused-days", 0, "report tokens unused this many days (default 30)")
	f.IntVar(&in.Config.ExpiringDays, "expiring-days", 0, "report tokens expiring within this many days (default 14)")
	f.StringSliceVar(&in.Disabled, "disable", nil, "rule IDs not to run (repeatable or comma-separated)")
	localFlags(cmd, e, &o, false)
	return cmd
}
