package ratelimit

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
)

// The loop breaker's defaults. See the package documentation for why.
const (
	DefaultLoopThreshold = 50
	DefaultLoopWindow    = time.Minute
	DefaultLoopCooldown  = 5 * time.Minute
	DefaultLoopMaxShapes = 256
	DefaultLoopBuckets   = 6
)

// maxBuckets bounds BreakerConfig.Buckets; the counters live in a fixed
// array so that a shape's record has no pointer and a fixed size.
const maxBuckets = 12

// BreakerConfig configures a Breaker. A zero field takes its default.
type BreakerConfig struct {
	// Threshold is N: more than N identical requests from one token within
	// Window trip the breaker. Default DefaultLoopThreshold.
	Threshold int
	// Window is W. Default DefaultLoopWindow.
	Window time.Duration
	// Cooldown is how long a tripped shape stays blocked for its token.
	// Default DefaultLoopCooldown.
	Cooldown time.Duration
	// MaxShapes caps the request shapes tracked per token; beyond it the
	// least recently seen shape that is not blocked is forgotten. Default
	// DefaultLoopMaxShapes.
	MaxShapes int
	// Buckets is the number of sub-windows W is counted in, from 1 to 12:
	// the window slides in steps of Window/Buckets. Default
	// DefaultLoopBuckets.
	Buckets int
}

// withDefaults returns c with zero fields set to their defaults, or a
// KindInvalid error if a field is out of range.
func (c BreakerConfig) withDefaults() (BreakerConfig, error) {
	const op = "ratelimit.NewBreaker"
	if c.Threshold == 0 {
		c.Threshold = DefaultLoopThreshold
	}
	if c.Window == 0 {
		c.Window = DefaultLoopWindow
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultLoopCooldown
	}
	if c.MaxShapes == 0 {
		c.MaxShapes = DefaultLoopMaxShapes
	}
	if c.Buckets == 0 {
		c.Buckets = DefaultLoopBuckets
	}
	switch {
	case c.Threshold < 1:
		return c, withOp(op, botgate.Invalid("threshold", "loop threshold must be positive, got %d", c.Threshold))
	case c.Window < 0:
		return c, withOp(op, botgate.Invalid("window", "loop window must be positive, got %s", c.Window))
	case c.Cooldown < 0:
		return c, withOp(op, botgate.Invalid("cooldown", "loop cool-down must be positive, got %s", c.Cooldown))
	case c.MaxShapes < 1:
		return c, withOp(op, botgate.Invalid("max_shapes", "shapes per token must be positive, got %d", c.MaxShapes))
	case c.Buckets < 1 || c.Buckets > maxBuckets:
		return c, withOp(op, botgate.Invalid("buckets", "buckets must be between 1 and %d, got %d", maxBuckets, c.Buckets))
	case c.Window < time.Duration(c.Buckets):
		return c, withOp(op, botgate.Invalid("window", "loop window %s is too short for %d buckets", c.Window, c.Buckets))
	}
	return c, nil
}

// Outcome is what the breaker says about one request.
type Outcome uint8

// The outcomes.
const (
	// Allowed: the request is not part of a runaway loop.
	Allowed Outcome = iota
	// Tripped: this request is the one that made its shape exceed the
	// threshold. Exactly one request per trip gets it: record one audit
	// event (and suspend the token, if so configured) on it, and deny it.
	Tripped
	// Blocked: the shape tripped less than a cool-down ago; deny the
	// request without another audit event.
	Blocked
)

var outcomeNames = [...]string{Allowed: "allowed", Tripped: "tripped", Blocked: "blocked"}

// String returns "allowed", "tripped" or "blocked".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Verdict is the breaker's answer for one request.
type Verdict struct {
	Outcome Outcome
	// Count is the number of requests of this shape from this token within
	// the window, this one included.
	Count int
	// Threshold and Window are the breaker's N and W, for messages.
	Threshold int
	Window    time.Duration
	// RetryAfter is the cool-down left when Tripped or Blocked, else 0.
	RetryAfter time.Duration
}

// Denied reports whether the request must be refused (Tripped or Blocked).
func (v Verdict) Denied() bool { return v.Outcome != Allowed }

// Err returns nil if v allows the request, else the error to refuse it with:
// KindRateLimited, ReasonLoopDetected, and a message for the caller that
// says a loop was detected, by what measure, and for how long the request
// is refused. The HTTP edge renders it as a 429.
func (v Verdict) Err() error {
	if v.Outcome == Allowed {
		return nil
	}
	return &botgate.Error{
		Op:     "ratelimit.Breaker.Observe",
		Kind:   botgate.KindRateLimited,
		Reason: botgate.ReasonLoopDetected,
		Message: fmt.Sprintf("Loop detected: this token sent the same request (method, path, query and body) "+
			"more than %d times within %s. This request is refused for %s; other requests of this token are not affected.",
			v.Threshold, humanDuration(v.Window), humanDuration(v.RetryAfter)),
	}
}

// humanDuration writes d for people: "5 minutes", "90 seconds", "1.5s".
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	case d >= time.Second && d%time.Second == 0:
		return plural(int64(d/time.Second), "second")
	case d >= time.Second:
		return d.Round(time.Second / 10).String()
	}
	return d.String()
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// BreakerStats are a Breaker's counters since it was made; the gateway
// exports them as metrics.
type BreakerStats struct {
	Trips   uint64 // requests that got Tripped
	Blocked uint64 // requests that got Blocked
}

// Breaker is the loop breaker: it counts identical requests ("shapes", see
// Shape) per token and trips when one token sends more than Threshold of
// one shape within Window. A tripped shape is blocked for that token for
// Cooldown; its other shapes and every other token are unaffected.
//
// Counting uses Buckets sub-windows of Window/Buckets each: a request
// counts the requests of its shape in its own sub-window and the
// Buckets−1 before it, so the window slides in steps of Window/Buckets and
// the requests counted span between Window − Window/Buckets and Window.
//
// Memory is bounded: at most MaxShapes shapes per token (least recently
// seen first out, blocked shapes last), and a token is forgotten once it has
// been quiet for Window and has no blocked shape, which loses nothing since
// none of its requests would still count. Tokens are swept as the shard
// they live in grows, and by Sweep or the janitor Run.
//
// Breaker is safe for concurrent use.
type Breaker struct {
	clock   botgate.Clock
	base    time.Time // times are nanoseconds since base: Sub saturates, UnixNano overflows
	cfg     BreakerConfig
	width   int64 // nanoseconds per bucket
	seed    maphash.Seed
	trips   atomic.Uint64
	blocked atomic.Uint64
	shards  [breakerShards]breakerShard
}

const breakerShards = 64

type breakerShard struct {
	mu      sync.Mutex
	tokens  map[string]*tokenShapes
	sweepAt int
	_       [40]byte
}

// tokenShapes is one token's tracked shapes: their records in a slice,
// found by scanning it or, past linearShapes, through an index by shape
// key, and kept in least-recently-seen order by a doubly linked list of
// positions in the slice. Neither the index nor the records hold a
// pointer, so the garbage collector does not scan them however many shapes
// are tracked, and once a token tracks MaxShapes a new shape reuses the
// record of the one it evicts.
type tokenShapes struct {
	// index maps shape keys to positions in shapes once the token tracks
	// more than linearShapes shapes; below that shapes is searched, so
	// that the common token with one or a few shapes pays for no map.
	index      map[uint64]int
	shapes     []shapeCount
	head, tail int   // most and least recently seen; -1 when empty
	idleAt     int64 // after this nothing of the token counts
}

// shapeCount counts one shape's requests in a ring of buckets.
type shapeCount struct {
	key          uint64 // the shape's key in tokenShapes.index
	prev, next   int    // neighbours in the LRU list; -1 for none
	last         int64  // bucket number of the latest request
	blockedUntil int64  // math.MinInt64 if never tripped
	counts       [maxBuckets]uint32
	seen         bool // whether last is set
}

// NewBreaker returns a loop breaker that reads the time from clock. It
// returns a KindInvalid error if a field of cfg is out of range.
func NewBreaker(clock botgate.Clock, cfg BreakerConfig) (*Breaker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Breaker{
		clock: clock,
		base:  clock.Now(),
		cfg:   cfg,
		width: int64(cfg.Window) / int64(cfg.Buckets),
		seed:  maphash.MakeSeed(),
	}
	for i := range b.shards {
		b.shards[i].tokens = make(map[string]*tokenShapes)
		b.shards[i].sweepAt = minSweep
	}
	return b, nil
}

// Config returns the breaker's configuration, defaults filled in.
func (b *Breaker) Config() BreakerConfig { return b.cfg }

// Observe counts one request of shape from the token tokenKey and says
// whether it is part of a runaway loop. shape is the caller's digest of the
// request (see Shape); tokenKey identifies the token (its ID, never its
// secret). The breaker tells a token's shapes apart by a 64-bit hash of
// shape under a seed of its own: two different shapes of one token share
// a count with a probability of about 2⁻⁶⁴, and only ever count that
// token's own requests together, as a collision of Shape's digest would.
//
// The in-memory Breaker never fails and ignores ctx; the error is there so
// that a shared (Redis) breaker can satisfy the same contract, returning
// KindInternal when its backend fails.
func (b *Breaker) Observe(_ context.Context, tokenKey, shape string) (Verdict, error) {
	now := b.now()
	s := &b.shards[maphash.String(b.seed, tokenKey)%breakerShards]
	s.mu.Lock()
	t := s.tokens[tokenKey]
	if t == nil {
		if len(s.tokens)+1 >= s.sweepAt {
			s.sweep(now)
		}
		t = &tokenShapes{head: -1, tail: -1, idleAt: math.MinInt64}
		s.tokens[tokenKey] = t
	}
	key := maphash.String(b.seed, shape)
	i, ok := t.find(key)
	if ok {
		t.unlink(i)
	} else {
		i = t.track(key, now, b.cfg.MaxShapes)
	}
	t.pushFront(i)
	c := &t.shapes[i]

	v := Verdict{Count: c.add(floorDiv(now, b.width), b.cfg.Buckets), Threshold: b.cfg.Threshold, Window: b.cfg.Window}
	switch {
	case now < c.blockedUntil:
		v.Outcome = Blocked
		v.RetryAfter = time.Duration(c.blockedUntil - now)
	case v.Count > b.cfg.Threshold:
		v.Outcome = Tripped
		v.RetryAfter = b.cfg.Cooldown
		c.blockedUntil = now + int64(b.cfg.Cooldown)
	}
	t.idleAt = max(t.idleAt, now+int64(b.cfg.Window), c.blockedUntil)
	s.mu.Unlock()

	switch v.Outcome {
	case Tripped:
		b.trips.Add(1)
	case Blocked:
		b.blocked.Add(1)
	}
	return v, nil
}

// Stats returns the breaker's counters.
func (b *Breaker) Stats() BreakerStats {
	return BreakerStats{Trips: b.trips.Load(), Blocked: b.blocked.Load()}
}

// Len returns the number of tokens tracked, live or not yet swept.
func (b *Breaker) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.tokens)
		s.mu.Unlock()
	}
	return n
}

// Sweep forgets every token that has been quiet for a window and has no
// blocked shape. It returns the number of tokens forgotten.
func (b *Breaker) Sweep() int {
	now := b.now()
	removed := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		removed += s.sweep(now)
		s.mu.Unlock()
	}
	return removed
}

// Run sweeps every interval until ctx is done. It returns ctx.Err().
func (b *Breaker) Run(ctx context.Context, interval time.Duration) error {
	return sweepEvery(ctx, interval, b.Sweep)
}

// sweep deletes the shard's idle tokens and sets the next sweep threshold.
// The caller holds s.mu.
func (s *breakerShard) sweep(now int64) int {
	before := len(s.tokens)
	for k, t := range s.tokens {
		if now >= t.idleAt {
			delete(s.tokens, k)
		}
	}
	live := len(s.tokens)
	if before >= 4*minSweep && live < before/4 {
		fresh := make(map[string]*tokenShapes, live)
		for k, t := range s.tokens {
			fresh[k] = t
		}
		s.tokens = fresh
	}
	s.sweepAt = max(2*live, minSweep)
	return before - live
}

// add counts one request in bucket number bucket and returns the count over
// the last n buckets, this one included.
func (c *shapeCount) add(bucket int64, n int) int {
	switch gap := bucket - c.last; {
	case !c.seen:
		c.seen = true
	case gap >= int64(n):
		clear(c.counts[:n])
	case gap > 0:
		for i := c.last + 1; i <= bucket; i++ {
			c.counts[mod(i, n)] = 0
		}
	case gap < 0:
		bucket = c.last // the clock went back: count in the latest bucket
	}
	c.last = bucket
	c.counts[mod(bucket, n)]++
	sum := 0
	for _, v := range c.counts[:n] {
		sum += int(v)
	}
	return sum
}

// now returns the time in nanoseconds since b.base.
func (b *Breaker) now() int64 { return int64(b.clock.Now().Sub(b.base)) }

// floorDiv returns ⌊a/b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// mod returns a mod n in [0, n).
func mod(a int64, n int) int {
	m := int(a % int64(n))
	if m < 0 {
		m += n
	}
	return m
}

// track starts tracking the shape with the key and returns the position
// of its record: a new one while fewer than max shapes are tracked, else
// that of the shape evict forgets.
func (t *tokenShapes) track(key uint64, now int64, max int) int {
	var i int
	if len(t.shapes) >= max {
		i = t.evict(now)
	} else {
		t.shapes = append(t.shapes, shapeCount{})
		i = len(t.shapes) - 1
	}
	t.shapes[i] = shapeCount{key: key, prev: -1, next: -1, blockedUntil: math.MinInt64}
	switch {
	case t.index != nil:
		t.index[key] = i
	case len(t.shapes) > linearShapes:
		t.index = make(map[uint64]int, len(t.shapes))
		for j := range t.shapes {
			t.index[t.shapes[j].key] = j
		}
	}
	return i
}

// linearShapes is how many shapes a token tracks before they are indexed.
const linearShapes = 8

// find returns the position of the shape with the key, if it is tracked.
func (t *tokenShapes) find(key uint64) (int, bool) {
	if t.index != nil {
		i, ok := t.index[key]
		return i, ok
	}
	for i := range t.shapes {
		if t.shapes[i].key == key {
			return i, true
		}
	}
	return 0, false
}

// evict forgets the least recently seen shape that is not blocked at now,
// or the least recently seen shape if all are blocked, and returns the
// position of its record. The token tracks at least one shape.
func (t *tokenShapes) evict(now int64) int {
	victim := t.tail
	for i := t.tail; i >= 0; i = t.shapes[i].prev {
		if now >= t.shapes[i].blockedUntil {
			victim = i
			break
		}
	}
	t.unlink(victim)
	if t.index != nil {
		delete(t.index, t.shapes[victim].key)
	}
	return victim
}

func (t *tokenShapes) pushFront(i int) {
	c := &t.shapes[i]
	c.prev, c.next = -1, t.head
	if t.head >= 0 {
		t.shapes[t.head].prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
}

func (t *tokenShapes) unlink(i int) {
	c := &t.shapes[i]
	if c.prev >= 0 {
		t.shapes[c.prev].next = c.next
	} else {
		t.head = c.next
	}
	if c.next >= 0 {
		t.shapes[c.next].prev = c.prev
	} else {
		t.tail = c.prev
	}
	c.prev, c.next = -1, -1
}

// Shape returns a request's shape: a 16-hex-digit FNV-1a 64 digest of its
// method, path, raw query and body, each length-prefixed so that no two
// different requests share an encoding. Two requests with the same shape
// are, for the loop breaker, the same request. The digest is not a secret
// and not collision-resistant against an adversary; a collision can only
// make a caller's own requests count together.
func Shape(method, path, rawQuery string, body []byte) string {
	h := uint64(fnvOffset)
	h = fnvString(fnvLen(h, len(method)), method)
	h = fnvString(fnvLen(h, len(path)), path)
	h = fnvString(fnvLen(h, len(rawQuery)), rawQuery)
	h = fnvLen(h, len(body))
	for _, c := range body {
		h = (h ^ uint64(c)) * fnvPrime
	}
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h)
	return hex.EncodeToString(sum[:])
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvLen(h uint64, n int) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}
