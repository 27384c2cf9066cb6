package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/redis"
)

// validateScale checks the store and scale-out settings before anything
// is created.
func validateScale(cfg Config) error {
	if _, err := storeKind(cfg.Store); err != nil {
		return err
	}
	if _, err := redis.ParseFailMode(cfg.Scale.RedisFail); err != nil {
		return fmt.Errorf("%s", botgate.MessageOf(err))
	}
	return nil
}

// scaleOut is what a node shares with the others: a Redis limiter and
// breaker, and the invalidation fan-out (Redis pub/sub and PostgreSQL
// LISTEN/NOTIFY). On one node with SQLite it holds nothing and every method
// is a no-op.
type scaleOut struct {
	log      *slog.Logger
	clock    botgate.Clock
	redis    *redis.Client
	notifier *postgres.Notifier
	// limiter is the shared limiter; nil leaves the gateway its own.
	limiter botgate.Limiter
	// listen is false for commands that only publish (storeOnly).
	listen bool

	mu      sync.Mutex
	purgers []func()
	// jobs is the background work run starts: the local limiter's and
	// breaker's sweeps, the subscriptions.
	jobs []func(ctx context.Context)

	ctx    context.Context // background work; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newScaleOut connects to what cfg.Scale names. st is the node's store;
// storeOnly opens the store alone, for commands (init, plan, apply): no
// Redis, no subscription; changes are still NOTIFYed to the servers when
// the store is PostgreSQL. Nothing runs in the background before run.
//
// With PostgreSQL, every node both LISTENs and NOTIFYs, with or without
// Redis: so a change made by a command that opens the store alone
// (storeOnly: init, plan, apply) still reaches every server, and a change
// made by a server reaches the others even while Redis pub/sub is down.
// With Redis, changes are also published there, the faster path.
func newScaleOut(ctx context.Context, cfg ScaleConfig, storeOnly bool, st botgate.Store, clock botgate.Clock, log *slog.Logger) (*scaleOut, error) {
	s := &scaleOut{log: log, clock: clock, listen: !storeOnly}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if pg, ok := st.(*postgres.Store); ok {
		n, err := pg.Notifier(nil, log.With("component", "notify"))
		if err != nil {
			s.cancel()
			return nil, err
		}
		s.notifier = n
	}
	if storeOnly || cfg.Redis == "" {
		if s.notifier != nil && !storeOnly {
			log.Warn("scale-out: revocations shared through PostgreSQL LISTEN/NOTIFY; without --redis, rate limits and the loop breaker hold per node")
		}
		return s, nil
	}
	mode, err := redis.ParseFailMode(cfg.RedisFail)
	if err != nil {
		s.cancel()
		return nil, err
	}
	c, err := redis.Open(ctx, redis.Options{URL: cfg.Redis, Prefix: cfg.RedisPrefix, FailMode: mode, Clock: clock,
		Logger: log.With("component", "redis")})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("--redis: %w", err)
	}
	local := ratelimit.NewMemory(clock)
	s.jobs = append(s.jobs, func(ctx context.Context) { _ = local.Run(ctx, time.Minute) })
	s.redis, s.limiter = c, c.Limiter(local)
	log.Info("scale-out: rate limits, loop breaker and revocations shared through Redis",
		"redis_fail", mode.String(), "store_shared", s.notifier != nil)
	return s, nil
}

// run starts the background work until ctx is done or Close is called.
func (s *scaleOut) run(ctx context.Context) {
	jctx, stop := context.WithCancel(s.ctx)
	context.AfterFunc(ctx, stop)
	for _, job := range s.jobs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			job(jctx)
		}()
	}
}

// onChange is authority.Config.OnChange: it tells the other nodes, through
// Redis and PostgreSQL both when the node has both.
func (s *scaleOut) onChange(tokenIDs []int64) {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	if s.redis != nil {
		s.redis.Publish(ctx, tokenIDs)
	}
	if s.notifier != nil {
		s.notifier.Publish(ctx, tokenIDs)
	}
}

// onPurge adds fn to what an invalidation from another node purges (the
// gateway's membership cache, say).
func (s *scaleOut) onPurge(fn func()) {
	s.mu.Lock()
	s.purgers = append(s.purgers, fn)
	s.mu.Unlock()
}

// runPurgers empties the caches registered with onPurge. It is also the
// authority's OnPurge: the store's revision changed under this node.
func (s *scaleOut) runPurgers() {
	s.mu.Lock()
	fns := append([]func(){}, s.purgers...)
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// subscribe has run listen for the other nodes' invalidations, purging
// auth's cache.
func (s *scaleOut) subscribe(auth *authority.Service) {
	purge := func([]int64) {
		auth.Purge()
		s.runPurgers()
	}
	if s.redis != nil {
		s.jobs = append(s.jobs, func(ctx context.Context) { _ = s.redis.Subscribe(ctx, purge, nil) })
	}
	if s.notifier != nil && s.listen {
		s.jobs = append(s.jobs, func(ctx context.Context) { _ = s.notifier.Subscribe(ctx, purge, nil) })
	}
}

// breaker returns the shared loop breaker configured as cfg's loop
// section, or nil (the gateway's own) without Redis.
func (s *scaleOut) breaker(cfg *gateway.FileConfig) (gateway.LoopBreaker, error) {
	if s.redis == nil {
		return nil, nil
	}
	var bc ratelimit.BreakerConfig
	if cfg != nil {
		bc = ratelimit.BreakerConfig{Threshold: cfg.Loop.Threshold, Window: cfg.Loop.Window,
			Cooldown: cfg.Loop.Cooldown, MaxShapes: cfg.Loop.MaxShapes}
	}
	local, err := ratelimit.NewBreaker(s.clock, bc)
	if err != nil {
		return nil, err
	}
	s.jobs = append(s.jobs, func(ctx context.Context) { _ = local.Run(ctx, time.Minute) })
	return s.redis.Breaker(bc, local)
}

// register adds the Redis metrics to reg.
func (s *scaleOut) register(reg prometheus.Registerer) error {
	if s.redis == nil || reg == nil {
		return nil
	}
	for _, c := range s.redis.Collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// ready is the node's readiness as far as Redis goes (see redis.Client.Ready).
func (s *scaleOut) ready(ctx context.Context) error {
	if s.redis == nil {
		return nil
	}
	return s.redis.Ready(ctx)
}

// readiness wraps the API so that /-/readiness says, in the
// Botgate-Redis header, whether limits are shared (ok) or per node
// (degraded; fail open) while Redis is unreachable.
func (s *scaleOut) readiness(next http.Handler) http.Handler {
	if s.redis == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/readiness" {
			// Ready (called by the handler) pings first; look afterwards.
			rw := &headerOnWrite{ResponseWriter: w, set: func(h http.Header) {
				state := "ok"
				if s.redis.Degraded() {
					state = "degraded; fail " + s.redis.FailMode().String()
				}
				h.Set("Botgate-Redis", state)
			}}
			next.ServeHTTP(rw, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headerOnWrite calls set just before the headers are written.
type headerOnWrite struct {
	http.ResponseWriter
	set  func(http.Header)
	done bool
}

func (h *headerOnWrite) WriteHeader(code int) {
	if !h.done {
		h.done = true
		h.set(h.Header())
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerOnWrite) Write(b []byte) (int, error) {
	if !h.done {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

// Close stops the background work and the Redis connections.
func (s *scaleOut) Close() error {
	s.cancel()
	s.wg.Wait()
	if s.redis != nil {
		return s.redis.Close()
	}
	return nil
}
