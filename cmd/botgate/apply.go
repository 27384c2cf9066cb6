package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

func newApplyCmd(e *env) *cobra.Command {
	var o localOptions
	var file, output string
	var mo apiclient.ManifestOptions
	cmd := &cobra.Command{
		Use: "apply -f FILE", Short: "Make the instance match an automations manifest", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.governance(cmd, e).Apply(cmd.Context(), file, output, mo)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automations manifest (YAML; - for standard input)")
	cmd.Flags().BoolVar(&mo.Prune, "prune", false, "also revoke tokens no declared automation claims (drift, removed automations)")
	cmd.Flags().BoolVar(&mo.RevealSecrets, "show-secrets", false, "print new token secrets once (they are kept in the vault in any case); through a server, only if you may read the owning team's vault")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, true)
	return cmd
}
