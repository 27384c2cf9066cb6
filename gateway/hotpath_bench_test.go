package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkLoadResponseHeaders isolates what a forward-auth answer costs
// on the wire, apart from the decision: the same loopback load as
// BenchmarkLoadForwardAuth against a no-op handler (A) and against a
// handler that does no work but copy the eight headers an allowed
// decision sends, X-Botgate-* and RateLimit-* (B), interleaved, with the
// median ratio B/A. What it loses is the share of BenchmarkLoadForwardAuth's
// gap that no decision, however cheap, can win back: net/http writing,
// and the client parsing, eight more headers on every response.
//
//	go test -run '^$' -bench LoadResponseHeaders -benchtime 1x ./gateway/
func BenchmarkLoadResponseHeaders(b *testing.B) {
	e := newBenchEnv(b, "")
	// The headers of a real allowed decision.
	probe := httptest.NewRequest("GET", "/-/auth", nil)
	probe.Header.Set("X-Original-Method", "GET")
	probe.Header.Set("X-Original-URI", e.uri(0))
	probe.Header.Set("PRIVATE-TOKEN", e.secrets[0])
	rec := httptest.NewRecorder()
	e.gw.ForwardAuth().ServeHTTP(rec, probe)
	if rec.Code != http.StatusOK || len(rec.Header()) != 8 {
		b.Fatalf("probe decision: %d with %d headers, want 200 with 8: %v", rec.Code, len(rec.Header()), rec.Header())
	}
	decided := rec.Header().Clone()
	mux := http.NewServeMux()
	mux.Handle("/noop", noop)
	mux.Handle("/headers", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range decided {
			h[k] = v
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := newClient(loadConns)
	var seq atomic.Int64
	mk := func(path string) func(w, i int) *http.Request {
		return func(w, i int) *http.Request {
			n := int(seq.Add(1))
			r, _ := http.NewRequest("GET", srv.URL+path, nil)
			r.Header.Set("X-Original-Method", "GET")
			r.Header.Set("X-Original-URI", e.uri(n/benchTokens))
			r.Header.Set("PRIVATE-TOKEN", e.secrets[n%benchTokens])
			return r
		}
	}
	drive(client, loadConns, loadRound, mk("/headers")) // warm connections
	reportInterleaved(b, "noop", "headers", client, mk("/noop"), mk("/headers"))
}
