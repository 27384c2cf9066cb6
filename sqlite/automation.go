package sqlite

import (
	"context"
	"database/sql"
)

// SetTokenAutomation sets the token's automation label.
func (t *tx) SetTokenAutomation(ctx context.Context, id int64, automation string) error {
	const op = "sqlite.SetTokenAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE tokens SET automation = ? WHERE id = ?`, automation, id)
	if err != nil {
		return dbError(op, err)
	}
	if affected(res) == 0 {
		return notFound(op, "Token", sql.ErrNoRows)
	}
	return nil
}
