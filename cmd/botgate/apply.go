package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			m, gov, done, err := o.open(cmd.Context(), e, file, true)
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
				if werr := cliout.WriteJSON(e.stdout, governance.NewApplyJSON(ch, res, err)); werr != nil {
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
