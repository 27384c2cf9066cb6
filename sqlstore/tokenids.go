package sqlstore

import (
	"context"
	"time"

	"github.com/botgate/botgate"
)

// UseTokenID records the exchanged identity token's ID in one conditional
// upsert: a live record of the same (issuer, jti) makes it a replay.
func (t *Tx) UseTokenID(ctx context.Context, issuer, jti string, expiresAt, now time.Time) error {
	const op = "UseTokenID"
	if err := t.writable(op); err != nil {
		return err
	}
	if issuer == "" || jti == "" {
		return botgate.E(t.op(op), botgate.Invalid("jti", "a token ID needs an issuer and a jti"))
	}
	if _, err := t.exec(ctx, `DELETE FROM used_token_ids WHERE expires_at <= ?`, toMicro(now)); err != nil {
		return t.dbError(op, err)
	}
	n, err := t.execGuarded(ctx, `INSERT INTO used_token_ids (issuer, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE used_token_ids.expires_at <= ?`, issuer, jti, toMicro(expiresAt), toMicro(now))
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: "the identity token was already exchanged (its jti was used before)"}
	}
	return nil
}
