// Package cache keeps recently loaded values in memory for a short time: a
// bounded map whose entries expire, one load per key at a time, and a
// purge that a load already under way cannot undo.
package cache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config says how long a Cache keeps values and how many.
type Config[K comparable, V any] struct {
	// TTL is how long a loaded value is kept; with none (0 or negative),
	// nothing is kept, but concurrent loads of a key are still coalesced.
	TTL time.Duration
	// MaxEntries bounds the entries kept; 0 means no bound. Storing into
	// a full cache drops the expired entries first and, if that is not
	// enough, an eighth of the entries, chosen at random: a working set a
	// little larger than the bound then misses a little more often,
	// where emptying the cache would make it miss on every request.
	MaxEntries int
	// Negative, if set, reports the values that record an absence (such
	// as "no such token"). They are kept for NegativeTTL if that is
	// shorter than TTL, and at most MaxNegative of them at once (0: no
	// bound of their own): a negative value that does not fit once the
	// expired entries are dropped is returned but not kept, so that a
	// flood of misses never pushes out the positive entries.
	Negative    func(V) bool
	NegativeTTL time.Duration
	MaxNegative int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FlightKey names a key for coalescing loads; distinct keys must have
	// distinct names. It may be nil when K is string.
	FlightKey func(K) string
}

// Cache maps keys to values loaded on demand. Its methods are safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	cfg     Config[K, V]
	flights singleflight.Group

	mu  sync.RWMutex
	m   map[K]entry[V]
	neg int           // negative entries in m
	gen atomic.Uint64 // incremented by every Purge, with mu held
}

type entry[V any] struct {
	v        V
	expires  time.Time
	negative bool
}

// New returns an empty cache. It panics if cfg.FlightKey is nil and K is
// not string, a programming error.
func New[K comparable, V any](cfg Config[K, V]) *Cache[K, V] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FlightKey == nil {
		var k K
		if _, ok := any(k).(string); !ok {
			panic(fmt.Sprintf("cache: keys of type %T need a FlightKey", k))
		}
		cfg.FlightKey = func(k K) string { return any(k).(string) }
	}
	return &Cache[K, V]{cfg: cfg, m: make(map[K]entry[V])}
}

// Get returns the value kept for key, or loads it. Callers asking for the
// same key while it loads wait for that one load instead of loading again;
// a caller whose ctx ends stops waiting and gets ctx's error. The load runs
// without ctx's cancellation, since others may be waiting for it.
//
// A load's error is returned to the callers that waited for it and is not
// kept. A value loaded across a Purge is returned to the callers that
// waited for it but not kept, since it may predate the change that caused
// the purge; callers arriving after the purge start a load of their own.
//
// A caller on a hot path may Peek first, so that the load's closure is
// made only on a miss.
func (c *Cache[K, V]) Get(ctx context.Context, key K, load func(context.Context) (V, error)) (V, error) {
	now := c.cfg.Now()
	c.mu.RLock()
	e, ok := c.m[key]
	gen := c.gen.Load()
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	// The generation is part of the flight's name, so that no caller
	// joins a load that began before a purge it has seen.
	name := strconv.FormatUint(gen, 10) + ":" + c.cfg.FlightKey(key)
	ch := c.flights.DoChan(name, func() (any, error) {
		start := c.cfg.Now()
		v, err := run(context.WithoutCancel(ctx), load)
		if err == nil {
			c.store(key, v, start, gen)
		}
		return v, err
	})
	var zero V
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// run calls load, turning a panic into an error: the load runs on behalf
// of every waiting caller, so its panic must not take the process down.
func run[V any](ctx context.Context, load func(context.Context) (V, error)) (v V, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cache: load panicked: %v", r)
		}
	}()
	return load(ctx)
}

// Peek returns the value kept for key, if it has not expired, without
// loading anything.
func (c *Cache[K, V]) Peek(key K) (V, bool) {
	now := c.cfg.Now()
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// PeekUntil is Peek that also says until when the value may be used and
// the generation it belongs to: a caller that keeps the value aside, so
// as to find it again without this map, may use it until it expires and
// while Generation still returns gen.
func (c *Cache[K, V]) PeekUntil(key K) (v V, expires time.Time, gen uint64, ok bool) {
	now := c.cfg.Now()
	c.mu.RLock()
	e, ok := c.m[key]
	gen = c.gen.Load()
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return v, time.Time{}, 0, false
	}
	return e.v, e.expires, gen, true
}

// Generation returns a number that every Purge changes.
func (c *Cache[K, V]) Generation() uint64 { return c.gen.Load() }

// Len returns the number of entries kept, expired ones included.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Purge forgets every value. A load under way when Purge is called is
// used by the callers waiting for it but not kept.
func (c *Cache[K, V]) Purge() {
	c.mu.Lock()
	clear(c.m)
	c.neg = 0
	c.gen.Add(1)
	c.mu.Unlock()
}

// store keeps v, loaded from start on, unless the cache was purged since
// generation gen, within the cache's bounds.
func (c *Cache[K, V]) store(key K, v V, start time.Time, gen uint64) {
	negative := c.cfg.Negative != nil && c.cfg.Negative(v)
	ttl := c.cfg.TTL
	if negative && c.cfg.NegativeTTL > 0 {
		ttl = min(ttl, c.cfg.NegativeTTL)
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	c.remove(key)
	if negative && c.cfg.MaxNegative > 0 && c.neg >= c.cfg.MaxNegative {
		c.dropExpired(start)
		if c.neg >= c.cfg.MaxNegative {
			return
		}
	}
	if c.cfg.MaxEntries > 0 && len(c.m) >= c.cfg.MaxEntries {
		c.dropExpired(start)
		if len(c.m) >= c.cfg.MaxEntries {
			c.dropSome(len(c.m) - c.cfg.MaxEntries + max(1, c.cfg.MaxEntries/8))
		}
	}
	c.m[key] = entry[V]{v: v, expires: start.Add(ttl), negative: negative}
	if negative {
		c.neg++
	}
}

// remove deletes key's entry; c.mu is held.
func (c *Cache[K, V]) remove(key K) {
	if e, ok := c.m[key]; ok {
		delete(c.m, key)
		if e.negative {
			c.neg--
		}
	}
}

// dropSome deletes n entries, in map order, which the runtime randomises;
// c.mu is held.
func (c *Cache[K, V]) dropSome(n int) {
	for k := range c.m {
		if n <= 0 {
			return
		}
		c.remove(k)
		n--
	}
}

// dropExpired deletes the entries expired at now; c.mu is held.
func (c *Cache[K, V]) dropExpired(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			c.remove(k)
		}
	}
}
