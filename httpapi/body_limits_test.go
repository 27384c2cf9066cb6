package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/httpapi"
)

// TestBodyLimits checks that each way the API reads a body (parameters,
// one JSON value, a manifest) refuses a body above its limit with 413 and
// one that does not arrive in time with 408, with the same error body.
func TestBodyLimits(t *testing.T) {
	e := newGovernedEnv(t, func(cfg *httpapi.Config) {
		cfg.MaxBodyBytes = 1 << 10
		cfg.BodyReadTimeout = 300 * time.Millisecond
	})
	routes := []struct {
		name, path string
		limit      int
	}{
		{"parameters", "/api/v4/users", 1 << 10},
		{"one JSON value", "/api/botgate/v1/leaks", 1 << 10},
		{"a manifest", "/api/botgate/v1/manifest/plan", 2 << 20},
	}
	for _, r := range routes {
		t.Run(r.name+", too large", func(t *testing.T) {
			res := e.do("POST", r.path, e.root, "application/json", strings.NewReader(`{"a":"`+strings.Repeat("x", r.limit)+`"}`))
			if res.status != http.StatusRequestEntityTooLarge || strings.TrimSpace(string(res.body)) != `{"message":"413 Request Entity Too Large"}` {
				t.Errorf("HTTP %d %s, want 413", res.status, res.body)
			}
		})
		t.Run(r.name+", too slow", func(t *testing.T) {
			status, body := slowBody(t, e, r.path)
			if status != http.StatusRequestTimeout || !strings.Contains(body, "the request body did not arrive in time") {
				t.Errorf("HTTP %d %s, want 408", status, body)
			}
		})
	}
}

// slowBody posts to path a body that announces 100 bytes and sends 10,
// and returns the answer.
func slowBody(t *testing.T, e *env, path string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: botgate.test\r\nPRIVATE-TOKEN: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":\"1234", path, e.root)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
