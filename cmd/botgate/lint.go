package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
		Long: `lint checks the local instance's live tokens, users, service accounts, vault secrets
and the usage the gateway recorded against botgate's rules (BG001 token reuse, BG002 a
personal token serving an automation, BG003 a shared token, BG004 scopes broader than
the calls needed, BG005 no owner team, BG006 a temporary automation without expiry,
BG007 unused, BG008 expiring soon, BG009 a service account on one project, BG010 a
rate limit above policy, BG011 a secret readable by too many, BG012 a bot token
naming no automation, BG013 a group token used on one project, BG014 a trust policy
admitting any project or any ref). Every finding says
what to do.

With -f, the automations, service accounts and rate-limit policy come from the
manifest (findings point at its lines); without, from the automation records that
apply wrote. Usage counts over --window (default 30d).

The exit status is 0 when no finding reaches --fail-on (default error), 1 when
warnings (or notes) do, 2 when there is an error. lint works on the local instance
(--data-dir); a server answers the same report at GET /api/botgate/v1/lint.`,
		Example: `  botgate lint
  botgate lint -f examples/automations.yaml --fail-on warning
  botgate lint --output sarif > botgate.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "sarif":
			default:
				return usageErr("--output must be text, json or sarif, not %q", output)
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
			switch output {
			case "json":
				err = rep.WriteJSON(e.stdout)
			case "sarif":
				err = rep.WriteSARIF(e.stdout)
			default:
				err = rep.WriteText(e.stdout)
			}
			if err != nil {
				return err
			}
			if code := lint.ExitCode(rep, fail); code != 0 {
				c := rep.Counts()
				return &exitError{code: code, err: fmt.Errorf("lint: %d error(s), %d warning(s), %d note(s)", c.Errors, c.Warnings, c.Notes)}
			}
			return nil
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
