package vaultcred

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/gateway"
)

// fixedClock is a clock that stays where it is set.
type fixedClock struct{ now time.Time }

func (c fixedClock) Now() time.Time { return c.now }

// TestCacheIsBounded fills the cache to its bound and checks that the
// next value stored drops the expired entries, keeping the live ones, and
// that a cache full of live entries is emptied rather than grown.
func TestCacheIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		expired int // of maxEntries cached values, how many have expired
		want    int // entries after one more value is stored
	}{
		{"expired entries dropped", maxEntries / 2, maxEntries - maxEntries/2 + 1},
		{"all live: emptied", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Source{Clock: fixedClock{now}, cache: make(map[cacheKey]cachedValue, maxEntries)}
			for i := range maxEntries {
				until := now.Add(time.Minute)
				if i < tt.expired {
					until = now.Add(-time.Second)
				}
				v.cache[cacheKey{ref: "vault:platform/x", family: int64(i + 1)}] = cachedValue{value: "v", until: until}
			}
			// A reference that is not in the cache and not in a vault
			// fails before storing anything: the bound applies on store.
			if _, _, err := v.Credential(context.Background(), gateway.Route{Name: "r", Credential: "env:X"}, nil); !botgate.IsKind(err, botgate.KindNotFound) {
				t.Fatalf("non-vault reference: %v", err)
			}
			if len(v.cache) != maxEntries {
				t.Fatalf("a failed lookup changed the cache: %d entries", len(v.cache))
			}
			v.store(cacheKey{ref: "vault:platform/new"}, "new", now)
			if len(v.cache) != tt.want {
				t.Fatalf("%d entries after storing one more, want %d", len(v.cache), tt.want)
			}
			if c, ok := v.cache[cacheKey{ref: "vault:platform/new"}]; !ok || c.value != "new" {
				t.Fatalf("the new value was not kept: %+v, %v", c, ok)
			}
		})
	}
}

// TestConcurrentReadsShareOneFlight checks that a request arriving while
// the vault is read for the same key waits for that read instead of
// reading (and auditing) again. The Source has no vault: a second read
// would panic.
func TestConcurrentReadsShareOneFlight(t *testing.T) {
	route := gateway.Route{Name: "gitlab", Credential: "vault:platform/route-cred", Header: "Authorization", Prefix: "Bearer "}
	key := cacheKey{ref: route.Credential}
	t.Run("waits for the read in flight", func(t *testing.T) {
		f := &flight{done: make(chan struct{})}
		v := &Source{flights: map[cacheKey]*flight{key: f}}
		type answer struct {
			h, val string
			err    error
		}
		got := make(chan answer, 1)
		go func() {
			h, val, err := v.Credential(context.Background(), route, nil)
			got <- answer{h, val, err}
		}()
		f.value = "from-the-flight"
		close(f.done)
		a := <-got
		if a.err != nil || a.h != "Authorization" || a.val != "Bearer from-the-flight" {
			t.Fatalf("Credential = %q, %q, %v; want the flight's value", a.h, a.val, a.err)
		}
	})
	t.Run("gives up with its context", func(t *testing.T) {
		v := &Source{flights: map[cacheKey]*flight{key: {done: make(chan struct{})}}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, val, err := v.Credential(ctx, route, nil); !errors.Is(err, context.Canceled) || val != "" {
			t.Fatalf("Credential = %q, %v; want context.Canceled", val, err)
		}
	})
}
