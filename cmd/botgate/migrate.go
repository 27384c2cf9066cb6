package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/migrate"
)

func newMigrateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Plan the move from one shared bot to one token per automation"}
	cmd.AddCommand(newMigratePlanCmd(e), newMigrateSampleCmd(e))
	return cmd
}

func newMigratePlanCmd(e *env) *cobra.Command {
	var (
		logFile, format, out, report string
		opts                         migrate.Options
	)
	cmd := &cobra.Command{
		Use: "plan --log FILE", Short: "Propose a manifest with one automation per client of a shared bot", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if logFile == "" {
				return cliout.Usagef("--log FILE is required: the shared bot's request log")
			}
			reqs, err := migrate.ReadLog(e.stdin, logFile, format)
			if err != nil {
				return cliout.Invalid(err)
			}
			p, err := migrate.Plan(reqs, opts)
			if err != nil {
				return err
			}
			if err := cliout.ToFile(e.stdout, out, p.WriteManifest); err != nil {
				return err
			}
			if report != "" {
				return cliout.ToFile(e.stdout, report, p.ReportWriter(report))
			}
			return p.WriteSummary(e.stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&logFile, "log", "", "the shared bot's request log (- for standard input)")
	f.StringVar(&format, "format", "", "the log's format, gitlab or botgate (default: recognised per line)")
	f.StringVarP(&out, "out", "o", "", "write the proposed manifest here (default standard output)")
	f.StringVar(&report, "report", "", "write the grouping report here (JSON if the name ends in .json)")
	f.StringVar(&opts.Owner, "owner", "", "the team (group path) to own the proposed automations (default: the top-level group the log touches most)")
	f.StringVar(&opts.ExpiresIn, "expires-in", "", "token lifetime of the proposed automations (default 90d)")
	f.StringVar(&opts.Upstream, "upstream", "", "upstream API base URL to put on every proposed automation")
	return cmd
}

func newMigrateSampleCmd(e *env) *cobra.Command {
	var (
		seed   uint64
		lines  int
		format string
	)
	cmd := &cobra.Command{
		Use: "sample", Short: "Write a realistic sample request log of a shared bot", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, ok := migrate.ParseFormat(format)
			if !ok {
				return cliout.Usagef("--format must be gitlab or botgate, not %q", format)
			}
			if lines < migrate.MinSampleLines {
				return cliout.Usagef("--lines must be at least %d", migrate.MinSampleLines)
			}
			return migrate.GenerateSample(e.stdout, seed, lines, f)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().IntVar(&lines, "lines", 500, "number of log lines")
	cmd.Flags().StringVar(&format, "format", "gitlab", "gitlab (api_json.log) or botgate (usage records)")
	return cmd
}
