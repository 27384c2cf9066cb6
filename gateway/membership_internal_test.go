package gateway

import (
	"context"
	"path/filepath"
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

// TestMembershipPurgeDuringLoadIsNotCached shows that an answer read while
// a purge ran is used once but not kept: it may predate the change.
func TestMembershipPurgeDuringLoadIsNotCached(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "botgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps := &purgingStore{Store: st}
	c := newMemberships(ps, botgate.SystemClock{}, time.Hour, 16)
	ps.c = c
	now := time.Now()
	if _, err := c.level(context.Background(), 1, botgate.ProjectResource, "1", now); err != nil {
		t.Fatal(err)
	}
	if n := c.cache.Len(); n != 0 {
		t.Fatalf("an answer read across a purge was cached (%d entries)", n)
	}
	// Without a purge, the answer is kept.
	plain := newMemberships(st, botgate.SystemClock{}, time.Hour, 16)
	if _, err := plain.level(context.Background(), 1, botgate.ProjectResource, "1", now); err != nil {
		t.Fatal(err)
	}
	if n := plain.cache.Len(); n != 1 {
		t.Fatalf("a normal answer was not cached (%d entries)", n)
	}
}
