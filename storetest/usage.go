package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// ExerciseRouteUsage runs the conformance tests of RecordRouteUsage and
// FindRouteUsage. open must return a new, empty store for each call.
//
// The suite pins: counts add up across batches and within one batch;
// FirstSeen keeps the earliest and LastSeen the latest time; Scope follows
// the newest record, so an older batch applied late does not overwrite it;
// records with no count, method or route are ignored, as are unknown
// tokens; FindRouteUsage orders by LastSeen descending, then method, then
// route; and a View cannot record.
func ExerciseRouteUsage(t *testing.T, open func(t *testing.T) botgate.Store) {
	ru := func(tokenID int64, method, route string, scope botgate.Scope, n int64, first, last time.Duration) botgate.RouteUsage {
		return botgate.RouteUsage{TokenID: tokenID, Method: method, Route: route, Scope: scope, Count: n,
			FirstSeen: base.Add(first), LastSeen: base.Add(last)}
	}
	tests := []struct {
		name    string
		batches func(a, b int64) [][]botgate.RouteUsage
		want    func(a, b int64) map[int64][]botgate.RouteUsage
	}{
		{
			name: "FirstRecord",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{{ru(a, "GET", "/api/v4/projects/:id", botgate.ScopeReadAPI, 3, time.Second, 2*time.Second)}}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{
					a: {ru(a, "GET", "/api/v4/projects/:id", botgate.ScopeReadAPI, 3, time.Second, 2*time.Second)},
					b: nil,
				}
			},
		},
		{
			name: "CountsAddAcrossBatches",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{
					{ru(a, "GET", "/x", botgate.ScopeReadAPI, 2, 10*time.Second, 20*time.Second)},
					{ru(a, "GET", "/x", botgate.ScopeReadAPI, 5, 30*time.Second, 40*time.Second)},
				}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: {ru(a, "GET", "/x", botgate.ScopeReadAPI, 7, 10*time.Second, 40*time.Second)}}
			},
		},
		{
			name: "CountsAddWithinBatch",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{{
					ru(a, "POST", "/x", botgate.ScopeAPI, 1, 5*time.Second, 5*time.Second),
					ru(a, "POST", "/x", botgate.ScopeAPI, 1, 6*time.Second, 6*time.Second),
				}}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: {ru(a, "POST", "/x", botgate.ScopeAPI, 2, 5*time.Second, 6*time.Second)}}
			},
		},
		{
			name: "OlderBatchKeepsNewestScopeAndTimes",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{
					{ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 50*time.Second, 60*time.Second)},
					{ru(a, "GET", "/x", botgate.ScopeAPI, 4, 10*time.Second, 20*time.Second)},
				}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: {ru(a, "GET", "/x", botgate.ScopeReadAPI, 5, 10*time.Second, 60*time.Second)}}
			},
		},
		{
			name: "NewerBatchSetsScope",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{
					{ru(a, "GET", "/x", botgate.ScopeAPI, 1, 10*time.Second, 20*time.Second)},
					{ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 30*time.Second, 30*time.Second)},
				}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: {ru(a, "GET", "/x", botgate.ScopeReadAPI, 2, 10*time.Second, 30*time.Second)}}
			},
		},
		{
			name: "SeparateKeysAndOrder",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{{
					ru(a, "GET", "/b", botgate.ScopeReadAPI, 1, time.Second, 10*time.Second),
					ru(a, "GET", "/a", botgate.ScopeReadAPI, 1, time.Second, 10*time.Second),
					ru(a, "POST", "/a", botgate.ScopeAPI, 1, time.Second, 30*time.Second),
					ru(a, "DELETE", "/a", botgate.ScopeAPI, 1, time.Second, 10*time.Second),
					ru(b, "GET", "/a", "", 9, time.Second, 99*time.Second),
				}}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{
					a: {
						ru(a, "POST", "/a", botgate.ScopeAPI, 1, time.Second, 30*time.Second),
						ru(a, "DELETE", "/a", botgate.ScopeAPI, 1, time.Second, 10*time.Second),
						ru(a, "GET", "/a", botgate.ScopeReadAPI, 1, time.Second, 10*time.Second),
						ru(a, "GET", "/b", botgate.ScopeReadAPI, 1, time.Second, 10*time.Second),
					},
					b: {ru(b, "GET", "/a", "", 9, time.Second, 99*time.Second)},
				}
			},
		},
		{
			name: "IgnoresEmptyAndUnknown",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				return [][]botgate.RouteUsage{{
					ru(a, "GET", "/x", botgate.ScopeReadAPI, 0, time.Second, time.Second),
					ru(a, "", "/x", botgate.ScopeReadAPI, 1, time.Second, time.Second),
					ru(a, "GET", "", botgate.ScopeReadAPI, 1, time.Second, time.Second),
					ru(b+1000, "GET", "/x", botgate.ScopeReadAPI, 1, time.Second, time.Second),
				}}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: nil, b: nil, b + 1000: nil}
			},
		},
		{
			name: "ZeroFirstSeenIsLastSeen",
			batches: func(a, b int64) [][]botgate.RouteUsage {
				u := ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 0, 7*time.Second)
				u.FirstSeen = time.Time{}
				return [][]botgate.RouteUsage{{u}}
			},
			want: func(a, b int64) map[int64][]botgate.RouteUsage {
				return map[int64][]botgate.RouteUsage{a: {ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 7*time.Second, 7*time.Second)}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			a, b := ruTokens(t, s)
			for i, batch := range tc.batches(a, b) {
				if err := s.Update(ctx, func(tx botgate.Tx) error { return tx.RecordRouteUsage(ctx, batch) }); err != nil {
					t.Fatalf("RecordRouteUsage batch %d: %v", i, err)
				}
			}
			for id, want := range tc.want(a, b) {
				var got []botgate.RouteUsage
				if err := s.View(ctx, func(tx botgate.Tx) (err error) { got, err = tx.FindRouteUsage(ctx, id); return err }); err != nil {
					t.Fatalf("FindRouteUsage(%d): %v", id, err)
				}
				for i := range got {
					wantUTC(t, "route usage times", &got[i].FirstSeen, &got[i].LastSeen)
				}
				if !reflect.DeepEqual(ruNorm(got), ruNorm(want)) {
					t.Errorf("FindRouteUsage(%d):\n got %s\nwant %s", id, dump(got), dump(want))
				}
			}
		})
	}
	t.Run("Hourly", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a, b := ruTokens(t, s)
		h0 := base.UTC().Truncate(time.Hour)
		at := func(tokenID int64, n int64, d time.Duration) botgate.RouteUsage {
			return botgate.RouteUsage{TokenID: tokenID, Method: "GET", Route: "/x", Scope: botgate.ScopeReadAPI, Count: n,
				FirstSeen: h0.Add(d), LastSeen: h0.Add(d)}
		}
		update(t, s, func(tx botgate.Tx) error { return tx.SetTokenAutomation(ctx, a, "poller") })
		update(t, s, func(tx botgate.Tx) error {
			return tx.RecordRouteUsage(ctx, []botgate.RouteUsage{at(a, 2, time.Minute), at(a, 3, 59*time.Minute),
				at(b, 1, 61*time.Minute), at(a, 4, -time.Minute), at(a+b+100, 9, time.Minute)})
		})
		var got []botgate.HourlyUsage
		view(t, s, func(tx botgate.Tx) (err error) {
			got, err = tx.FindHourlyUsage(ctx, h0.Add(30*time.Minute))
			return err
		})
		want := []botgate.HourlyUsage{
			{TokenID: a, Automation: "poller", Hour: h0, Requests: 5},
			{TokenID: b, Automation: "", Hour: h0.Add(time.Hour), Requests: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("FindHourlyUsage:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("ViewCannotRecord", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a, _ := ruTokens(t, s)
		err := s.View(ctx, func(tx botgate.Tx) error {
			return tx.RecordRouteUsage(ctx, []botgate.RouteUsage{ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 0, 0)})
		})
		if err == nil {
			t.Fatal("RecordRouteUsage in a View succeeded")
		}
	})
	t.Run("RolledBack", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a, _ := ruTokens(t, s)
		boom := botgate.Errorf(botgate.KindConflict, "boom")
		err := s.Update(ctx, func(tx botgate.Tx) error {
			if err := tx.RecordRouteUsage(ctx, []botgate.RouteUsage{ru(a, "GET", "/x", botgate.ScopeReadAPI, 1, 0, 0)}); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("Update returned %v, want the function's error", err)
		}
		var got []botgate.RouteUsage
		if err := s.View(ctx, func(tx botgate.Tx) (err error) { got, err = tx.FindRouteUsage(ctx, a); return err }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("a rolled-back Update left route usage: %s", dump(got))
		}
	})
}

// ruTokens creates a user with two tokens and returns their IDs.
func ruTokens(t *testing.T, s botgate.Store) (int64, int64) {
	t.Helper()
	ctx := t.Context()
	var a, b int64
	err := s.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "route-user", Name: "Route User", Kind: botgate.ServiceAccount,
			State: botgate.UserActive, CreatedAt: base}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for i, id := range []*int64{&a, &b} {
			tk := &botgate.Token{UserID: u.ID, Kind: botgate.ServiceAccountToken, Name: "route-token-" + string(rune('a'+i)),
				Scopes: botgate.Scopes{botgate.ScopeAPI}, Digest: ruDigest(i), CreatedAt: base}
			if err := tx.CreateToken(ctx, tk); err != nil {
				return err
			}
			*id = tk.ID
		}
		return nil
	})
	if err != nil {
		t.Fatalf("creating tokens: %v", err)
	}
	return a, b
}

func ruDigest(i int) []byte {
	d := make([]byte, 32)
	copy(d, "route-usage-digest")
	d[31] = byte(i)
	return d
}

// ruNorm puts times at microsecond precision in UTC and nil for empty.
func ruNorm(us []botgate.RouteUsage) []botgate.RouteUsage {
	if len(us) == 0 {
		return nil
	}
	out := make([]botgate.RouteUsage, len(us))
	for i, u := range us {
		u.FirstSeen = u.FirstSeen.UTC().Truncate(time.Microsecond)
		u.LastSeen = u.LastSeen.UTC().Truncate(time.Microsecond)
		out[i] = u
	}
	return out
}
