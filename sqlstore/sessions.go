package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/botgate/botgate"
)

// CreateSession inserts a console session.
func (t *Tx) CreateSession(ctx context.Context, s *botgate.Session) error {
	const op = "CreateSession"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&s.CreatedAt)
	truncate(&s.LastSeenAt)
	if _, err := t.exec(ctx, `INSERT INTO console_sessions (digest, user_id, token_id, created_at, last_seen_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.Digest, s.UserID, s.TokenID, toMicro(s.CreatedAt), toMicro(s.LastSeenAt), s.IP, s.UserAgent); err != nil {
		return t.dbError(op, err)
	}
	return nil
}

// SessionByDigest returns the session with the digest.
func (t *Tx) SessionByDigest(ctx context.Context, digest []byte) (*botgate.Session, error) {
	const op = "SessionByDigest"
	var (
		s                 botgate.Session
		created, lastSeen int64
	)
	err := t.queryRow(ctx, `SELECT digest, user_id, token_id, created_at, last_seen_at, ip, user_agent
		FROM console_sessions WHERE digest = ?`, digest).
		Scan(&s.Digest, &s.UserID, &s.TokenID, &created, &lastSeen, &s.IP, &s.UserAgent)
	if err != nil {
		return nil, t.notFound(op, "Session", err)
	}
	s.CreatedAt, s.LastSeenAt = fromMicro(created), fromMicro(lastSeen)
	return &s, nil
}

// TouchSession moves the session's LastSeenAt forward.
func (t *Tx) TouchSession(ctx context.Context, digest []byte, at time.Time) error {
	const op = "TouchSession"
	if err := t.writable(op); err != nil {
		return err
	}
	if _, err := t.SessionByDigest(ctx, digest); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `UPDATE console_sessions SET last_seen_at = ? WHERE digest = ? AND last_seen_at < ?`,
		toMicro(at), digest, toMicro(at)); err != nil {
		return t.dbError(op, err)
	}
	return nil
}

// DeleteSession removes the session.
func (t *Tx) DeleteSession(ctx context.Context, digest []byte) error {
	const op = "DeleteSession"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `DELETE FROM console_sessions WHERE digest = ?`, digest)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "Session", sql.ErrNoRows)
	}
	return nil
}

// DeleteSessions removes the sessions idle since before idleBefore or
// created before createdBefore.
func (t *Tx) DeleteSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	const op = "DeleteSessions"
	if err := t.writable(op); err != nil {
		return 0, err
	}
	n, err := t.exec(ctx, `DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?`,
		toMicro(idleBefore), toMicro(createdBefore))
	if err != nil {
		return 0, t.dbError(op, err)
	}
	return int(n), nil
}
