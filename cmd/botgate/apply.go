package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
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
			c, err := o.server(cmd, e)
			if err != nil {
				return err
			}
			if c != nil {
				return applyRemote(cmd, e, c, file, output, apiclient.ManifestOptions{Prune: prune, RevealSecrets: showSecrets})
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
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print new token secrets once (they are kept in the vault in any case); through a server, only if you may read the owning team's vault")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, true)
	return cmd
}

// applyRemote applies the manifest in file through the server c.
func applyRemote(cmd *cobra.Command, e *env, c *apiclient.V1, file, output string, o apiclient.ManifestOptions) error {
	_, raw, err := readManifestRaw(e, file)
	if err != nil {
		return err
	}
	out, err := c.ApplyManifest(cmd.Context(), raw, o)
	if out != nil {
		if output == "json" {
			if werr := cliout.WriteJSON(e.stdout, out); werr != nil {
				return werr
			}
		} else {
			for _, w := range out.Plan.Warnings {
				fmt.Fprintln(e.stderr, "warning:", w)
			}
			if !o.Prune {
				if n := len(out.Plan.Actions) - len(out.Plan.WithoutPrune().Actions); n > 0 {
					fmt.Fprintf(e.stderr, "note: %d prune step(s) skipped; see 'botgate plan' and pass --prune to run them\n", n)
				}
			}
			if werr := governance.WriteApplyAnswer(e.stdout, out, o.Prune); werr != nil {
				return werr
			}
		}
	}
	if err != nil && out != nil && len(out.Tokens) > 0 {
		return cliErr(fmt.Errorf("%w (run apply again to resume)", err))
	}
	return cliErr(err)
}
