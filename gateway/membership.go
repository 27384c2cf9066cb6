package gateway

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/cache"
)

// memberships answers "may this user reach this project or group?" from
// the store, caching answers for a short TTL in a bounded map.
type memberships struct {
	store botgate.Store
	cache *cache.Cache[memberKey, botgate.AccessLevel]
}

type memberKey struct {
	userID int64
	typ    botgate.ResourceType
	ref    string // the escaped path segment: an id or an encoded full path
}

func newMemberships(store botgate.Store, clock botgate.Clock, ttl time.Duration, max int) *memberships {
	return &memberships{store: store, cache: cache.New(cache.Config[memberKey, botgate.AccessLevel]{
		TTL: ttl, MaxEntries: max, Now: clock.Now,
		FlightKey: func(k memberKey) string {
			// The reference comes last: the fields before it hold no NUL.
			return strconv.FormatInt(k.userID, 10) + "\x00" + string(k.typ) + "\x00" + k.ref
		},
	})}
}

// level returns the user's effective access level on the resource the
// escaped reference names; NoAccess if the resource does not exist.
func (c *memberships) level(ctx context.Context, userID int64, typ botgate.ResourceType, ref string, now time.Time) (botgate.AccessLevel, error) {
	k := memberKey{userID, typ, ref}
	if level, ok := c.cache.Peek(k); ok {
		return level, nil
	}
	// The reference is part of the request's URI: the key kept must not
	// hold the whole URI in memory.
	k.ref = strings.Clone(ref)
	return c.cache.Get(ctx, k, func(ctx context.Context) (botgate.AccessLevel, error) {
		return c.load(ctx, userID, typ, ref, now)
	})
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

// purge forgets every answer; an answer being read meanwhile is used once
// but not kept, since it may predate the change.
func (c *memberships) purge() { c.cache.Purge() }
