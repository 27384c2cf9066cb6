package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/internal/logbuf"
)

// TestRequestLogLevels: each request is logged at debug only; at info the
// log has one summary line per interval with the counts by status class.
func TestRequestLogLevels(t *testing.T) {
	info := &logbuf.Buffer{}
	e := newEnvMounted(t, func(cfg *httpapi.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(info, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}, nil)
	for _, path := range []string{"/api/v4/version", "/api/v4/version", "/api/v4/nope"} {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("PRIVATE-TOKEN", e.root)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if strings.Contains(info.String(), "msg=request ") {
		t.Fatalf("a request was logged at info:\n%s", info)
	}
	srv, ok := e.srv.Config.Handler.(*httpapi.Server)
	if !ok {
		t.Fatalf("the test server's handler is %T", e.srv.Config.Handler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.LogSummaries(ctx, time.Hour); close(done) }()
	cancel()
	<-done
	out := info.String()
	for _, want := range []string{`msg="requests served"`, "total=3", "2xx=2", "4xx=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %s:\n%s", want, out)
		}
	}
	// The counts start over: a quiet interval logs nothing.
	before := strings.Count(info.String(), "requests served")
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	srv.LogSummaries(ctx, time.Hour)
	if n := strings.Count(info.String(), "requests served"); n != before {
		t.Errorf("a quiet interval logged a summary")
	}
}

// BenchmarkRequestLog measures an authenticated GET /api/v4/user with the
// logger at info (the default: the request is counted for the minute's
// summary) against the logger at debug (a line per request, as every
// request was logged before), both into a text handler that discards.
func BenchmarkRequestLog(b *testing.B) {
	for _, tc := range []struct {
		name  string
		level slog.Level
	}{{"info-summary", slog.LevelInfo}, {"debug-line", slog.LevelDebug}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnvMounted(b, func(cfg *httpapi.Config) {
				cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tc.level}))
			}, nil)
			h := e.srv.Config.Handler
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/v4/user", nil)
				req.Header.Set("PRIVATE-TOKEN", e.root)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
