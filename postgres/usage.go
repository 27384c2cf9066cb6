package postgres

import (
	"context"

	"github.com/botgate/botgate"
)

// RecordRouteUsage merges coalesced route usage into the route_usage table.
func (t *tx) RecordRouteUsage(ctx context.Context, usage []botgate.RouteUsage) error {
	const op = "postgres.RecordRouteUsage"
	if err := t.writable(op); err != nil {
		return err
	}
	for _, u := range usage {
		if u.Count <= 0 || u.Method == "" || u.Route == "" {
			continue
		}
		var exists int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM tokens WHERE id = ?`, u.TokenID).Scan(&exists); err != nil {
			return dbError(op, err)
		}
		if exists == 0 {
			continue // unknown tokens are ignored
		}
		first, last := toMicro(u.FirstSeen), toMicro(u.LastSeen)
		if u.FirstSeen.IsZero() {
			first = last
		}
		_, err := t.exec(ctx, `INSERT INTO route_usage (token_id, method, route, scope, count, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token_id, method, route) DO UPDATE SET
	count      = route_usage.count + excluded.count,
	first_seen = LEAST(route_usage.first_seen, excluded.first_seen),
	scope      = CASE WHEN excluded.last_seen >= route_usage.last_seen THEN excluded.scope ELSE route_usage.scope END,
	last_seen  = GREATEST(route_usage.last_seen, excluded.last_seen)`,
			u.TokenID, u.Method, u.Route, string(u.Scope), u.Count, first, last)
		if err != nil {
			return dbError(op, err)
		}
	}
	return nil
}

// FindRouteUsage returns a token's route usage, most recently seen first.
func (t *tx) FindRouteUsage(ctx context.Context, tokenID int64) ([]botgate.RouteUsage, error) {
	const op = "postgres.FindRouteUsage"
	rows, err := t.query(ctx, `SELECT method, route, scope, count, first_seen, last_seen
FROM route_usage WHERE token_id = ? ORDER BY last_seen DESC, method COLLATE "C", route COLLATE "C"`, tokenID)
	if err != nil {
		return nil, dbError(op, err)
	}
	defer rows.Close()
	var out []botgate.RouteUsage
	for rows.Next() {
		u := botgate.RouteUsage{TokenID: tokenID}
		var scope string
		var first, last int64
		if err := rows.Scan(&u.Method, &u.Route, &scope, &u.Count, &first, &last); err != nil {
			return nil, dbError(op, err)
		}
		u.Scope = botgate.Scope(scope)
		u.FirstSeen, u.LastSeen = fromMicro(first), fromMicro(last)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}
