package sqlstore

import (
	"context"
	"time"

	"github.com/botgate/botgate"
)

// RecordRouteUsage has no common SQL (SQLite prepares one conditional
// upsert per batch, PostgreSQL has no scalar MIN/MAX): each backend
// implements it.

// FindRouteUsage returns a token's route usage, most recently seen first.
func (t *Tx) FindRouteUsage(ctx context.Context, tokenID int64) ([]botgate.RouteUsage, error) {
	const op = "FindRouteUsage"
	rows, err := t.query(ctx, `SELECT method, route, scope, count, first_seen, last_seen
FROM route_usage WHERE token_id = ? ORDER BY last_seen DESC, `+t.d.Bytewise("method")+`, `+t.d.Bytewise("route"), tokenID)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	defer rows.Close()
	var out []botgate.RouteUsage
	for rows.Next() {
		u := botgate.RouteUsage{TokenID: tokenID}
		var scope string
		var first, last int64
		if err := rows.Scan(&u.Method, &u.Route, &scope, &u.Count, &first, &last); err != nil {
			return nil, t.dbError(op, err)
		}
		u.Scope = botgate.Scope(scope)
		u.FirstSeen, u.LastSeen = fromMicro(first), fromMicro(last)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbError(op, err)
	}
	return out, nil
}

// FindHourlyUsage returns the tokens' requests per hour from since's hour
// on.
func (t *Tx) FindHourlyUsage(ctx context.Context, since time.Time) ([]botgate.HourlyUsage, error) {
	const op = "FindHourlyUsage"
	rows, err := t.query(ctx, `SELECT h.token_id, t.automation, h.hour, h.requests
FROM token_hourly_usage h JOIN tokens t ON t.id = h.token_id WHERE h.hour >= ? ORDER BY h.hour, h.token_id`,
		botgate.HourOf(since))
	if err != nil {
		return nil, t.dbError(op, err)
	}
	defer rows.Close()
	var out []botgate.HourlyUsage
	for rows.Next() {
		var u botgate.HourlyUsage
		var hour int64
		if err := rows.Scan(&u.TokenID, &u.Automation, &hour, &u.Requests); err != nil {
			return nil, t.dbError(op, err)
		}
		u.Hour = fromMicro(hour)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbError(op, err)
	}
	return out, nil
}
