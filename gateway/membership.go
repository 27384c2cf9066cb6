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
// escaped reference names; NoAccess if the resource does not exist. The
// answer is first looked for in info, which keeps the last one the
// identity was given from the cache (see memberMemo).
func (c *memberships) level(ctx context.Context, info *identityInfo, userID int64, typ botgate.ResourceType, ref string, now time.Time) (botgate.AccessLevel, error) {
	m := info.member.Load()
	if m != nil && m.ref == ref && m.typ == typ && now.UnixNano() < m.expires && m.gen == c.cache.Generation() {
		return m.level, nil
	}
	k := memberKey{userID, typ, ref}
	if level, expires, gen, ok := c.cache.PeekUntil(k); ok {
		if m == nil || now.UnixNano() >= m.expires || m.gen != gen {
			info.member.Store(&memberMemo{ref: strings.Clone(ref), typ: typ, level: level, expires: expires.UnixNano(), gen: gen})
		}
		return level, nil
	}
	// The reference is part of the request's URI: the key kept must not
	// hold the whole URI in memory.
	k.ref = strings.Clone(ref)
	return c.cache.Get(ctx, k, func(ctx context.Context) (botgate.AccessLevel, error) {
		return c.load(ctx, userID, typ, ref, now)
	})
}

// memberMemo is one membership answer of the cache kept with the identity
// it was given to (identityInfo.member), until the cache entry expires or
// the cache is purged: over many active tokens, the identity is at hand
// where the cache's map is one more lookup missing the CPU caches. Each
// identity keeps one, for the last resource it reached, replaced only
// once it is stale, so that a token moving between resources does not
// allocate a memo on every request. It is never changed once made.
type memberMemo struct {
	ref     string
	typ     botgate.ResourceType
	level   botgate.AccessLevel
	expires int64  // the cache entry's expiry, Unix nanoseconds
	gen     uint64 // the cache's generation when it was read
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
