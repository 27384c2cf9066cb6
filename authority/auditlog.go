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

// VerifyAuditAnchored checks the audit chain in store under key: every
// event's hash, every link, no gaps; that the log is not empty (an
// initialised instance's log starts with its init event); that it ends at
// the head recorded with the last append, whose signature must match (a
// writer of the database cannot forge it, so cannot hide deleted newest
// events); and that it holds every anchor's event with the anchor's hash
// (an operator's --expect-head, the checkpoint), so that even an older
// copy of the database, with its own signed head, is detected. It reads
// the log in pages and needs no Service, so offline tools can call it.
func VerifyAuditAnchored(ctx context.Context, store botgate.Store, key []byte, anchors ...Anchor) (VerifyResult, error) {
	var res VerifyResult
	var recorded string
	var haveRecorded bool
	for {
		var page []*botgate.AuditEvent
		err := store.View(ctx, func(tx botgate.Tx) (err error) {
			page, err = tx.FindAudit(ctx, botgate.AuditFilter{AfterSeq: res.Head.Seq, Page: botgate.Page{Limit: 1000}})
			if err != nil || len(page) > 0 {
				return err
			}
			recorded, err = tx.Setting(ctx, settingAuditHead)
			if botgate.IsKind(err, botgate.KindNotFound) {
				return nil
			}
			haveRecorded = err == nil
			return err
		})
		if err != nil {
			return res, botgate.E("authority.VerifyAudit", err)
		}
		if len(page) == 0 {
			break
		}
		head, brk := botgate.VerifyChain(key, res.Head, page)
		for _, e := range page {
			if e.Seq > head.Seq {
				break
			}
			for _, a := range anchors {
				if a.Head.Seq == e.Seq && !hmac.Equal([]byte(a.Head.Hash), []byte(e.Hash)) {
					res.Events += e.Seq - 1 - res.Head.Seq
					res.Break = &botgate.ChainBreak{Seq: e.Seq, Reason: fmt.Sprintf(
						"event %d is not the one the %s names (%s): the log was replaced", e.Seq, a.Name, FormatAuditHead(a.Head))}
					return res, nil
				}
			}
		}
		res.Events += head.Seq - res.Head.Seq
		res.Head = head
		if brk != nil {
			res.Break = brk
			return res, nil
		}
	}
	if res.Events == 0 {
		res.Break = &botgate.ChainBreak{Seq: 1, Reason: "the log is empty, but an initialised instance's log starts with its init event (every event was deleted)"}
		return res, nil
	}
	if !haveRecorded {
		res.Break = &botgate.ChainBreak{Seq: res.Head.Seq + 1, Reason: "no head is recorded for the log (it was deleted)"}
		return res, nil
	}
	rec, err := openHead(key, headUseRecorded, recorded)
	switch {
	case err != nil:
		res.Break = &botgate.ChainBreak{Seq: res.Head.Seq + 1, Reason: "the recorded head cannot be trusted: " + err.Error() +
			" (a head written before botgate signed heads is signed by the next audited change)"}
		return res, nil
	case rec.Seq > res.Head.Seq:
		res.Break = &botgate.ChainBreak{Seq: res.Head.Seq + 1, Reason: "events " + strconv.FormatInt(res.Head.Seq+1, 10) + " to " + strconv.FormatInt(rec.Seq, 10) + " are missing (the log was truncated)"}
		return res, nil
	case rec.Seq == res.Head.Seq && !hmac.Equal([]byte(rec.Hash), []byte(res.Head.Hash)):
		res.Break = &botgate.ChainBreak{Seq: rec.Seq, Reason: "the newest event does not match the recorded head"}
		return res, nil
	case rec.Seq < res.Head.Seq:
		res.Break = &botgate.ChainBreak{Seq: rec.Seq + 1, Reason: "the recorded head names event " + strconv.FormatInt(rec.Seq, 10) + ", older than the log's newest (an older head was put back)"}
		return res, nil
	}
	for _, a := range anchors {
		if a.Head.Seq > res.Head.Seq {
			res.Break = &botgate.ChainBreak{Seq: res.Head.Seq + 1, Reason: fmt.Sprintf(
				"the log ends at event %d, before event %d that the %s names (%s): it was truncated or replaced by an older copy",
				res.Head.Seq, a.Head.Seq, a.Name, FormatAuditHead(a.Head))}
			return res, nil
		}
	}
	return res, nil
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
