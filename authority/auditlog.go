package authority

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
)

// asyncAuditor writes audit events that must not slow the request path
// (failed authentications) in batches. When its queue is full it counts
// what it drops and records one summary event instead.
type asyncAuditor struct {
	s       *Service
	queue   chan *botgate.AuditEvent
	dropped atomic.Int64
	// flushed is signalled after each batch, for Sync.
	mu      sync.Mutex
	waiters []chan struct{}
}

func newAsyncAuditor(s *Service, size int) *asyncAuditor {
	return &asyncAuditor{s: s, queue: make(chan *botgate.AuditEvent, size)}
}

func (q *asyncAuditor) enqueue(e *botgate.AuditEvent) {
	select {
	case q.queue <- e:
	default:
		q.dropped.Add(1)
	}
}

func (q *asyncAuditor) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			q.drain()
			return
		case e := <-q.queue:
			q.write(e)
		case <-tick.C:
			q.write(nil)
		}
	}
}

func (q *asyncAuditor) drain() {
	for {
		select {
		case e := <-q.queue:
			q.write(e)
		default:
			q.write(nil)
			return
		}
	}
}

// write records first plus whatever else is queued, in one transaction.
func (q *asyncAuditor) write(first *botgate.AuditEvent) {
	var batch []*botgate.AuditEvent
	if first != nil {
		batch = append(batch, first)
	}
more:
	for len(batch) < 512 {
		select {
		case e := <-q.queue:
			batch = append(batch, e)
		default:
			break more
		}
	}
	if n := q.dropped.Swap(0); n > 0 {
		batch = append(batch, &botgate.AuditEvent{
			Time: q.s.clock.Now(), Action: botgate.ActionAuthFailedSummary,
			Details: map[string]string{"count": strconv.FormatInt(n, 10), "reason": "audit queue full; failed authentications summarised"},
		})
	}
	if len(batch) > 0 {
		err := q.s.store.Update(context.Background(), func(tx botgate.Tx) error { return q.s.record(context.Background(), tx, batch...) })
		if err != nil {
			q.s.log.Error("writing audit events", "events", len(batch), "err", err)
			q.dropped.Add(int64(len(batch)))
		}
	}
	q.mu.Lock()
	for _, w := range q.waiters {
		close(w)
	}
	q.waiters = nil
	q.mu.Unlock()
}

// SyncAudit waits until every asynchronous audit event queued before the
// call has been written (or ctx ends).
func (s *Service) SyncAudit(ctx context.Context) error {
	if !s.running.Load() {
		// Nobody writes in the background: write them now.
		s.auditor.drain()
		return nil
	}
	w := make(chan struct{})
	s.auditor.mu.Lock()
	s.auditor.waiters = append(s.auditor.waiters, w)
	s.auditor.mu.Unlock()
	// Wake the writer even if the queue is empty.
	select {
	case <-w:
	case <-ctx.Done():
		return ctx.Err()
	}
	// A batch that started before we queued may not hold our events; wait
	// for the next one too.
	w2 := make(chan struct{})
	s.auditor.mu.Lock()
	s.auditor.waiters = append(s.auditor.waiters, w2)
	s.auditor.mu.Unlock()
	select {
	case <-w2:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// VerifyResult is the outcome of an audit chain check.
type VerifyResult struct {
	Events int64               // events checked
	Head   botgate.AuditHead   // the last good event
	Break  *botgate.ChainBreak // nil when the chain is intact
}

// OK reports whether the chain verified.
func (r VerifyResult) OK() bool { return r.Break == nil }

// VerifyAudit checks the whole audit chain: every event's hash, every link,
// no gaps, and that the log reaches the signed head recorded with the last
// append (so deleting the newest events is detected too); see
// VerifyAuditAnchored.
func (s *Service) VerifyAudit(ctx context.Context) (VerifyResult, error) {
	return VerifyAudit(ctx, s.store, s.auditKey)
}

// VerifyAudit checks the audit chain in store under key; see
// VerifyAuditAnchored, which it is with no anchors.
func VerifyAudit(ctx context.Context, store botgate.Store, key []byte) (VerifyResult, error) {
	return VerifyAuditAnchored(ctx, store, key)
}

// VerifyAuditAnchored checks the audit chain in store under key, lane by
// lane: every event's hash, every link, no gaps, each lane's events in the
// log's order; that the log is not empty (an initialised instance's log
// starts with its init event); that every lane ends at the head recorded
// with its last append, whose signature must match (a writer of the
// database cannot forge it, so cannot hide deleted newest events); and
// that lane 0 holds every anchor's event with the anchor's hash (an
// operator's --expect-head, the checkpoint), so that even an older copy of
// the database, with its own signed heads, is detected. It reads the log
// in pages, all from one snapshot (events that commit meanwhile are left
// for the next run), and needs no Service, so offline tools can call it.
// Head in the result is lane 0's.
func VerifyAuditAnchored(ctx context.Context, store botgate.Store, key []byte, anchors ...Anchor) (VerifyResult, error) {
	var res VerifyResult
	err := store.View(ctx, func(tx botgate.Tx) error {
		res = VerifyResult{}
		lanes, err := tx.AuditLanes(ctx)
		if err != nil {
			return err
		}
		v := botgate.NewChainVerifier(key)
		var after int64
		for {
			page, err := tx.FindAudit(ctx, botgate.AuditFilter{AfterSeq: after, Page: botgate.Page{Limit: 1000}})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if brk := v.Add(e); brk != nil {
					res.Break = brk
					res.Head = v.Head(0)
					return nil
				}
				res.Events++
				if e.Lane != 0 {
					continue
				}
				for _, a := range anchors {
					if a.Head.Seq == e.Place() && !hmac.Equal([]byte(a.Head.Hash), []byte(e.Hash)) {
						res.Head = v.Head(0)
						res.Events--
						res.Break = &botgate.ChainBreak{Seq: e.Seq, Reason: fmt.Sprintf(
							"event %d is not the one the %s names (%s): the log was replaced", e.Seq, a.Name, FormatAuditHead(a.Head))}
						return nil
					}
				}
			}
			after = page[len(page)-1].Seq
		}
		res.Head = v.Head(0)
		res.Break = checkLanes(key, v, lanes, res.Events)
		if res.Break != nil {
			return nil
		}
		for _, a := range anchors {
			if a.Head.Seq > res.Head.Seq {
				res.Break = &botgate.ChainBreak{Seq: after + 1, Reason: fmt.Sprintf(
					"the log ends at event %d, before event %d that the %s names (%s): it was truncated or replaced by an older copy",
					res.Head.Seq, a.Head.Seq, a.Name, FormatAuditHead(a.Head))}
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return res, botgate.E("authority.VerifyAudit", err)
	}
	return res, nil
}

// checkLanes compares the lanes verified with the heads the store
// recorded, signed, with their last appends.
func checkLanes(key []byte, v *botgate.ChainVerifier, lanes []botgate.AuditLane, events int64) *botgate.ChainBreak {
	if events == 0 {
		return &botgate.ChainBreak{Seq: 1, Reason: "the log is empty, but an initialised instance's log starts with its init event (every event was deleted)"}
	}
	if len(lanes) != botgate.AuditLanes {
		return &botgate.ChainBreak{Seq: 1, Reason: fmt.Sprintf("the log records %d lanes, not %d (lanes were deleted or added)", len(lanes), botgate.AuditLanes)}
	}
	for i, l := range lanes {
		got := v.Head(i)
		name := ""
		if i != 0 {
			name = " of lane " + strconv.Itoa(i)
		}
		if l.Lane != i {
			return &botgate.ChainBreak{Seq: 1, Reason: fmt.Sprintf("the log records lane %d where lane %d belongs", l.Lane, i)}
		}
		if l.Signed == "" && got.Seq == 0 && l.Seq == 0 {
			continue // never used
		}
		if l.Signed == "" {
			return &botgate.ChainBreak{Seq: got.Seq + 1, Reason: "no head is recorded" + name + " for the log (it was deleted)"}
		}
		rec, err := openHead(key, headUseRecorded, i, l.Signed)
		switch {
		case err != nil:
			return &botgate.ChainBreak{Seq: got.Seq + 1, Reason: "the recorded head" + name + " cannot be trusted: " + err.Error() +
				" (a head written before botgate signed heads is signed by the next audited change)"}
		case rec.Seq > got.Seq:
			return &botgate.ChainBreak{Seq: got.Seq + 1, Reason: "events " + strconv.FormatInt(got.Seq+1, 10) + " to " + strconv.FormatInt(rec.Seq, 10) + name + " are missing (the log was truncated)"}
		case rec.Seq == got.Seq && !hmac.Equal([]byte(rec.Hash), []byte(got.Hash)):
			return &botgate.ChainBreak{Seq: rec.Seq, Reason: "the newest event" + name + " does not match the recorded head"}
		case rec.Seq < got.Seq:
			return &botgate.ChainBreak{Seq: rec.Seq + 1, Reason: "the recorded head" + name + " names event " + strconv.FormatInt(rec.Seq, 10) + ", older than the log's newest (an older head was put back)"}
		}
	}
	return nil
}

// AuditEvents returns audit events matching f; administrators only.
func (s *Service) AuditEvents(ctx context.Context, a Actor, f botgate.AuditFilter) ([]*botgate.AuditEvent, error) {
	if !a.isAdmin() {
		return nil, botgate.E("authority.AuditEvents", botgate.KindForbidden)
	}
	var out []*botgate.AuditEvent
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		out, err = tx.FindAudit(ctx, f)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.AuditEvents", err)
	}
	return out, nil
}

// VerifyAuditAs checks the audit chain for an administrator.
func (s *Service) VerifyAuditAs(ctx context.Context, a Actor) (VerifyResult, error) {
	if !a.isAdmin() {
		return VerifyResult{}, botgate.E("authority.VerifyAuditAs", botgate.KindForbidden)
	}
	return s.VerifyAudit(ctx)
}
