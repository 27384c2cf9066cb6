package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/httpapi"
)

// auditCheckpointEvery is how often a running server moves the audit
// checkpoint forward.
const auditCheckpointEvery = time.Minute

// ReadCheckpoint reads and checks the data directory's audit checkpoint:
// ok is false when there is none; err says why one cannot be trusted.
func ReadCheckpoint(d datadir.Dir, key []byte) (h botgate.AuditHead, ok bool, err error) {
	content, ok, err := d.ReadAuditCheckpoint()
	if err != nil || !ok {
		return h, ok, err
	}
	h, err = authority.OpenCheckpoint(key, content)
	if err != nil {
		return h, true, fmt.Errorf("%s: %s", d.AuditCheckpointPath(), botgate.MessageOf(err))
	}
	return h, true, nil
}

// checkpointAudit moves the data directory's audit checkpoint forward to
// the store's recorded head, whose signature it checks. A head behind the
// checkpoint (the log was truncated, or replaced by an older copy) or one
// that cannot be trusted is logged as an error and the checkpoint kept as
// evidence.
func (in *Instance) checkpointAudit(ctx context.Context, log *slog.Logger) {
	key := authority.AuditKey(in.Pepper)
	cp, hasCP, err := ReadCheckpoint(in.Dir, key)
	if err != nil {
		log.Error("the audit checkpoint cannot be trusted; it is kept as it is (run 'botgate audit verify')", "err", err)
		return
	}
	head, err := authority.RecordedAuditHead(ctx, in.Store, key)
	switch {
	case botgate.IsKind(err, botgate.KindConflict):
		log.Error("the audit log's recorded head cannot be trusted (run 'botgate audit verify')", "err", err)
		return
	case err != nil:
		log.Warn("reading the audit head for the checkpoint", "err", err)
		return
	case hasCP && head.Seq < cp.Seq:
		log.Error("the audit log ends before its checkpoint: it was truncated or replaced by an older copy (run 'botgate audit verify')",
			"head", authority.FormatAuditHead(head), "checkpoint", authority.FormatAuditHead(cp))
		return
	case hasCP && head.Seq == cp.Seq && head.Hash != cp.Hash:
		log.Error("the audit log's newest event is not the one its checkpoint names: it was replaced (run 'botgate audit verify')",
			"head", authority.FormatAuditHead(head), "checkpoint", authority.FormatAuditHead(cp))
		return
	case hasCP && head.Seq == cp.Seq:
		return
	}
	if err := in.Dir.WriteAuditCheckpoint(authority.SignCheckpoint(key, head)); err != nil {
		log.Warn("writing the audit checkpoint", "err", err)
	}
}

// AuditReport is what VerifyAudit found, as 'botgate audit verify --output
// json' shows it.
type AuditReport struct {
	BreakReason string `json:"break_reason,omitempty"`
	BreakSeq    *int64 `json:"break_seq,omitempty"`
	// Checkpoint says what became of the data directory's checkpoint when
	// the log verified: held, or written at the new head.
	Checkpoint string `json:"checkpoint,omitempty"`
	Events     int64  `json:"events"`
	Head       string `json:"head"`
	HeadHash   string `json:"head_hash"`
	HeadSeq    int64  `json:"head_seq"`
	OK         bool   `json:"ok"`
}

// WriteText writes the report as 'botgate audit verify' shows it.
func (r *AuditReport) WriteText(w io.Writer) error {
	var err error
	if r.OK {
		_, err = fmt.Fprintf(w, "audit log intact: %d events, head %s\n(%s; keep the head elsewhere and check it later with --expect-head)\n",
			r.Events, r.Head, r.Checkpoint)
	} else {
		_, err = fmt.Fprintf(w, "audit log BROKEN at event %d: %s\n(%d events verified before it)\n", *r.BreakSeq, r.BreakReason, r.Events)
	}
	return err
}

// VerifyAudit verifies the audit chain against the recorded head, the
// anchors given and the data directory's checkpoint when there is one (a
// checkpoint that cannot be trusted breaks the chain after its head). A
// verified log moves the checkpoint forward, never back. A broken chain is
// a report with OK false; the error is for a verification that could not
// run.
func (in *Instance) VerifyAudit(ctx context.Context, anchors ...authority.Anchor) (*AuditReport, error) {
	key := authority.AuditKey(in.Pepper)
	cp, hasCP, cpErr := ReadCheckpoint(in.Dir, key)
	if hasCP && cpErr == nil {
		anchors = append(anchors, authority.Anchor{Name: "checkpoint " + in.Dir.AuditCheckpointPath(), Head: cp})
	}
	res, err := authority.VerifyAuditAnchored(ctx, in.Store, key, anchors...)
	if err != nil {
		return nil, err
	}
	if res.OK() && cpErr != nil {
		res.Break = &botgate.ChainBreak{Seq: res.Head.Seq + 1, Reason: cpErr.Error()}
	}
	r := &AuditReport{OK: res.OK(), Events: res.Events, Head: authority.FormatAuditHead(res.Head), HeadHash: res.Head.Hash, HeadSeq: res.Head.Seq}
	switch {
	case !res.OK():
		r.BreakSeq, r.BreakReason = &res.Break.Seq, res.Break.Reason
	case hasCP && cp.Seq >= res.Head.Seq:
		r.Checkpoint = "checkpoint " + authority.FormatAuditHead(cp) + " held"
	default:
		if err := in.Dir.WriteAuditCheckpoint(authority.SignCheckpoint(key, res.Head)); err != nil {
			return nil, err
		}
		r.Checkpoint = "checkpoint written at " + authority.FormatAuditHead(res.Head)
	}
	return r, nil
}

// AuditList is the audit events 'botgate audit list' shows.
type AuditList struct {
	Events []apiwire.AuditEvent `json:"events"`
}

// AuditEvents lists the audit events f selects, read from the store with
// access to the data directory (as an administrator would through GET
// /api/botgate/v1/audit/events).
func (in *Instance) AuditEvents(ctx context.Context, f botgate.AuditFilter) (*AuditList, error) {
	events, err := in.Authority.AuditEvents(ctx, authority.SystemActor(), f)
	if err != nil {
		return nil, err
	}
	l := &AuditList{Events: make([]apiwire.AuditEvent, len(events))}
	for i, e := range events {
		l.Events[i] = httpapi.AuditEventWire(e)
	}
	return l, nil
}

// WriteText writes the events as a table, one line each.
func (l *AuditList) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tIP")
	for _, e := range l.Events {
		actor := e.ActorName
		if actor == "" {
			actor = "(system)"
		}
		target := e.TargetType
		if e.TargetID != 0 {
			target += fmt.Sprintf(" #%d", e.TargetID)
		}
		if e.TargetName != "" {
			target += " " + e.TargetName
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time, actor, e.Action, target, e.IP)
	}
	if len(l.Events) == 0 {
		fmt.Fprintln(tw, "(no events match)")
	}
	return tw.Flush()
}

// ParseSince reads a time for an audit filter: "" (none), a date
// (2006-01-02), an RFC 3339 time, or a duration before now ("24h", "7d").
func ParseSince(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t, nil
		}
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		var n int
		if _, serr := fmt.Sscanf(days, "%d", &n); serr == nil && n >= 0 && fmt.Sprint(n) == days {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d < 0 {
		return nil, fmt.Errorf("%q is neither a time (2006-01-02, RFC 3339) nor a duration before now (24h, 7d)", s)
	}
	t := now.Add(-d)
	return &t, nil
}

// AuditQuery is what 'botgate audit list' asks for: a filter, with its
// times and order as the user wrote them.
type AuditQuery struct {
	botgate.AuditFilter
	Since, Until string
	Order        string // asc or desc
}

// Filter resolves q against now. Its errors are KindInvalid and name the
// flag to fix.
func (q AuditQuery) Filter(now time.Time) (botgate.AuditFilter, error) {
	f := q.AuditFilter
	var err error
	if f.Since, err = ParseSince(q.Since, now); err != nil {
		return f, botgate.Errorf(botgate.KindInvalid, "--since: %v", err)
	}
	if f.Until, err = ParseSince(q.Until, now); err != nil {
		return f, botgate.Errorf(botgate.KindInvalid, "--until: %v", err)
	}
	switch q.Order {
	case "desc":
		f.Descending = true
	case "asc":
	default:
		return f, botgate.Errorf(botgate.KindInvalid, "--order must be asc or desc, not %q", q.Order)
	}
	if f.Limit < 1 {
		return f, botgate.Errorf(botgate.KindInvalid, "--limit must be at least 1")
	}
	return f, nil
}

// ExpectedHead is the anchor of --expect-head SEQ:HASH, none when s is
// empty. Its error is KindInvalid.
func ExpectedHead(s string) ([]authority.Anchor, error) {
	if s == "" {
		return nil, nil
	}
	h, err := authority.ParseAuditHead(s)
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInvalid, "--expect-head: %s", botgate.MessageOf(err))
	}
	return []authority.Anchor{{Name: "expected head (--expect-head)", Head: h}}, nil
}
