package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/governance"
)

func newApplyCmd(e *env) *cobra.Command {
	var (
		o           localOptions
		file        string
		output      string
		prune       bool
		showSecrets bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the instance match an automations manifest",
		Long: `apply plans like 'botgate plan' and carries the steps out on the local instance:
teams, projects, service accounts, memberships, automation records, and one token per
automation, created, rotated or replaced as the plan says. It is idempotent: a second
apply changes nothing. Progress goes to standard error, one line per step.

Nothing is revoked unless the manifest says so (a replaced token, a second token of
one automation) or --prune is given (tokens no declared automation claims: drift,
and automations removed from the manifest).

Each new token's secret is stored in the owner team's vault as
vault:<team>/<automation>.token (the data directory's master key, or
BOTGATE_MASTER_KEY). --show-secrets also prints secrets once; they never appear in
progress lines or logs.

Each step is one atomic change, and a token is issued together with its vault
secret or not at all. After a failure, run apply again: it plans from what is there
and resumes.`,
		Example: `  botgate apply -f examples/automations.yaml
  botgate apply -f automations.yaml --prune
  botgate apply -f automations.yaml --show-secrets --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return usageErr("%v", err)
			}
			m, err := readManifest(e, file)
			if err != nil {
				return err
			}
			gov, done, err := localGovernor(cmd.Context(), e, o, true)
			if err != nil {
				return err
			}
			defer done()
			// No other apply may change the instance between this plan
			// and this apply.
			unlock, err := gov.Lock(cmd.Context())
			if err != nil {
				return err
			}
			defer unlock()
			ch, err := gov.Plan(cmd.Context(), m)
			if err != nil {
				return err
			}
			for _, w := range ch.Warnings {
				fmt.Fprintln(e.stderr, "warning:", w)
			}
			if !prune {
				if n := len(ch.Actions) - len(ch.WithoutPrune().Actions); n > 0 {
					fmt.Fprintf(e.stderr, "note: %d prune step(s) skipped; see 'botgate plan' and pass --prune to run them\n", n)
				}
			}
			res, err := gov.Apply(cmd.Context(), ch, governance.ApplyOptions{Prune: prune, ShowSecrets: showSecrets, Progress: e.stderr, Manifest: m})
			if output == "json" {
				if werr := writeJSON(e.stdout, governance.NewApplyJSON(ch, res, err)); werr != nil {
					return werr
				}
				return err
			}
			if werr := res.WriteIssued(e.stdout); werr != nil {
				return werr
			}
			if err != nil {
				return fmt.Errorf("%w (run apply again to resume)", err)
			}
			return res.WriteSummary(e.stdout)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automations manifest (YAML; - for standard input)")
	cmd.Flags().BoolVar(&prune, "prune", false, "also revoke tokens no declared automation claims (drift, removed automations)")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print new token secrets once (they are kept in the vault in any case)")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, true)
	return cmd
}
