package httpapi

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Starting is the API listener's handler while a server starts: the
// listener is bound and served at once, so that a supervisor sees the
// process alive (/-/health, /-/liveness: 200) while the store, the
// authority and the rest are still being built, and sees it not ready
// (/-/readiness: 503, "botgate is starting") until they are. Every other
// request waits for the API (Install) and is then served by it, or, if
// the server does not start (Fail), is refused with 503: nothing is
// decided before the API that decides it exists.
//
// Only the exact paths above, with GET or HEAD and no escaped byte, are
// answered early; any other spelling of them waits for the API like every
// other request.
type Starting struct {
	h    atomic.Pointer[http.Handler]
	done chan struct{}
	once sync.Once
}

// NewStarting returns a Starting handler with no API installed yet.
func NewStarting() *Starting {
	return &Starting{done: make(chan struct{})}
}

// Install makes h the handler of every request from now on, those waiting
// included. Only the first Install or Fail counts.
func (g *Starting) Install(h http.Handler) {
	g.once.Do(func() {
		g.h.Store(&h)
		close(g.done)
	})
}

// Fail refuses the waiting requests, and every later one, with 503: the
// server did not start, or is closing before it served.
func (g *Starting) Fail() {
	g.once.Do(func() { close(g.done) })
}

func (g *Starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.RawPath == "" {
		switch r.URL.Path {
		case "/-/health", "/-/liveness":
			writeHealth(w)
			return
		case "/-/readiness":
			writeNotReady(w, "botgate is starting")
			return
		}
	}
	select {
	case <-g.done:
	case <-r.Context().Done():
		return
	}
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	WriteErrorBody(w, http.StatusServiceUnavailable, map[string]string{"message": "503 Service Unavailable: botgate did not start"})
}

// writeHealth is the answer of /-/health and /-/liveness: the process
// serves.
func writeHealth(w http.ResponseWriter) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// writeNotReady is /-/readiness's refusal, with its reason.
func writeNotReady(w http.ResponseWriter, message string) {
	WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "message": message})
}
