package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/server"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Inspect and verify the audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(e), newAuditListCmd(e))
	return cmd
}

func newAuditListCmd(e *env) *cobra.Command {
	var o localOptions
	var output, since, until, order string
	var f botgate.AuditFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first, with filters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			var err error
			now := time.Now()
			if f.Since, err = server.ParseSince(since, now); err != nil {
				return usageErr("--since: %v", err)
			}
			if f.Until, err = server.ParseSince(until, now); err != nil {
				return usageErr("--until: %v", err)
			}
			switch order {
			case "desc":
				f.Descending = true
			case "asc":
			default:
				return usageErr("--order must be asc or desc, not %q", order)
			}
			if f.Limit < 1 {
				return usageErr("--limit must be at least 1")
			}
			in, err := server.Open(cmd.Context(), server.Config{DataDir: o.dataDir, Store: o.store, Getenv: e.getenv}, newLogger(e, o.logLevel))
			if err != nil {
				return err
			}
			defer in.Close()
			l, err := in.AuditEvents(cmd.Context(), f)
			if err != nil {
				return cliErr(err)
			}
			return writeAs(e.stdout, output, l, l.WriteText)
		},
	}
	localFlags(cmd, e, &o, false)
	outputFlag(cmd, &output)
	fl := cmd.Flags()
	fl.StringVar(&f.Action, "action", "", "only this action, e.g. token.create, token.revoke, admin.recover")
	fl.Int64Var(&f.ActorID, "actor-id", 0, "only events by this user id")
	fl.Int64Var(&f.TokenID, "token-id", 0, "only events done with this token id")
	fl.StringVar(&f.TargetType, "target-type", "", "only events on this kind of target: token, user, group, project, member...")
	fl.Int64Var(&f.TargetID, "target-id", 0, "only events on the target with this id")
	fl.StringVar(&since, "since", "", "only events at or after this time, or this long ago (24h, 7d)")
	fl.StringVar(&until, "until", "", "only events at or before this time, or this long ago")
	fl.StringVar(&order, "order", "desc", "desc (newest first) or asc")
	fl.IntVar(&f.Limit, "limit", 100, "at most this many events")
	return cmd
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var o localOptions
	var output, expect string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			var anchors []authority.Anchor
			if expect != "" {
				h, err := authority.ParseAuditHead(expect)
				if err != nil {
					return usageErr("--expect-head: %s", botgate.MessageOf(err))
				}
				anchors = append(anchors, authority.Anchor{Name: "expected head (--expect-head)", Head: h})
			}
			in, err := server.Open(cmd.Context(), server.Config{DataDir: o.dataDir, Store: o.store, Getenv: e.getenv}, newLogger(e, o.logLevel))
			if err != nil {
				return err
			}
			defer in.Close()
			r, err := in.VerifyAudit(cmd.Context(), anchors...)
			if err != nil {
				return err
			}
			if err := writeAs(e.stdout, output, r, r.WriteText); err != nil {
				return err
			}
			if !r.OK {
				return &exitError{code: exitIntegrity, err: fmt.Errorf("audit chain broken at event %d", *r.BreakSeq)}
			}
			return nil
		},
	}
	localFlags(cmd, e, &o, false)
	outputFlag(cmd, &output)
	cmd.Flags().StringVar(&expect, "expect-head", "", "fail (exit 3) unless the log holds this event with this hash: SEQ:HASH, as verify prints the head")
	return cmd
}
