package sqlstore

import (
	"context"
	"database/sql"
)

// SetTokenAutomation sets the token's automation label.
func (t *Tx) SetTokenAutomation(ctx context.Context, id int64, automation string) error {
	const op = "SetTokenAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE tokens SET automation = ? WHERE id = ?`, automation, id)
	if err != nil {
		return t.dbError(op, err)
	}
	if res == 0 {
		return t.notFound(op, "Token", sql.ErrNoRows)
	}
	return nil
}
