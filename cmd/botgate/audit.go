package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/server"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Inspect and verify the audit log"}
	cmd.AddCommand(newAuditVerifyCmd(e), newAuditListCmd(e))
	return cmd
}

// openLocal opens the local instance that o names, for a command that
// reads or checks it; close it when done.
func openLocal(cmd *cobra.Command, e *env, o localOptions) (*server.Instance, error) {
	return server.Open(cmd.Context(), o.config(e), newLogger(e, o.logLevel))
}

func newAuditListCmd(e *env) *cobra.Command {
	var o localOptions
	var output string
	var q server.AuditQuery
	cmd := &cobra.Command{
		Use: "list", Short: "List audit events, newest first, with filters", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			f, err := q.Filter(time.Now())
			if err != nil {
				return cliout.Usage(err)
			}
			in, err := openLocal(cmd, e, o)
			if err != nil {
				return err
			}
			defer in.Close()
			l, err := in.AuditEvents(cmd.Context(), f)
			return show(e.stdout, output, l, err, l.WriteText)
		},
	}
	localFlags(cmd, e, &o, false)
	outputFlag(cmd, &output)
	fl := cmd.Flags()
	fl.StringVar(&q.Action, "action", "", "only this action, e.g. token.create, token.revoke, admin.recover")
	fl.Int64Var(&q.ActorID, "actor-id", 0, "only events by this user id")
	fl.Int64Var(&q.TokenID, "token-id", 0, "only events done with this token id")
	fl.StringVar(&q.TargetType, "target-type", "", "only events on this kind of target: token, user, group, project, member...")
	fl.Int64Var(&q.TargetID, "target-id", 0, "only events on the target with this id")
	fl.StringVar(&q.Since, "since", "", "only events at or after this time, or this long ago (24h, 7d)")
	fl.StringVar(&q.Until, "until", "", "only events at or before this time, or this long ago")
	fl.StringVar(&q.Order, "order", "desc", "desc (newest first) or asc")
	fl.IntVar(&q.Limit, "limit", 100, "at most this many events")
	return cmd
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var o localOptions
	var output, expect string
	cmd := &cobra.Command{
		Use: "verify", Short: "Verify the audit log's hash chain", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			anchors, err := server.ExpectedHead(expect)
			if err != nil {
				return cliout.Usage(err)
			}
			in, err := openLocal(cmd, e, o)
			if err != nil {
				return err
			}
			defer in.Close()
			r, err := in.VerifyAudit(cmd.Context(), anchors...)
			if err != nil {
				return err
			}
			if err := cliout.Show(e.stdout, output, r, r.WriteText); err != nil || r.OK {
				return err
			}
			return cliout.Exitf(cliout.ExitIntegrity, "audit chain broken at event %d", *r.BreakSeq)
		},
	}
	localFlags(cmd, e, &o, false)
	outputFlag(cmd, &output)
	cmd.Flags().StringVar(&expect, "expect-head", "", "fail (exit 3) unless the log holds this event with this hash: SEQ:HASH, as verify prints the head")
	return cmd
}
