package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/botgate/botgate/gateway"
)

// BenchmarkShadowDecision measures what shadow mode adds to a decision:
// every request over its automation's limit, let through, marked, counted
// and (coalesced, so not in the timed loop) audited, against an allowed
// decision under a limit out of the way and a no-op handler, in the same
// run.
//
//	go test -run '^$' -bench ShadowDecision -cpu 1 ./gateway/
func BenchmarkShadowDecision(b *testing.B) {
	const open = "loop: {threshold: 1000000000}\nlimits: {default: {rate: 10000000, period: 1m}}\nroutes: [{name: up, gitlab: true}]\n"
	const shadow = "enforcement: shadow\nloop: {threshold: 1000000000}\nlimits: {default: {rate: 1, period: 1h}}\nroutes: [{name: up, gitlab: true}]\n"
	setup := func(b *testing.B, config string) (http.Handler, []*http.Request) {
		e := newBenchEnv(b, config)
		reqs := e.authRequests()
		h := e.gw.ForwardAuth()
		// Twice over every token: the caches warm, each limit spent, and
		// the one audit event of the minute written.
		for _, r := range reqs {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("warm-up: %d %s", w.Code, w.Body)
			}
		}
		return h, reqs
	}
	run := func(b *testing.B, h http.Handler, reqs []*http.Request, wantShadow string) {
		w := runDecisions(b, h, reqs)
		if w.code != 200 || w.h.Get(gateway.HeaderShadow) != wantShadow {
			b.Fatalf("last answer %d, shadow %q; want 200, %q", w.code, w.h.Get(gateway.HeaderShadow), wantShadow)
		}
	}
	openH, openReqs := setup(b, open)
	shadowH, shadowReqs := setup(b, shadow)
	b.Run("baseline=noop", func(b *testing.B) { run(b, noop, openReqs, "") })
	b.Run("decision=allowed", func(b *testing.B) { run(b, openH, openReqs, "") })
	b.Run("decision=shadowed", func(b *testing.B) { run(b, shadowH, shadowReqs, gateway.ShadowRateLimit) })
}
