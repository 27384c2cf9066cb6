package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/botgate/botgate"
)

// Memory is an in-memory botgate.Limiter for one node: GCRA (see Decide)
// over a sharded map from key to theoretical arrival time.
//
// Memory is bounded by the number of live keys. A key is live while its TAT
// is after now, that is for at most the burst window (Period × Burst / Rate)
// after its last allowed event; a key past its TAT behaves exactly like an
// unknown key, so forgetting it changes no answer. Each shard sweeps its
// dead keys whenever it has doubled in size since its last sweep (amortised
// O(1) per new key), which keeps a shard at most about twice its peak live
// size; Sweep, or the janitor Run, also frees keys when traffic stops, and
// a shard whose map has shrunk to a quarter of its peak is rebuilt so the
// runtime can return the memory.
//
// Memory is safe for concurrent use.
type Memory struct {
	clock  botgate.Clock
	seed   maphash.Seed
	shards [memoryShards]memoryShard
}

// memoryShards is the number of shards: enough that 2 to 64 cores rarely
// contend on one mutex, and that sweeping one shard of a million-key
// limiter walks only about 4,000 entries.
const memoryShards = 256

// minSweep is the shard size below which a shard does not sweep on insert.
const minSweep = 64

type memoryShard struct {
	mu      sync.Mutex
	tats    map[string]int64 // key → TAT, µs since the Unix epoch
	sweepAt int              // sweep when len(tats) reaches this
	peak    int              // largest len(tats) since the map was made
	_       [32]byte         // keep neighbouring shards' mutexes off one cache line
}

var _ botgate.Limiter = (*Memory)(nil)

// NewMemory returns an empty in-memory limiter that reads the time from
// clock.
func NewMemory(clock botgate.Clock) *Memory {
	m := &Memory{clock: clock, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
		m.shards[i].sweepAt = minSweep
	}
	return m
}

// Allow records n events for key if they fit the limit l, and reports the
// decision; n = 0 peeks without recording anything. See Decide for the
// meaning of each field of the result.
//
// Allow returns a KindInvalid error if l is invalid (see ValidateLimit) or
// n is negative. It never fails otherwise, and it ignores ctx.
func (m *Memory) Allow(_ context.Context, key string, l botgate.Limit, n int) (botgate.LimitResult, error) {
	now := m.clock.Now().UnixMicro()
	s := &m.shards[maphash.String(m.seed, key)%memoryShards]
	s.mu.Lock()
	tat, ok := s.tats[key]
	if !ok {
		tat = NoTAT
	}
	d, err := Decide(tat, now, l, n)
	if err != nil {
		s.mu.Unlock()
		return botgate.LimitResult{}, withOp("ratelimit.Memory.Allow", err.(*botgate.Error))
	}
	if d.Store {
		s.tats[key] = d.TAT
		if n := len(s.tats); n >= s.sweepAt {
			s.sweep(now)
		} else if n > s.peak {
			s.peak = n
		}
	}
	s.mu.Unlock()
	return d.Result, nil
}

// Sweep forgets every key whose TAT is not after now. It returns the number
// of keys forgotten.
func (m *Memory) Sweep() int {
	now := m.clock.Now().UnixMicro()
	removed := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		removed += s.sweep(now)
		s.mu.Unlock()
	}
	return removed
}

// Run sweeps every interval until ctx is done; it is the janitor that frees
// the keys of tokens that have gone quiet. It returns ctx.Err().
func (m *Memory) Run(ctx context.Context, interval time.Duration) error {
	return sweepEvery(ctx, interval, m.Sweep)
}

// sweepEvery calls sweep every interval until ctx is done, and returns
// ctx.Err().
func sweepEvery(ctx context.Context, interval time.Duration, sweep func() int) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			sweep()
		}
	}
}

// Len returns the number of keys held, live or not yet swept.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

// sweep deletes the shard's dead keys, rebuilds its map if it has shrunk to
// a quarter of its peak, and sets the next sweep threshold. The caller holds
// s.mu.
func (s *memoryShard) sweep(now int64) int {
	before := len(s.tats)
	s.peak = max(s.peak, before)
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	live := len(s.tats)
	if s.peak >= 4*minSweep && live < s.peak/4 {
		// Go maps never give back their buckets; copy into a right-sized map.
		fresh := make(map[string]int64, live)
		for k, tat := range s.tats {
			fresh[k] = tat
		}
		s.tats = fresh
		s.peak = live
	}
	s.sweepAt = max(2*live, minSweep)
	return before - live
}
