package gateway

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
)

// purgingStore purges the membership cache in the middle of every read,
// as a membership change on another goroutine would.
type purgingStore struct {
	botgate.Store
	c *memberships
}

func (p *purgingStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	err := p.Store.View(ctx, fn)
	p.c.purge()
	return err
}

// openTestStore opens an empty SQLite store, closed when the test ends.
func openTestStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "botgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestMembershipPurgeDuringLoadIsNotCached shows that an answer read while
// a purge ran is used once but not kept: it may predate the change.
func TestMembershipPurgeDuringLoadIsNotCached(t *testing.T) {
	st := openTestStore(t)
	ps := &purgingStore{Store: st}
	c := newMemberships(ps, botgate.SystemClock{}, time.Hour, 16)
	ps.c = c
	now := time.Now()
	if _, err := c.level(context.Background(), &identityInfo{}, 1, botgate.ProjectResource, "1", now); err != nil {
		t.Fatal(err)
	}
	if n := c.cache.Len(); n != 0 {
		t.Fatalf("an answer read across a purge was cached (%d entries)", n)
	}
	// Without a purge, the answer is kept.
	plain := newMemberships(st, botgate.SystemClock{}, time.Hour, 16)
	if _, err := plain.level(context.Background(), &identityInfo{}, 1, botgate.ProjectResource, "1", now); err != nil {
		t.Fatal(err)
	}
	if n := plain.cache.Len(); n != 1 {
		t.Fatalf("a normal answer was not cached (%d entries)", n)
	}
}

// countingStore counts the store's reads.
type countingStore struct {
	botgate.Store
	views atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

// stepClock is a clock that moves only when told.
type stepClock struct{ now atomic.Int64 }

func (c *stepClock) Now() time.Time { return time.Unix(0, c.now.Load()) }

// TestMembershipMemoFollowsTheCache shows that the answer an identity
// keeps (memberMemo) is used only while the cache would have answered the
// same: for the same resource, until the cache entry expires, and not
// after a purge.
func TestMembershipMemoFollowsTheCache(t *testing.T) {
	st := openTestStore(t)
	cs := &countingStore{Store: st}
	clk := &stepClock{}
	clk.now.Store(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC).UnixNano())
	c := newMemberships(cs, clk, time.Minute, 16)
	info := &identityInfo{}
	ctx := context.Background()
	ask := func(step, ref string, wantViews int64) {
		t.Helper()
		if _, err := c.level(ctx, info, 1, botgate.ProjectResource, ref, clk.Now()); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := cs.views.Load(); got != wantViews {
			t.Fatalf("%s: %d store reads in all, want %d", step, got, wantViews)
		}
	}
	ask("first request: loaded", "1", 1)
	ask("second: from the cache, kept with the identity", "1", 1)
	if m := info.member.Load(); m == nil || m.ref != "1" {
		t.Fatalf("the identity keeps %+v, want the answer for project 1", m)
	}
	ask("third: from the identity", "1", 1)
	ask("another project: loaded", "2", 2)
	ask("back to the first: still kept", "1", 2)
	c.purge()
	ask("after a purge: loaded again", "1", 3)
	ask("from the cache again", "1", 3)
	clk.now.Add(int64(time.Minute))
	ask("after the cache lifetime: loaded again", "1", 4)
}
