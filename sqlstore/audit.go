package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/botgate/botgate"
)

const auditCols = `seq, "time", actor_id, actor_name, token_id, action, target_type, target_id, target_name,
	ip, user_agent, details, prev_hash, hash, lane, lane_seq`

func scanAudit(r scanner) (*botgate.AuditEvent, error) {
	var (
		e       botgate.AuditEvent
		at      int64
		details sql.NullString
	)
	if err := r.Scan(&e.Seq, &at, &e.ActorID, &e.ActorName, &e.TokenID, &e.Action, &e.TargetType, &e.TargetID,
		&e.TargetName, &e.IP, &e.UserAgent, &details, &e.PrevHash, &e.Hash, &e.Lane, &e.LaneSeq); err != nil {
		return nil, err
	}
	e.Time = fromMicro(at)
	if details.Valid && details.String != "" {
		if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %d: details: %w", e.Seq, err)
		}
	}
	return &e, nil
}

// LockAuditLane returns the head of lane 0 and the n Seq values after the
// log's newest. It relies on the backend's writer lock, which an Update
// holds from its start, so that neither can move before the transaction
// ends; a backend whose writers run side by side overrides it.
func (t *Tx) LockAuditLane(ctx context.Context, n int) (botgate.AuditHead, []int64, error) {
	const op = "LockAuditLane"
	if err := t.writable(op); err != nil {
		return botgate.AuditHead{}, nil, err
	}
	var (
		h    botgate.AuditHead
		last int64
	)
	row := t.queryRow(ctx, `SELECT seq, hash, (SELECT COALESCE(MAX(seq), 0) FROM audit_events) FROM audit_lanes WHERE lane = 0`)
	if err := row.Scan(&h.Seq, &h.Hash, &last); err != nil {
		return h, nil, t.dbError(op, err)
	}
	seqs := make([]int64, n)
	for i := range seqs {
		seqs[i] = last + 1 + int64(i)
	}
	return h, seqs, nil
}

// AppendAudit inserts a sealed event.
func (t *Tx) AppendAudit(ctx context.Context, e *botgate.AuditEvent) error {
	const op = "AppendAudit"
	if err := t.writable(op); err != nil {
		return err
	}
	if e.Hash == "" || e.LaneSeq == 0 {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindInvalid, Message: "audit event is not sealed"}
	}
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		details = string(b)
	}
	// Unguarded: an event that cannot be appended fails its transaction.
	if _, err := t.exec(ctx, `INSERT INTO audit_events (seq, "time", actor_id, actor_name, token_id, action,
		target_type, target_id, target_name, ip, user_agent, details, prev_hash, hash, lane, lane_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, toMicro(e.Time), e.ActorID, e.ActorName, e.TokenID, e.Action, e.TargetType, e.TargetID,
		e.TargetName, e.IP, e.UserAgent, details, e.PrevHash, e.Hash, e.Lane, e.LaneSeq); err != nil {
		return t.dbError(op, err)
	}
	return nil
}

// AdvanceAuditLane moves the lane's head from from to to, only if it is
// still from. A zero to.Revision keeps the lane's revision.
func (t *Tx) AdvanceAuditLane(ctx context.Context, from botgate.AuditHead, to botgate.AuditLane) error {
	const op = "AdvanceAuditLane"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.exec(ctx, `UPDATE audit_lanes SET seq = ?, hash = ?, signed = ?,
		revision = CASE WHEN ? > 0 THEN ? ELSE revision END
		WHERE lane = ? AND seq = ? AND hash = ?`,
		to.Seq, to.Hash, to.Signed, to.Revision, to.Revision, from.Lane, from.Seq, from.Hash)
	if err != nil {
		return t.dbError(op, err)
	}
	if n != 1 || to.Lane != from.Lane {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: fmt.Sprintf(
			"audit lane %d does not end at place %d (another transaction moved it)", from.Lane, from.Seq)}
	}
	return nil
}

// AuditLanes returns every lane as recorded, by lane.
func (t *Tx) AuditLanes(ctx context.Context) ([]botgate.AuditLane, error) {
	const op = "AuditLanes"
	rows, err := t.query(ctx, `SELECT lane, seq, hash, signed, revision FROM audit_lanes ORDER BY lane`)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	lanes, err := collect(rows, func(r scanner) (*botgate.AuditLane, error) {
		var l botgate.AuditLane
		return &l, r.Scan(&l.Lane, &l.Seq, &l.Hash, &l.Signed, &l.Revision)
	})
	if err != nil {
		return nil, t.dbError(op, err)
	}
	out := make([]botgate.AuditLane, len(lanes))
	for i, l := range lanes {
		out[i] = *l
	}
	return out, nil
}

// FindAudit returns the events matching f in Seq order. Since and Until are
// both inclusive.
func (t *Tx) FindAudit(ctx context.Context, f botgate.AuditFilter) ([]*botgate.AuditEvent, error) {
	const op = "FindAudit"
	lim, err := t.limit(f.Page)
	if err != nil {
		return nil, err
	}
	w := t.where()
	if f.AfterSeq != 0 {
		w.add("seq > ?", f.AfterSeq)
	}
	if f.ActorID != 0 {
		w.add("actor_id = ?", f.ActorID)
	}
	if f.TokenID != 0 {
		w.add("token_id = ?", f.TokenID)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.TargetType != "" {
		w.add("target_type = ?", f.TargetType)
	}
	if f.TargetID != 0 {
		w.add("target_id = ?", f.TargetID)
	}
	if f.Since != nil {
		w.add(`"time" >= ?`, toMicro(*f.Since))
	}
	if f.Until != nil {
		w.add(`"time" <= ?`, toMicro(*f.Until))
	}
	order := " ORDER BY seq ASC"
	if f.Descending {
		order = " ORDER BY seq DESC"
	}
	rows, err := t.query(ctx, "SELECT "+auditCols+" FROM audit_events"+w.String()+order+lim, w.args...)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	events, err := collect(rows, scanAudit)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	return events, nil
}

// Setting returns the value stored under key.
func (t *Tx) Setting(ctx context.Context, key string) (string, error) {
	const op = "Setting"
	row := t.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key)
	var v string
	if err := row.Scan(&v); err != nil {
		return "", t.notFound(op, "Setting", err)
	}
	return v, nil
}

// PutSetting stores value under key, replacing any.
func (t *Tx) PutSetting(ctx context.Context, key, value string) error {
	const op = "PutSetting"
	if err := t.writable(op); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return t.dbError(op, err)
	}
	return nil
}
