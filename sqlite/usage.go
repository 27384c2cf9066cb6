package sqlite

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
	if len(usage) == 0 {
		return nil
	}
	// One statement, prepared once per batch (a batch can hold tens of
	// thousands of records); it inserts nothing for an unknown token.
	upsert, err := t.tx.PrepareContext(ctx, `INSERT INTO route_usage (token_id, method, route, scope, count, first_seen, last_seen)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM tokens WHERE id = ?1)
ON CONFLICT (token_id, method, route) DO UPDATE SET
	count      = count + excluded.count,
	first_seen = MIN(first_seen, excluded.first_seen),
	scope      = CASE WHEN excluded.last_seen >= last_seen THEN excluded.scope ELSE scope END,
	last_seen  = MAX(last_seen, excluded.last_seen)`)
	if err != nil {
		return t.DBError(op, err)
	}
	defer upsert.Close()
	hourly, err := t.tx.PrepareContext(ctx, `INSERT INTO token_hourly_usage (token_id, hour, requests)
SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tokens WHERE id = ?1)
ON CONFLICT (token_id, hour) DO UPDATE SET requests = requests + excluded.requests`)
	if err != nil {
		return t.DBError(op, err)
	}
	defer hourly.Close()
	for _, u := range usage {
		if u.Count <= 0 || u.Method == "" || u.Route == "" {
			continue
		}
		// Times are stored as integer Unix microseconds in UTC.
		first, last := u.FirstSeen.UTC().UnixMicro(), u.LastSeen.UTC().UnixMicro()
		if u.FirstSeen.IsZero() {
			first = last
		}
		if _, err := upsert.ExecContext(ctx, u.TokenID, u.Method, u.Route, string(u.Scope), u.Count, first, last); err != nil {
			return t.DBError(op, err)
		}
		if _, err := hourly.ExecContext(ctx, u.TokenID, botgate.HourOf(u.LastSeen), u.Count); err != nil {
			return t.DBError(op, err)
		}
	}
	return nil
}
