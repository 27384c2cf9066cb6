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
type fixedClock struct{ now *time.Time }

func (c fixedClock) Now() time.Time { return *c.now }

// TestCacheIsBounded fills the cache to its bound and checks that the
// next value stored drops the expired entries, keeping the live ones, and
// that a cache full of live entries drops an eighth of them (see
// internal/cache) rather than grow.
func TestCacheIsBounded(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		expired int // of maxEntries cached values, how many have expired
		want    int // entries after one more value is stored
	}{
		{"expired entries dropped", maxEntries / 2, maxEntries - maxEntries/2 + 1},
		{"all live: an eighth dropped", 0, maxEntries - maxEntries/8 + 1},
	}
	value := func(s string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return s, nil }
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			v := &Source{Clock: fixedClock{&now}}
			ctx := context.Background()
			for i := range maxEntries {
				now = start
				if i < tt.expired {
					now = start.Add(-time.Hour) // stored an hour ago: expired
				}
				if _, err := v.values().Get(ctx, cacheKey{ref: "vault:platform/x", family: int64(i + 1)}, value("v")); err != nil {
					t.Fatal(err)
				}
			}
			now = start
			// A reference that is not in the cache and not in a vault
			// fails before storing anything: the bound applies on store.
			if _, _, err := v.Credential(ctx, gateway.Route{Name: "r", Credential: "env:X"}, nil); !botgate.IsKind(err, botgate.KindNotFound) {
				t.Fatalf("non-vault reference: %v", err)
			}
			if n := v.values().Len(); n != maxEntries {
				t.Fatalf("a failed lookup changed the cache: %d entries", n)
			}
			if _, err := v.values().Get(ctx, cacheKey{ref: "vault:platform/new"}, value("new")); err != nil {
				t.Fatal(err)
			}
			if n := v.values().Len(); n != tt.want {
				t.Fatalf("%d entries after storing one more, want %d", n, tt.want)
			}
			if c, ok := v.values().Peek(cacheKey{ref: "vault:platform/new"}); !ok || c != "new" {
				t.Fatalf("the new value was not kept: %q, %v", c, ok)
			}
		})
	}
}

// TestConcurrentReadsShareOneFlight checks that a request arriving while
// the vault is read for the same key waits for that read instead of
// reading (and auditing) again. The Source has no vault: a second read
// would fail.
func TestConcurrentReadsShareOneFlight(t *testing.T) {
	route := gateway.Route{Name: "gitlab", Credential: "vault:platform/route-cred", Header: "Authorization", Prefix: "Bearer "}
	key := cacheKey{ref: route.Credential}
	// inFlight starts a read of key that lasts until release is closed.
	inFlight := func(v *Source) (release chan struct{}) {
		started, release := make(chan struct{}), make(chan struct{})
		go v.values().Get(context.Background(), key, func(context.Context) (string, error) {
			close(started)
			<-release
			return "from-the-flight", nil
		})
		<-started
		return release
	}
	t.Run("waits for the read in flight", func(t *testing.T) {
		v := &Source{}
		release := inFlight(v)
		type answer struct {
			h, val string
			err    error
		}
		got := make(chan answer, 1)
		go func() {
			h, val, err := v.Credential(context.Background(), route, nil)
			got <- answer{h, val, err}
		}()
		time.Sleep(10 * time.Millisecond) // let the request join the flight
		close(release)
		a := <-got
		if a.err != nil || a.h != "Authorization" || a.val != "Bearer from-the-flight" {
			t.Fatalf("Credential = %q, %q, %v; want the flight's value", a.h, a.val, a.err)
		}
	})
	t.Run("gives up with its context", func(t *testing.T) {
		v := &Source{}
		release := inFlight(v)
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, val, err := v.Credential(ctx, route, nil); !errors.Is(err, context.Canceled) || val != "" {
			t.Fatalf("Credential = %q, %v; want context.Canceled", val, err)
		}
	})
}
