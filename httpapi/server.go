// Package httpapi turns HTTP into calls on botgate's services and back:
// the GitLab-compatible /api/v4, botgate's own /api/botgate/v1, and the
// health endpoints. Handlers return errors through one adapter, which maps
// botgate error kinds to GitLab's status codes and bodies, logs internal
// causes with a request id, and never shows them.
//
// Credentials are accepted as GitLab accepts them (PRIVATE-TOKEN,
// Authorization: Bearer, JOB-TOKEN, and the private_token, access_token and
// job_token query parameters); the request log never shows them.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/edge"
)

// Config configures a Server.
type Config struct {
	Authority *authority.Service
	Store     botgate.Store
	Logger    *slog.Logger
	Version   string
	// Ready reports whether the node can serve (store reachable, limiter
	// up); nil means always ready.
	Ready func(ctx context.Context) error
	// Trust lists the reverse proxies whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host headers are believed; the
	// same list the gateway uses. Requests from anywhere else are taken at
	// face value.
	Trust edge.Trust
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// BodyReadTimeout bounds the time a request body may take to arrive
	// (default DefaultBodyReadTimeout); a slower one is answered 408.
	BodyReadTimeout time.Duration
	// Limiter, if set, limits authenticated API requests per user (each
	// bot, service account and person has its own budget) to APILimit,
	// with GitLab's RateLimit-* headers on every answer and 429 beyond.
	Limiter botgate.Limiter
	// APILimit is the per-user limit (default GitLab's authenticated API
	// limit when enabled: 7200 requests per hour, bursts of 600).
	APILimit botgate.Limit
	// Clock tells the time for rate-limit headers (default the system
	// clock).
	Clock botgate.Clock

	// Vault serves /api/botgate/v1/secrets; without one (no master key
	// loaded) those routes answer 404.
	Vault Vault
	// Broker serves /api/botgate/v1/upstream_credentials, resolving groups
	// through Vault; without both those routes answer 404.
	Broker Broker
	// Linter serves GET /api/botgate/v1/lint; without one it answers 404.
	Linter Linter
	// Reissuer serves POST /api/botgate/v1/tokens/reissue; without one it
	// answers 404.
	Reissuer Reissuer
	// Governance serves POST /api/botgate/v1/manifest/{plan,apply,lint,drift};
	// without one they answer 404.
	Governance Governance
	// Leaks is told of tokens POST /api/botgate/v1/leaks revokes (the
	// gateway, with its team webhooks); nil tells no one.
	Leaks LeakNotifier
	// TokenRevocationToken is the pre-shared token GitLab's secret
	// detection sends in the Authorization header of the token revocation
	// API (GET /v1/revocable_token_types, POST /v1/revoke_tokens; GitLab's
	// secret_detection_token_revocation_token). Empty refuses every call.
	TokenRevocationToken string
	// ForwardAuth serves /-/auth and every path below it (the gateway's
	// forward-auth for nginx, Traefik and Envoy); without one they answer
	// 404.
	ForwardAuth http.Handler
	// Metrics serves GET /metrics, to administrators' read tokens only
	// (authority.MayReadMetrics) unless MetricsPublic; without one it
	// answers 404.
	Metrics http.Handler
	// MetricsPublic serves Metrics to anyone who reaches the listener.
	MetricsPublic bool
	// Exchanger serves POST /api/botgate/v1/identity/token (workload
	// identity token exchange); without one it answers 404.
	Exchanger Exchanger
	// Console serves the web console at / and below /-/console/; without
	// one they answer 404.
	Console Console
}

// Console is the web console (package console): it answers each of its
// routes, by name, with the handler routes.go registers.
type Console interface {
	Handler(name string) http.Handler
}

// Server serves botgate's HTTP API.
type Server struct {
	auth    *authority.Service
	store   botgate.Store
	log     *slog.Logger
	version string
	ready   func(ctx context.Context) error
	trust   edge.Trust
	maxBody int64
	bodyTTL time.Duration
	limiter botgate.Limiter
	limit   botgate.Limit
	clock   botgate.Clock
	mux     *routeMux
	handler http.Handler
	// leaks is told of tokens revoked as leaked (see leaks.go).
	leaks LeakNotifier
	// served counts requests by status class (1xx..5xx at 1..5) since
	// the last summary (LogSummaries).
	served  [6]atomic.Int64
	slowest atomic.Int64 // nanoseconds
	// revocationToken is the SHA-256 of Config.TokenRevocationToken, nil
	// when none is set (see token_revocation.go).
	revocationToken []byte
}

// New returns a Server with every route registered.
func New(cfg Config) *Server {
	s := &Server{
		auth: cfg.Authority, store: cfg.Store, log: cfg.Logger, version: cfg.Version, ready: cfg.Ready,
		trust: cfg.Trust, maxBody: cfg.MaxBodyBytes, bodyTTL: cfg.BodyReadTimeout,
		limiter: cfg.Limiter, limit: cfg.APILimit, clock: cfg.Clock, leaks: cfg.Leaks,
		mux: &routeMux{ServeMux: http.NewServeMux()},
	}
	if cfg.TokenRevocationToken != "" {
		sum := sha256.Sum256([]byte(cfg.TokenRevocationToken))
		s.revocationToken = sum[:]
	}
	if s.limit.IsZero() {
		s.limit = botgate.Limit{Rate: 7200, Period: time.Hour, Burst: 600}
	}
	if s.clock == nil {
		s.clock = botgate.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.bodyTTL <= 0 {
		s.bodyTTL = DefaultBodyReadTimeout
	}
	s.routes(cfg)
	s.handler = bodyDeadline(s.logRequests(canonicalPaths(s.mux)), s.bodyTTL)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns the pattern of every handler registered, in order,
// for tests that check each route is covered.
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }

// routeMux is the server's mux; it remembers the patterns registered.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// handlerFunc is a handler that returns an error; the adapter renders it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns a handlerFunc into an http.Handler: it recovers panics,
// renders errors in GitLab's shapes and logs internal causes.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := w.Header().Get("X-Request-Id")
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic in handler", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "panic", p)
				WriteError(w, botgate.E(botgate.KindInternal))
			}
		}()
		if err := h(w, r); err != nil {
			if k := botgate.KindOf(err); k == botgate.KindInternal {
				s.log.Error("request failed", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "err", err)
			}
			WriteError(w, err)
		}
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests assigns a request id and logs every request once it is
// served. The query string is logged with credentials redacted; headers
// and bodies are never logged.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := requestID()
		w.Header().Set("X-Request-Id", reqID)
		rec := &statusRecorder{ResponseWriter: w}
		ip, _ := s.trust.ClientIP(r.RemoteAddr, r.Header)
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		if c := status / 100; c >= 1 && c <= 5 {
			s.served[c].Add(1)
		}
		for {
			old := s.slowest.Load()
			if int64(d) <= old || s.slowest.CompareAndSwap(old, int64(d)) {
				break
			}
		}
		// One line per request at debug; LogSummaries says at info how
		// many were served.
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("request_id", reqID),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("query", edge.RedactQuery(r.URL.RawQuery)),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("ip", ip),
		)
	})
}

// LogSummaries logs, every interval until ctx ends, how many requests
// were served since the last summary by status class and the slowest one,
// at info (each request is logged at debug). A quiet interval logs
// nothing.
func (s *Server) LogSummaries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.logSummary(every)
			return
		case <-t.C:
			s.logSummary(every)
		}
	}
}

func (s *Server) logSummary(every time.Duration) {
	var n [6]int64
	var total int64
	for c := 1; c <= 5; c++ {
		n[c] = s.served[c].Swap(0)
		total += n[c]
	}
	slowest := time.Duration(s.slowest.Swap(0))
	if total == 0 {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "requests served",
		slog.Duration("interval", every), slog.Int64("total", total),
		slog.Int64("2xx", n[2]), slog.Int64("3xx", n[3]), slog.Int64("4xx", n[4]), slog.Int64("5xx", n[5]),
		slog.Duration("slowest", slowest))
}

// canonicalPaths routes every request on its canonical path
// (edge.CanonicalPath), the form the gateway decides on too, and refuses
// one that has none with 400 and the reason.
func canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.EscapedPath()
		if strings.HasPrefix(r.RequestURI, "/") {
			raw, _, _ = strings.Cut(r.RequestURI, "?")
		}
		p, err := edge.CanonicalPath(raw)
		if err != nil {
			WriteError(w, err)
			return
		}
		if p.Canonical != r.URL.EscapedPath() {
			u := *r.URL
			u.RawPath = p.Canonical
			u.Path, _ = url.PathUnescape(p.Canonical)
			r2 := *r
			r2.URL = &u
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeHealth(w)
	return nil
}

func (s *Server) handleReadiness(w http.ResponseWriter, r *http.Request) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeNotReady(w, botgate.MessageOf(err))
			return nil
		}
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) error {
	return WriteJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
}
