package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/botgate/botgate"
)

const auditCols = `seq, "time", actor_id, actor_name, token_id, action, target_type, target_id, target_name,
	ip, user_agent, details, prev_hash, hash`

func scanAudit(r scanner) (*botgate.AuditEvent, error) {
	var (
		e       botgate.AuditEvent
		at      int64
		details sql.NullString
	)
	if err := r.Scan(&e.Seq, &at, &e.ActorID, &e.ActorName, &e.TokenID, &e.Action, &e.TargetType, &e.TargetID,
		&e.TargetName, &e.IP, &e.UserAgent, &details, &e.PrevHash, &e.Hash); err != nil {
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

// auditHead reads the newest event's sequence number and hash.
func (t *Tx) auditHead(ctx context.Context) (botgate.AuditHead, error) {
	var h botgate.AuditHead
	row := t.queryRow(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`)
	if err := row.Scan(&h.Seq, &h.Hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, err
	}
	return h, nil
}

// LockAuditHead returns the head of the audit chain. It relies on the
// backend's writer lock, which an Update holds from its start, so that the
// head cannot move before the transaction ends; a backend that needs more
// takes its lock and then calls this method.
func (t *Tx) LockAuditHead(ctx context.Context) (botgate.AuditHead, error) {
	const op = "LockAuditHead"
	if err := t.writable(op); err != nil {
		return botgate.AuditHead{}, err
	}
	h, err := t.auditHead(ctx)
	if err != nil {
		return h, t.dbError(op, err)
	}
	return h, nil
}

// AppendAudit inserts a sealed event that follows the current head.
func (t *Tx) AppendAudit(ctx context.Context, e *botgate.AuditEvent) error {
	const op = "AppendAudit"
	if err := t.writable(op); err != nil {
		return err
	}
	if e.Hash == "" {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindInvalid, Message: "audit event is not sealed"}
	}
	h, err := t.auditHead(ctx)
	if err != nil {
		return t.dbError(op, err)
	}
	if e.Seq != h.Seq+1 || e.PrevHash != h.Hash {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: fmt.Sprintf(
			"audit event %d does not follow the head of the chain (%d)", e.Seq, h.Seq)}
	}
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		details = string(b)
	}
	if _, err := t.execGuarded(ctx, `INSERT INTO audit_events (seq, "time", actor_id, actor_name, token_id, action,
		target_type, target_id, target_name, ip, user_agent, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, toMicro(e.Time), e.ActorID, e.ActorName, e.TokenID, e.Action, e.TargetType, e.TargetID,
		e.TargetName, e.IP, e.UserAgent, details, e.PrevHash, e.Hash); err != nil {
		return t.dbError(op, err)
	}
	return nil
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
