package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/botgate/botgate"
)

// FailMode says what a node does while Redis is unreachable.
type FailMode int

const (
	// FailOpen carries on with the node's own in-memory limiter and
	// breaker: every request is still limited, per node instead of per
	// cluster. The node stays ready.
	FailOpen FailMode = iota
	// FailClosed refuses every decision that needs Redis and fails the
	// node's readiness, so that the load balancer takes it out.
	FailClosed
)

// ParseFailMode parses "open" or "closed".
func ParseFailMode(s string) (FailMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "open":
		return FailOpen, nil
	case "closed":
		return FailClosed, nil
	}
	return FailOpen, botgate.Invalid("redis_fail", "--redis-fail must be open or closed, not %q", s)
}

// String returns "open" or "closed".
func (m FailMode) String() string {
	if m == FailClosed {
		return "closed"
	}
	return "open"
}

// Options configure a Client. URL is required.
type Options struct {
	// URL is redis://[user:password@]host:port/db (or rediss:// for TLS);
	// go-redis's query options such as dial_timeout are honoured.
	URL string
	// Prefix starts every key and channel name (default "botgate:").
	Prefix string
	// FailMode is what the node does while Redis is unreachable (default
	// FailOpen).
	FailMode FailMode
	// Timeout bounds each command's dial, read and write unless the URL
	// sets them (default 500ms): a limiter that waits seconds for Redis is
	// worse than one that falls back.
	Timeout time.Duration
	// ProbeInterval is how often a degraded Client tries Redis again
	// (default 1s).
	ProbeInterval time.Duration
	// Clock is the time decisions are taken at (default the system clock).
	Clock botgate.Clock
	// Logger receives the state changes (default: discard).
	Logger *slog.Logger
	// Rand names this node in its invalidation messages (default
	// crypto/rand).
	Rand io.Reader
}

// Client is a node's connection to the shared Redis, with its health. It
// is safe for concurrent use. Make it with Open; Limiter, Breaker, Publish
// and Subscribe use it.
type Client struct {
	rdb      *goredis.Client
	prefix   string
	failMode FailMode
	probe    time.Duration
	clock    botgate.Clock
	log      *slog.Logger
	node     string // identifies this node's own invalidation messages

	degraded  atomic.Bool
	nextProbe atomic.Int64 // UnixNano after which a degraded client tries Redis
	stateMu   sync.Mutex   // serializes state changes, so each is logged once

	mDegraded  prometheus.Gauge
	mFallback  *prometheus.CounterVec
	mErrors    prometheus.Counter
	mFanout    *prometheus.CounterVec
	collectors []prometheus.Collector
}

// Open parses opts.URL and returns a Client. It pings Redis once: if Redis
// is unreachable the Client starts degraded (and says so in the log)
// rather than failing, so a node can start while Redis is down. It returns
// KindInvalid if the URL cannot be parsed.
func Open(ctx context.Context, opts Options) (*Client, error) {
	const op = "redis.Open"
	ro, err := goredis.ParseURL(opts.URL)
	if err != nil {
		// go-redis's errors can quote the URL, password included.
		return nil, &botgate.Error{Op: op, Kind: botgate.KindInvalid, Field: "redis",
			Message: "the Redis URL cannot be parsed (want redis://host:port/db)"}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	q := urlQuery(opts.URL)
	if !q.Has("dial_timeout") {
		ro.DialTimeout = opts.Timeout
	}
	if !q.Has("read_timeout") {
		ro.ReadTimeout = opts.Timeout
	}
	if !q.Has("write_timeout") {
		ro.WriteTimeout = opts.Timeout
	}
	if !q.Has("max_retries") {
		// A decision is not idempotent: a retried script whose first
		// reply was lost would count the request twice.
		ro.MaxRetries = -1
	}
	c := &Client{
		rdb:      goredis.NewClient(ro),
		prefix:   opts.Prefix,
		failMode: opts.FailMode,
		probe:    opts.ProbeInterval,
		clock:    opts.Clock,
		log:      opts.Logger,
	}
	if c.prefix == "" {
		c.prefix = "botgate:"
	}
	if c.probe <= 0 {
		c.probe = time.Second
	}
	if c.clock == nil {
		c.clock = botgate.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	var id [8]byte
	if _, err := io.ReadFull(opts.Rand, id[:]); err != nil {
		c.rdb.Close()
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	c.node = hex.EncodeToString(id[:])
	c.initMetrics()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.fail(ctx, err)
	}
	return c, nil
}

// urlQuery returns the query parameters of a URL ("" on error).
func urlQuery(raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

func (c *Client) initMetrics() {
	c.mDegraded = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "botgate", Subsystem: "redis", Name: "degraded",
		Help: "1 while Redis is unreachable and this node decides alone (fail open) or refuses (fail closed).",
	})
	c.mFallback = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "botgate", Subsystem: "redis", Name: "fallback_decisions_total",
		Help: "Decisions taken without Redis, by component (limiter, breaker) and mode (open: local, closed: refused).",
	}, []string{"component", "mode"})
	c.mErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "botgate", Subsystem: "redis", Name: "errors_total",
		Help: "Redis commands that failed.",
	})
	c.mFanout = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "botgate", Subsystem: "redis", Name: "invalidations_total",
		Help: "Cache invalidations sent to and received from other nodes.",
	}, []string{"direction"})
	for _, comp := range []string{"limiter", "breaker"} {
		for _, m := range []string{"open", "closed"} {
			c.mFallback.WithLabelValues(comp, m)
		}
	}
	c.mFanout.WithLabelValues("sent")
	c.mFanout.WithLabelValues("received")
	c.collectors = []prometheus.Collector{c.mDegraded, c.mFallback, c.mErrors, c.mFanout}
}

// Collectors returns the Client's Prometheus collectors, to be registered
// with the node's metrics registry.
func (c *Client) Collectors() []prometheus.Collector { return c.collectors }

// FailMode returns the Client's fail mode.
func (c *Client) FailMode() FailMode { return c.failMode }

// Degraded reports whether Redis is currently taken as unreachable.
func (c *Client) Degraded() bool { return c.degraded.Load() }

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }

// Ready pings Redis and reports the node's readiness as far as Redis is
// concerned: nil when Redis answers, or when it does not and the fail mode
// is FailOpen (the node serves with local limits; Degraded says so); a
// KindInternal error when it does not and the fail mode is FailClosed.
func (c *Client) Ready(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.fail(ctx, err)
		if c.failMode == FailClosed {
			return &botgate.Error{Op: "redis.Ready", Kind: botgate.KindInternal,
				Message: "Redis is unreachable and --redis-fail is closed", Err: err}
		}
		return nil
	}
	c.recovered()
	return nil
}

// usable reports whether a command should be sent to Redis: always when
// healthy; when degraded, once per probe interval.
func (c *Client) usable() bool {
	if !c.degraded.Load() {
		return true
	}
	now := c.clock.Now().UnixNano()
	next := c.nextProbe.Load()
	return now >= next && c.nextProbe.CompareAndSwap(next, now+int64(c.probe))
}

// fail records a failed command: the Client becomes degraded (logged once
// per change). A command cut short by the caller's own context does not
// count against Redis.
func (c *Client) fail(ctx context.Context, err error) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	c.mErrors.Inc()
	c.nextProbe.Store(c.clock.Now().UnixNano() + int64(c.probe))
	if c.degraded.Load() {
		return
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if c.degraded.Swap(true) {
		return
	}
	c.mDegraded.Set(1)
	if c.failMode == FailClosed {
		c.log.Error("Redis is unreachable: refusing rate-limited requests until it is back (--redis-fail closed)", "err", err)
	} else {
		c.log.Warn("Redis is unreachable: limits and the loop breaker now hold per node, not per cluster, until it is back (--redis-fail open)", "err", err)
	}
}

// recovered records a successful command: a degraded Client becomes
// healthy (logged once).
func (c *Client) recovered() {
	if !c.degraded.Load() {
		return
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if !c.degraded.Swap(false) {
		return
	}
	c.mDegraded.Set(0)
	c.log.Info("Redis is reachable again: limits and the loop breaker are shared across nodes again")
}

// key returns a prefixed key name.
func (c *Client) key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}
