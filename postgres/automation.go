package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetTokenAutomation sets the token's automation label.
func (t *tx) SetTokenAutomation(ctx context.Context, id int64, automation string) error {
	const op = "postgres.SetTokenAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE tokens SET automation = ? WHERE id = ?`, automation, id)
	if err != nil {
		return dbError(op, err)
	}
	if res.RowsAffected() == 0 {
		return notFound(op, "Token", pgx.ErrNoRows)
	}
	return nil
}
