package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/authority"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect and verify the audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(e))
	return cmd
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var o localOptions
	var output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain",
		Long: `verify checks every audit event's hash and link, that no event is missing, and
that the log reaches the newest head recorded. Editing or deleting an event is
detected. It works offline on the data directory (the hashes are keyed by the
pepper, so it needs the data directory's pepper file), or on the servers' shared
PostgreSQL store with --store.

Exit status: 0 intact, 3 broken.`,
		Example: `  botgate audit verify --data-dir ./data
  botgate audit verify --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			in, err := openInstanceWith(cmd.Context(), o.dataDir, scaleOptions{store: o.store, storeOnly: true}, newLogger(e, o.logLevel))
			if err != nil {
				return err
			}
			defer in.Close()
			res, err := authority.VerifyAudit(cmd.Context(), in.store, authority.AuditKey(in.pepper))
			if err != nil {
				return err
			}
			if output == "json" {
				out := map[string]any{"ok": res.OK(), "events": res.Events, "head_seq": res.Head.Seq, "head_hash": res.Head.Hash}
				if res.Break != nil {
					out["break_seq"], out["break_reason"] = res.Break.Seq, res.Break.Reason
				}
				if err := writeJSON(e.stdout, out); err != nil {
					return err
				}
			} else if res.OK() {
				fmt.Fprintf(e.stdout, "audit log intact: %d events, head %d:%s\n", res.Events, res.Head.Seq, res.Head.Hash)
			} else {
				fmt.Fprintf(e.stdout, "audit log BROKEN at event %d: %s\n(%d events verified before it)\n", res.Break.Seq, res.Break.Reason, res.Events)
			}
			if !res.OK() {
				return &exitError{code: 3, err: fmt.Errorf("audit chain broken at event %d", res.Break.Seq)}
			}
			return nil
		},
	}
	localFlags(cmd, e, &o, false)
	outputFlag(cmd, &output)
	return cmd
}
