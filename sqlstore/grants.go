package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/botgate/botgate"
)

const grantCols = `id, credential_id, upstream_token_id, subject, expires_at, created_at, revoked_at`

func scanGrant(r scanner) (*botgate.UpstreamGrant, error) {
	var (
		g                botgate.UpstreamGrant
		expires, created int64
		revoked          sql.NullInt64
	)
	if err := r.Scan(&g.ID, &g.CredentialID, &g.UpstreamTokenID, &g.Subject, &expires, &created, &revoked); err != nil {
		return nil, err
	}
	g.ExpiresAt, g.CreatedAt, g.RevokedAt = fromMicro(expires), fromMicro(created), fromMicroPtr(revoked)
	return &g, nil
}

// CreateUpstreamGrant inserts g and sets its ID.
func (t *Tx) CreateUpstreamGrant(ctx context.Context, g *botgate.UpstreamGrant) error {
	const op = "CreateUpstreamGrant"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&g.ExpiresAt)
	truncate(&g.CreatedAt)
	g.RevokedAt = truncatePtr(g.RevokedAt)
	id, err := t.insertID(ctx, `INSERT INTO upstream_grants (credential_id, upstream_token_id, subject, expires_at, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?)`, g.CredentialID, g.UpstreamTokenID, g.Subject, toMicro(g.ExpiresAt), toMicro(g.CreatedAt), toMicroPtr(g.RevokedAt))
	if err != nil {
		return refError(t.dbError(op, err), "credential_id", "upstream credential does not exist")
	}
	g.ID = id
	return nil
}

// UpstreamGrant returns the grant.
func (t *Tx) UpstreamGrant(ctx context.Context, id int64) (*botgate.UpstreamGrant, error) {
	g, err := scanGrant(t.queryRow(ctx, `SELECT `+grantCols+` FROM upstream_grants WHERE id = ?`, id))
	if err != nil {
		return nil, t.notFound("UpstreamGrant", "Upstream grant", err)
	}
	return g, nil
}

// FindExpiredUpstreamGrants returns open grants expired at now.
func (t *Tx) FindExpiredUpstreamGrants(ctx context.Context, now time.Time, limit int) ([]*botgate.UpstreamGrant, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := t.query(ctx, `SELECT `+grantCols+` FROM upstream_grants WHERE revoked_at IS NULL AND expires_at <= ?
		ORDER BY expires_at, id LIMIT `+itoa(limit), toMicro(now))
	if err != nil {
		return nil, t.dbError("FindExpiredUpstreamGrants", err)
	}
	out, err := collect(rows, scanGrant)
	if err != nil {
		return nil, t.dbError("FindExpiredUpstreamGrants", err)
	}
	return out, nil
}

// RevokeUpstreamGrant marks the grant revoked if it is not yet.
func (t *Tx) RevokeUpstreamGrant(ctx context.Context, id int64, at time.Time) error {
	const op = "RevokeUpstreamGrant"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `UPDATE upstream_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, toMicro(at), id)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 1 {
		return nil
	}
	if _, err := t.UpstreamGrant(ctx, id); err != nil {
		return err
	}
	return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: "the upstream grant was already revoked"}
}
