package postgres

import (
	"context"

	"github.com/botgate/botgate"
)

// RecordRouteUsage merges coalesced route usage into the route_usage table.
func (t *tx) RecordRouteUsage(ctx context.Context, usage []botgate.RouteUsage) error {
	const op = "RecordRouteUsage"
	if err := t.Writable(op); err != nil {
		return err
	}
	for _, u := range usage {
		if u.Count <= 0 || u.Method == "" || u.Route == "" {
			continue
		}
		var exists int
		if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM tokens WHERE id = ?`, u.TokenID).Scan(&exists); err != nil {
			return t.DBError(op, err)
		}
		if exists == 0 {
			continue // unknown tokens are ignored
		}
		// Times are stored as integer Unix microseconds in UTC.
		first, last := u.FirstSeen.UTC().UnixMicro(), u.LastSeen.UTC().UnixMicro()
		if u.FirstSeen.IsZero() {
			first = last
		}
		_, err := t.Exec(ctx, `INSERT INTO route_usage (token_id, method, route, scope, count, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token_id, method, route) DO UPDATE SET
	count      = route_usage.count + excluded.count,
	first_seen = LEAST(route_usage.first_seen, excluded.first_seen),
	scope      = CASE WHEN excluded.last_seen >= route_usage.last_seen THEN excluded.scope ELSE route_usage.scope END,
	last_seen  = GREATEST(route_usage.last_seen, excluded.last_seen)`,
			u.TokenID, u.Method, u.Route, string(u.Scope), u.Count, first, last)
		if err != nil {
			return t.DBError(op, err)
		}
		_, err = t.Exec(ctx, `INSERT INTO token_hourly_usage (token_id, hour, requests) VALUES (?, ?, ?)
ON CONFLICT (token_id, hour) DO UPDATE SET requests = token_hourly_usage.requests + excluded.requests`,
			u.TokenID, botgate.HourOf(u.LastSeen), u.Count)
		if err != nil {
			return t.DBError(op, err)
		}
	}
	return nil
}
