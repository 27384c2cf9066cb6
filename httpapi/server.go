// Package httpapi turns HTTP into calls on botgate's services and back:
// the GitLab-compatible /api/v4, botgate's own /api/botgate/v1, and the
// health endpoints. Handlers return errors through one adapter, which maps
// botgate error kinds to GitLab's status codes and bodies, logs internal
// causes with a request id, and never shows them.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
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
}

// Server serves botgate's HTTP API.
type Server struct {
	auth    *authority.Service
	store   botgate.Store
	log     *slog.Logger
	version string
	ready   func(ctx context.Context) error
	mux     *http.ServeMux
}

// New returns a Server with every route registered.
func New(cfg Config) *Server {
	s := &Server{
		auth: cfg.Authority, store: cfg.Store, log: cfg.Logger, version: cfg.Version, ready: cfg.Ready,
		mux: http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handle registers an extra handler (the gateway's /-/auth, /metrics) on
// the server's mux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// handlerFunc is a handler that returns an error; the adapter renders it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns a handlerFunc into an http.Handler: it recovers panics,
// renders errors in GitLab's shapes and logs internal causes.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := requestID()
		w.Header().Set("X-Request-Id", reqID)
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

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadiness(w http.ResponseWriter, r *http.Request) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "message": botgate.MessageOf(err)})
		}
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) error {
	return WriteJSON(w, http.StatusOK, map[string]string{"version": s.version, "revision": "botgate"})
}
