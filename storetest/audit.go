package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func auditSeq(e *botgate.AuditEvent) int64 { return e.Seq }

// wantChain fails the test unless the store's whole audit log is n
// events, in increasing Seq order, that verify lane by lane, and whose
// lanes end at the heads the store recorded. It returns the events.
func wantChain(t *testing.T, s botgate.Store, n int) []*botgate.AuditEvent {
	t.Helper()
	var (
		events []*botgate.AuditEvent
		lanes  []botgate.AuditLane
	)
	view(t, s, func(tx botgate.Tx) error {
		var err error
		events, err = tx.FindAudit(t.Context(), botgate.AuditFilter{})
		if err != nil {
			return err
		}
		lanes, err = tx.AuditLanes(t.Context())
		return err
	})
	if len(events) != n {
		t.Fatalf("audit log has %d events, want %d", len(events), n)
	}
	v := botgate.NewChainVerifier(auditKey)
	for i, e := range events {
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Fatalf("audit event %d follows event %d", e.Seq, events[i-1].Seq)
		}
		if brk := v.Add(e); brk != nil {
			t.Fatalf("audit chain breaks at %d: %s", brk.Seq, brk.Reason)
		}
	}
	if len(lanes) != botgate.AuditLanes {
		t.Fatalf("AuditLanes: %d lanes, want %d", len(lanes), botgate.AuditLanes)
	}
	for i, l := range lanes {
		if l.AuditHead != v.Head(i) {
			t.Errorf("lane %d: recorded head %+v, the events end at %+v", i, l.AuditHead, v.Head(i))
		}
		if l.Seq > 0 && l.Signed != "signed "+l.Hash {
			t.Errorf("lane %d: recorded signed head %q, want the one AdvanceAuditLane wrote", i, l.Signed)
		}
	}
	return events
}

func testAudit(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("EmptyHead", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		update(t, s, func(tx botgate.Tx) error {
			head, seqs, err := tx.LockAuditLane(ctx, 3)
			if err != nil {
				return err
			}
			if head != (botgate.AuditHead{}) {
				t.Errorf("LockAuditLane on an empty log: got %+v, want the zero head (lane 0)", head)
			}
			if len(seqs) != 3 || seqs[0] < 1 || seqs[1] <= seqs[0] || seqs[2] <= seqs[1] {
				t.Errorf("LockAuditLane(3): seqs %v, want three increasing positive values", seqs)
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
		wantChain(t, s, 0)
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
			head, seqs, err := tx.LockAuditLane(ctx, 1)
			if err != nil {
				return err
			}
			last := events[len(events)-1]
			if head != (botgate.AuditHead{Lane: last.Lane, Seq: last.LaneSeq, Hash: last.Hash}) {
				t.Errorf("LockAuditLane: got %+v, want {%d %d %s}", head, last.Lane, last.LaneSeq, last.Hash)
			}
			if seqs[0] <= last.Seq {
				t.Errorf("LockAuditLane: next seq %d, want after the newest event's %d", seqs[0], last.Seq)
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
		events := wantChain(t, s, 3)
		tests := []struct {
			name string
			head func(h botgate.AuditHead) botgate.AuditHead
			seq  func(seq int64) int64
		}{
			{"place taken (stale head)", func(h botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{Seq: h.Seq - 1, Hash: "stale"} }, nil},
			{"place gap", func(h botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{Seq: h.Seq + 1, Hash: h.Hash} }, nil},
			{"empty-lane head on a full lane", func(botgate.AuditHead) botgate.AuditHead { return botgate.AuditHead{} }, nil},
			{"seq taken", nil, func(int64) int64 { return events[1].Seq }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Update(ctx, func(tx botgate.Tx) error {
					head, seqs, err := tx.LockAuditLane(ctx, 1)
					if err != nil {
						return err
					}
					from, seq := head, seqs[0]
					if tt.head != nil {
						from = tt.head(head)
					}
					if tt.seq != nil {
						seq = tt.seq(seq)
					}
					e := &botgate.AuditEvent{Time: base, Action: botgate.ActionTokenRevoke}
					e.Seal(auditKey, from, seq)
					if err := tx.AppendAudit(ctx, e); err != nil {
						return err
					}
					to := botgate.AuditHead{Lane: e.Lane, Seq: e.LaneSeq, Hash: e.Hash}
					return tx.AdvanceAuditLane(ctx, from, botgate.AuditLane{AuditHead: to, Signed: "signed " + e.Hash})
				})
				wantKind(t, "appending after a wrong head", err, botgate.KindConflict)
				wantChain(t, s, 3)
			})
		}
	})

	t.Run("SharedWritersTakeLanes", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		su, ok := s.(botgate.SharedUpdater)
		if !ok {
			t.Skip("the store serializes every writer (no UpdateShared): one lane is all it uses")
		}
		// Writers that hold their lane until all of them have one: each
		// must get a lane of its own, or they would wait forever (the
		// context ends the test then).
		const writers = 4
		var ready sync.WaitGroup
		ready.Add(writers)
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				errs <- su.UpdateShared(ctx, func(tx botgate.Tx) error {
					head, seqs, err := tx.LockAuditLane(ctx, 2)
					if err != nil {
						ready.Done()
						return err
					}
					ready.Done()
					ready.Wait()
					from := head
					for j, seq := range seqs {
						e := &botgate.AuditEvent{Time: base, Action: botgate.ActionTokenCreate, TargetID: int64(10*i + j)}
						e.Seal(auditKey, head, seq)
						if err := tx.AppendAudit(ctx, e); err != nil {
							return err
						}
						head = botgate.AuditHead{Lane: e.Lane, Seq: e.LaneSeq, Hash: e.Hash}
					}
					return tx.AdvanceAuditLane(ctx, from, botgate.AuditLane{AuditHead: head, Signed: "signed " + head.Hash, Revision: 1})
				})
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		events := wantChain(t, s, 2*writers)
		used := map[int]bool{}
		for _, e := range events {
			used[e.Lane] = true
		}
		if len(used) != writers {
			t.Errorf("%d concurrent writers used lanes %v, want one lane each", writers, used)
		}
		view(t, s, func(tx botgate.Tx) error {
			lanes, err := tx.AuditLanes(ctx)
			for _, l := range lanes {
				if used[l.Lane] != (l.Revision == 1) {
					t.Errorf("lane %d: revision %d", l.Lane, l.Revision)
				}
			}
			return err
		})
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
