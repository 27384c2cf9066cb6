package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

func newLintCmd(e *env) *cobra.Command {
	var (
		o        localOptions
		file     string
		output   string
		failOn   string
		window   string
		cfg      lint.Config
		disabled []string
	)
	cmd := &cobra.Command{
		Use:   "lint [-f FILE]",
		Short: "Check the instance against the one-token-per-automation practice",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output, cliout.Text, cliout.JSON, cliout.SARIF); err != nil {
				return err
			}
			fail, err := lint.ParseSeverity(failOn)
			if err != nil {
				return usageErr("--fail-on must be error, warning or note, not %q", failOn)
			}
			days, err := manifest.ParseDays(window)
			if err != nil || days <= 0 {
				return usageErr("--window must be a number of days or weeks such as 30d or 4w, not %q", window)
			}
			for _, d := range disabled {
				for _, id := range strings.Split(d, ",") {
					cfg.Disabled = append(cfg.Disabled, strings.ToUpper(strings.TrimSpace(id)))
				}
			}
			c, err := o.server(cmd, e)
			if err != nil {
				return err
			}
			if c != nil {
				if file == "" {
					return usageErr("through a server, lint needs -f FILE: the manifest whose part you may see")
				}
				_, raw, err := readManifestRaw(e, file)
				if err != nil {
					return err
				}
				rep, err := c.LintManifest(cmd.Context(), raw, apiclient.ManifestOptions{Lint: cfg.Query()})
				if err != nil {
					return cliErr(err)
				}
				return showLint(e, output, rep, fail)
			}
			opts := governance.SnapshotOptions{Window: daysDuration(days)}
			if file != "" {
				if opts.Manifest, err = readManifest(e, file); err != nil {
					return err
				}
			}
			gov, done, err := localGovernor(cmd.Context(), e, o, false)
			if err != nil {
				return err
			}
			defer done()
			rep, err := gov.Lint(cmd.Context(), opts, cfg)
			if err != nil {
				return err
			}
			return showLint(e, output, rep, fail)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "the automations manifest to check with the live state (optional)")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or sarif")
	f.StringVar(&failOn, "fail-on", "error", "lowest severity that makes the exit status non-zero: error, warning or note")
	f.StringVar(&window, "window", "30d", "how far back recorded usage counts")
	f.IntVar(&cfg.UnusedDays, "unused-days", 0, "report tokens unused this many days (default 30)")
	f.IntVar(&cfg.ExpiringDays, "expiring-days", 0, "report tokens expiring within this many days (default 14)")
	f.StringSliceVar(&disabled, "disable", nil, "rule IDs not to run (repeatable or comma-separated)")
	localFlags(cmd, e, &o, false)
	return cmd
}

// daysDuration is a whole number of days as a duration.
func daysDuration(days int) time.Duration { return time.Duration(days) * 24 * time.Hour }

// showLint shows the report and returns the exit status its findings at
// or above fail call for.
func showLint(e *env, output string, rep *lint.Report, fail lint.Severity) error {
	if err := cliout.ShowReport(e.stdout, output, rep); err != nil {
		return err
	}
	if code := lint.ExitCode(rep, fail); code != 0 {
		c := rep.Counts()
		return &exitError{code: code, err: fmt.Errorf("lint: %d error(s), %d warning(s), %d note(s)", c.Errors, c.Warnings, c.Notes)}
	}
	return nil
}
