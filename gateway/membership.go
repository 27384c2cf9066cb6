package gateway

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// memberships answers "may this user reach this project or group?" from
// the store, caching answers for a short TTL in a bounded map.
type memberships struct {
	store botgate.Store
	ttl   time.Duration
	max   int

	mu  sync.RWMutex
	m   map[memberKey]memberAnswer
	gen uint64 // incremented by every purge, under mu
}

type memberKey struct {
	userID int64
	typ    botgate.ResourceType
	ref    string // the escaped path segment: an id or an encoded full path
}

type memberAnswer struct {
	level   botgate.AccessLevel
	expires time.Time
}

func newMemberships(store botgate.Store, ttl time.Duration, max int) *memberships {
	return &memberships{store: store, ttl: ttl, max: max, m: make(map[memberKey]memberAnswer)}
}

// level returns the user's effective access level on the resource the
// escaped reference names; NoAccess if the resource does not exist.
func (c *memberships) level(ctx context.Context, userID int64, typ botgate.ResourceType, ref string, now time.Time) (botgate.AccessLevel, error) {
	k := memberKey{userID, typ, ref}
	c.mu.RLock()
	a, ok := c.m[k]
	gen := c.gen // on a miss, the generation the load must not outlive
	c.mu.RUnlock()
	if ok && now.Before(a.expires) {
		return a.level, nil
	}
	level, err := c.load(ctx, userID, typ, ref, now)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		// A purge ran while the store was read: the answer may predate
		// the change that caused it, so use it once but do not keep it.
		return level, nil
	}
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // bounded: start over rather than grow
		}
	}
	c.m[k] = memberAnswer{level: level, expires: now.Add(c.ttl)}
	return level, nil
}

func (c *memberships) load(ctx context.Context, userID int64, typ botgate.ResourceType, ref string, now time.Time) (botgate.AccessLevel, error) {
	level := botgate.NoAccess
	err := c.store.View(ctx, func(tx botgate.Tx) error {
		id, err := resourceID(ctx, tx, typ, ref)
		if err != nil || id == 0 {
			return err
		}
		l, err := authority.AccessOn(ctx, tx, userID, botgate.Resource{Type: typ, ID: id}, now)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil
		}
		level = l
		return err
	})
	return level, err
}

// resourceID resolves an escaped reference, an id or a URL-encoded full
// path, to the resource's id; 0 if it names nothing.
func resourceID(ctx context.Context, tx botgate.Tx, typ botgate.ResourceType, ref string) (int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return id, nil
	}
	path, err := url.PathUnescape(ref)
	if err != nil {
		return 0, nil
	}
	var id int64
	switch typ {
	case botgate.ProjectResource:
		var p *botgate.Project
		if p, err = tx.ProjectByPath(ctx, path); err == nil {
			id = p.ID
		}
	case botgate.GroupResource:
		var g *botgate.Group
		if g, err = tx.GroupByPath(ctx, path); err == nil {
			id = g.ID
		}
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		return 0, nil
	}
	return id, err
}

// purge forgets every answer.
func (c *memberships) purge() {
	c.mu.Lock()
	clear(c.m)
	c.gen++
	c.mu.Unlock()
}
