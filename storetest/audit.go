package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func auditSeq(e *botgate.AuditEvent) int64 { return e.Seq }

// wantChain fails the test unless the store's whole audit log is n events,
// numbered 1..n, that verify as one chain.
func wantChain(t *testing.T, s botgate.Store, n int) []*botgate.AuditEvent {
	t.Helper()
	var events []*botgate.AuditEvent
	view(t, s, func(tx botgate.Tx) error {
		var err error
		events, err = tx.FindAudit(t.Context(), botgate.AuditFilter{})
		return err
	})
	if len(events) != n {
		t.Fatalf("audit log has %d events, want %d", len(events), n)
	}
	head, brk := botgate.VerifyChain(auditKey, botgate.AuditHead{}, events)
	if brk != nil {
		t.Fatalf("audit chain breaks at %d: %s", brk.Seq, brk.Reason)
	}
	if head.Seq != int64(n) {
		t.Fatalf("audit chain head %d, want %d", head.Seq, n)
	}
	return events
}

func testAudit(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("EmptyHead", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		update(t, s, func(tx botgate.Tx) error {
			head, err := tx.LockAuditHead(ctx)
			if err != nil {
				return err
			}
			if head != (botgate.AuditHead{}) {
				t.Errorf("LockAuditHead on an empty log: got %+v, want the zero head", head)
			}
			return nil
		})
		view(t, s, func(tx botgate.Tx) error {
			events, err := tx.FindAudit(ctx, botgate.AuditFilter{})
			if len(events) != 0 {
				t.Errorf("FindAudit on an empty log: %d events", len(events))
			}
			return err
		})
	})

	t.Run("ChainRoundTrip", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		events := auditEvents()
		for _, e := range events {
			update(t, s, func(tx botgate.Tx) error { return appendEvent(ctx, tx, e) })
		}
		got := wantChain(t, s, len(events))
		for i := range got {
			same(t, fmt.Sprintf("audit event %d", i+1), got[i], events[i], normAudit)
			wantUTC(t, "AuditEvent.Time", &got[i].Time)
			if !got[i].Time.Equal(events[i].Time) {
				t.Errorf("event %d time: got %v, want the sealed %v exactly", i+1, got[i].Time, events[i].Time)
			}
		}
		update(t, s, func(tx botgate.Tx) error {
			head, err := tx.LockAuditHead(ctx)
			if err != nil {
				return err
			}
			last := events[len(events)-1]
			if head != (botgate.AuditHead{Seq: last.Seq, Hash: last.Hash}) {
				t.Errorf("LockAuditHead: got %+v, want {%d %s}", head, last.Seq, last.Hash)
			}
			return nil
		})
	})

	t.Run("AppendConflicts", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		for range 3 {
			update(t, s, func(tx botgate.Tx) error {
				return appendEvent(ctx, tx, &botgate.AuditEvent{Time: base, Action: botgate.ActionUserCreate})
			})
		}
		tests := []struct {
			name string
			head func(h botgate.AuditHead) botgate.AuditHead
		}{
			{"sequence taken (stale head)", func(h botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{Seq: h.Seq - 1, Hash: "stale"} }},
			{"sequence gap", func(h botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{Seq: h.Seq + 1, Hash: h.Hash} }},
			{"empty-log head on a full log", func(botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{} }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Update(ctx, func(tx botgate.Tx) error {
					head, err := tx.LockAuditHead(ctx)
					if err != nil {
						return err
					}
					e := &botgate.AuditEvent{Time: base, Action: botgate.ActionTokenRevoke}
					e.Seal(auditKey, tt.head(head))
					return tx.AppendAudit(ctx, e)
				})
				wantKind(t, "AppendAudit", err, botgate.KindConflict)
				wantChain(t, s, 3)
			})
		}
	})

	t.Run("Find", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		events := auditEvents()
		for _, e := range events {
			update(t, s, func(tx botgate.Tx) error { return appendEvent(ctx, tx, e) })
		}
		seqs := func(i ...int) []int64 {
			out := []int64{}
			for _, n := range i {
				out = append(out, events[n].Seq)
			}
			return out
		}
		tests := []struct {
			name string
			f    botgate.AuditFilter
			want []int64
		}{
			{"all", botgate.AuditFilter{}, seqs(0, 1, 2, 3, 4, 5)},
			{"descending", botgate.AuditFilter{Descending: true}, seqs(5, 4, 3, 2, 1, 0)},
			{"AfterSeq", botgate.AuditFilter{AfterSeq: events[3].Seq}, seqs(4, 5)},
			{"ActorID", botgate.AuditFilter{ActorID: 7}, seqs(0, 2, 5)},
			{"TokenID", botgate.AuditFilter{TokenID: 70}, seqs(2, 5)},
			{"Action", botgate.AuditFilter{Action: botgate.ActionAuthFailed}, seqs(3, 4)},
			{"TargetType", botgate.AuditFilter{TargetType: "token"}, seqs(1, 2, 5)},
			{"TargetID", botgate.AuditFilter{TargetType: "token", TargetID: 71}, seqs(1, 5)},
			{"Since inclusive", botgate.AuditFilter{Since: ptr(events[2].Time)}, seqs(2, 3, 4, 5)},
			{"Until inclusive", botgate.AuditFilter{Until: ptr(events[2].Time)}, seqs(0, 1, 2)},
			{"Since and Until", botgate.AuditFilter{Since: ptr(events[1].Time), Until: ptr(events[3].Time)}, seqs(1, 2, 3)},
			{"page", botgate.AuditFilter{Page: botgate.Page{Offset: 1, Limit: 2}}, seqs(1, 2)},
			{"descending page", botgate.AuditFilter{Descending: true, Page: botgate.Page{Limit: 2}}, seqs(5, 4)},
			{"filter, descending, page", botgate.AuditFilter{ActorID: 7, Descending: true, Page: botgate.Page{Offset: 1, Limit: 5}}, seqs(2, 0)},
			{"nothing", botgate.AuditFilter{Action: "no.such"}, nil},
		}
		view(t, s, func(tx botgate.Tx) error {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := tx.FindAudit(ctx, tt.f)
					if err != nil {
						t.Fatal(err)
					}
					wantIDs(t, "FindAudit", ids(got, auditSeq), tt.want)
				})
			}
			return nil
		})
	})
}

// auditEvents returns six unsealed events with distinct field values, one
// hour apart.
func auditEvents() []*botgate.AuditEvent {
	return []*botgate.AuditEvent{
		{Time: base.In(time.FixedZone("UTC+9", 9*3600)), ActorID: 7, ActorName: "root", Action: botgate.ActionInit,
			TargetType: "user", TargetID: 7, TargetName: "root", Details: map[string]string{}},
		{Time: at(time.Hour), ActorID: 8, ActorName: "ann", TokenID: 80, Action: botgate.ActionTokenCreate,
			TargetType: "token", TargetID: 71, TargetName: "deploy", IP: "192.0.2.1", UserAgent: "curl/8.5",
			Details: map[string]string{"scopes": "api read_api", "expires_at": "2026-04-13", "note": "ünïcödé ✓ \"quoted\"\n"}},
		{Time: at(2 * time.Hour), ActorID: 7, ActorName: "root", TokenID: 70, Action: botgate.ActionTokenRevoke,
			TargetType: "token", TargetID: 72, TargetName: "old", IP: "2001:db8::2"},
		{Time: at(3 * time.Hour), Action: botgate.ActionAuthFailed, IP: "198.51.100.4", UserAgent: "bad-bot/1",
			Details: map[string]string{"reason": string(botgate.ReasonTokenUnknown)}},
		{Time: at(4 * time.Hour), Action: botgate.ActionAuthFailed, IP: "198.51.100.4",
			Details: map[string]string{"reason": string(botgate.ReasonTokenExpired), "": "empty key"}},
		{Time: at(5 * time.Hour), ActorID: 7, ActorName: "root", TokenID: 70, Action: botgate.ActionTokenRotate,
			TargetType: "token", TargetID: 71, TargetName: "deploy"},
	}
}
