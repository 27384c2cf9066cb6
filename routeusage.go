package botgate

import "time"

// RouteUsage counts one token's calls of one route through the gateway:
// which method and route pattern it called, which scope that call needed,
// how often, and when last. Records are coalesced in memory and applied to
// the store in batches; later governance reads them to say which scopes a
// token actually needs.
type RouteUsage struct {
	TokenID int64
	Method  string // "GET", "POST", ...
	// Route is the normalized route pattern, such as
	// "/api/v4/projects/:id/merge_requests": ids and URL-encoded paths are
	// replaced by parameters, so that calls of one endpoint count together.
	Route string
	// Scope is the weakest scope that allowed the call (e.g. read_api for
	// a read), empty when the route needs none.
	Scope Scope
	// Count is the number of calls; in a batch, the calls since the last
	// flush.
	Count int64
	// FirstSeen and LastSeen bound the calls counted.
	FirstSeen time.Time
	LastSeen  time.Time
}

// HourlyUsage is one token's requests through the gateway in one hour.
type HourlyUsage struct {
	TokenID    int64
	Automation string // the token's automation label
	Hour       time.Time
	Requests   int64
}

// HourOf returns the start of t's hour as Unix microseconds in UTC, the
// key of HourlyUsage rows in the stores.
func HourOf(t time.Time) int64 { return t.UTC().Truncate(time.Hour).UnixMicro() }
