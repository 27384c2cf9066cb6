package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// serveAsync sends one request to h in the background; the channel gets the
// recorded answer once h returns.
func serveAsync(h http.Handler, method, target string) <-chan *httptest.ResponseRecorder {
	c := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		c <- rec
	}()
	return c
}

func TestStartingAnswersHealthAndHoldsTheRest(t *testing.T) {
	g := NewStarting()
	for _, tt := range []struct {
		method, path string
		status       int
		body         map[string]string
	}{
		{"GET", "/-/health", 200, map[string]string{"status": "ok"}},
		{"HEAD", "/-/liveness", 200, nil},
		{"GET", "/-/liveness", 200, map[string]string{"status": "ok"}},
		{"GET", "/-/readiness", 503, map[string]string{"status": "failed", "message": "botgate is starting"}},
	} {
		rec := <-serveAsync(g, tt.method, tt.path)
		if rec.Code != tt.status {
			t.Errorf("%s %s before the API: %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
		if tt.body != nil {
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got) != len(tt.body) || got["status"] != tt.body["status"] || got["message"] != tt.body["message"] {
				t.Errorf("%s %s before the API: body %q, want %v", tt.method, tt.path, rec.Body, tt.body)
			}
		}
	}

	// Everything else waits, other spellings of the early paths included:
	// only the API decides them.
	held := map[string]<-chan *httptest.ResponseRecorder{}
	for _, target := range []string{"/api/v4/user", "/-/auth", "/-/health/", "//-/health", "/-/Health", "/-/./health", "/%2D/health"} {
		held["GET "+target] = serveAsync(g, "GET", target)
	}
	held["POST /-/health"] = serveAsync(g, "POST", "/-/health")
	time.Sleep(50 * time.Millisecond)
	for name, c := range held {
		select {
		case rec := <-c:
			t.Errorf("%s was answered (%d) before the API was installed", name, rec.Code)
		default:
		}
	}
	g.Install(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	for name, c := range held {
		select {
		case rec := <-c:
			if rec.Code != http.StatusTeapot {
				t.Errorf("%s, once the API is installed: %d, want the API's 418", name, rec.Code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waits after Install", name)
		}
	}
	// From now on the API answers everything, health included.
	if rec := <-serveAsync(g, "GET", "/-/health"); rec.Code != http.StatusTeapot {
		t.Errorf("/-/health after Install: %d, want the API's 418", rec.Code)
	}
}

func TestStartingRefusesWhenTheServerDoesNotStart(t *testing.T) {
	g := NewStarting()
	held := serveAsync(g, "GET", "/api/v4/user")
	time.Sleep(20 * time.Millisecond)
	g.Fail()
	g.Install(http.NotFoundHandler()) // too late: the first of Install and Fail counts
	for _, c := range []<-chan *httptest.ResponseRecorder{held, serveAsync(g, "GET", "/api/v4/projects")} {
		select {
		case rec := <-c:
			var body map[string]string
			if rec.Code != http.StatusServiceUnavailable || json.Unmarshal(rec.Body.Bytes(), &body) != nil ||
				body["message"] != "503 Service Unavailable: botgate did not start" {
				t.Errorf("after Fail: %d %q, want 503 with GitLab's message shape", rec.Code, rec.Body)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a held request still waits after Fail")
		}
	}
}
