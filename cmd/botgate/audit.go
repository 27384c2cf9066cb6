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
		Long: `list prints the audit log's events that match the filters, newest first (--order asc
for oldest first), at most --limit of them. Like verify it works offline on the data
directory, or on the servers' shared PostgreSQL store with --store; the same events
are served to administrators by GET /api/botgate/v1/audit/events.

--since and --until take a time (2026-01-02 or RFC 3339) or a duration before now
(24h, 7d).`,
		Example: `  botgate audit list --data-dir ./data --since 24h
  botgate audit list --action token.revoke --output json
  botgate audit list --target-type token --target-id 42`,
		Args: cobra.NoArgs,
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
		Long: `verify checks every audit event's hash and link, that no event is missing, that
the log is not empty, and that it ends at the signed head recorded with the newest
event. Editing or deleting an event is detected, and so is deleting the newest
events and rewriting the recorded head. It works offline on the data directory
(the hashes and the head are keyed by the pepper, so it needs the data
directory's pepper file), or on the servers' shared PostgreSQL store with --store.

It prints the head as SEQ:HASH. Keep that somewhere a writer of the database cannot
reach (a ticket, another system's log); --expect-head SEQ:HASH later fails unless the
log still holds that event with that hash, which detects the database being
replaced by an older copy of itself.

The data directory's audit-checkpoint file (signed with the pepper; written by
'serve' every minute and by each successful verify) is checked the same way when it
exists.

Exit status: 0 intact, 3 broken.`,
		Example: `  botgate audit verify --data-dir ./data
  botgate audit verify --expect-head 1234:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  botgate audit verify --output json`,
		Args: cobra.NoArgs,
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
