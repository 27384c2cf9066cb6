package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/cliout"
)

func (a *apiCmd) tokenReissueCmd() *cobra.Command {
	var in apiwire.Reissue
	cmd := a.command(&cobra.Command{
		Use: "reissue --expiring-within 30d [--team PATH] [--dry-run]", Short: "Rotate every manifest-managed token that expires soon, keeping the new secrets in the teams' vaults",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.v1()
			if err != nil {
				return err
			}
			rep, err := c.ReissueTokens(cmd.Context(), in)
			if err := a.show(rep, err, func(w io.Writer) error { return cliout.Reissue(w, rep) }); err != nil {
				return err
			}
			if n := rep.Failed(); n > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d token(s) were not reissued: see the report", n)}
			}
			return nil
		},
	})
	f := cmd.Flags()
	f.StringVar(&in.ExpiringWithin, "expiring-within", "30d", "reissue the tokens expiring within this many days or weeks (such as 30d or 2w); expired ones too")
	f.StringVar(&in.Team, "team", "", "only this team's automations (a group's full path); without it, every team's (administrators only)")
	f.BoolVar(&in.DryRun, "dry-run", false, "list the due tokens without rotating them")
	return cmd
}
