package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// nginxBinary finds nginx on PATH or where Debian installs it.
func nginxBinary() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// freeLoopbackAddr returns a loopback address with a port nobody listens
// on at the moment.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx writes the configuration from testdata/nginx.conf.tmpl and
// runs nginx in the foreground as a child process, killed when the test
// ends. It returns nginx's base URL.
func startNginx(t *testing.T, botgateAddr, upstreamAddr string) string {
	t.Helper()
	bin := nginxBinary()
	if bin == "" {
		t.Skip("nginx not found: install the Debian package nginx-light (it has the auth_request module); CI installs it")
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "nginx.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	// The port is free when chosen but may be taken before nginx binds
	// it: try a few.
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		listen := freeLoopbackAddr(t)
		conf := strings.NewReplacer("{{DIR}}", dir, "{{LISTEN}}", listen, "{{BOTGATE}}", botgateAddr,
			"{{UPSTREAM}}", upstreamAddr).Replace(string(tmpl))
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath, "-g", "daemon off;")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting nginx: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if waitListening(listen, exited, 10*time.Second) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					logNginx(t, dir)
				}
			})
			return "http://" + listen
		}
		stop()
		errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		lastLog = out.String() + string(errLog)
	}
	t.Fatalf("nginx did not start:\n%s", lastLog)
	return ""
}

// waitListening polls addr until it accepts a connection, nginx exits or
// the timeout passes.
func waitListening(addr string, exited <-chan error, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func logNginx(t *testing.T, dir string) {
	for _, name := range []string{"error.log", "access.log"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			t.Logf("nginx %s:\n%s", name, b)
		}
	}
}

// TestNginxAuthRequest runs a real nginx (auth_request) in front of a test
// upstream, asking a real botgate's /-/auth, and proves allow, deny and
// limit end to end.
func TestNginxAuthRequest(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
routes:
  - {name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}
limits:
  automations:
    steady: {rate: 3, period: 1m, burst: 3}
`})
	nginx := startNginx(t, strings.TrimPrefix(f.authSrv.URL, "http://"), strings.TrimPrefix(f.up.URL, "http://"))
	client := &http.Client{Timeout: 10 * time.Second}

	send := func(t *testing.T, method, uri string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, nginx+uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s through nginx: %v", method, uri, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	token := func(name string) http.Header { return http.Header{"Private-Token": {f.secrets[name]}} }
	own := func(rest string) string { return fmt.Sprintf("/api/v4/projects/%d/%s", f.proj.ID, rest) }
	usernameOf := func(t *testing.T, name string) string {
		t.Helper()
		var u *botgate.User
		err := f.store.View(context.Background(), func(tx botgate.Tx) error {
			tk, err := tx.Token(context.Background(), f.ids[name])
			if err != nil {
				return err
			}
			u, err = tx.User(context.Background(), tk.UserID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return u.Username
	}
	// reached reports whether the upstream received a request for uri
	// among those after the first `before`.
	reached := func(before int, uri string) (seen, bool) {
		reqs := f.up.requests()
		for _, r := range reqs[before:] {
			if r.URI == uri {
				return r, true
			}
		}
		return seen{}, false
	}

	t.Run("Allow", func(t *testing.T) {
		tests := []struct {
			name, token, method, uri string
			bearer                   bool // send the token as Authorization: Bearer
			header                   http.Header
			scopes                   string
		}{
			{"PrivateTokenRead", "proj-api", "GET", own("issues?state=opened"), false, nil, "api"},
			{"BearerRead", "proj-read", "GET", own("merge_requests?page=2"), true, nil, "read_api"},
			{"Write", "proj-api", "POST", own("notes"), false, nil, "api"},
			// A client cannot speak for botgate: its X-Botgate-User is
			// replaced by the one botgate established.
			{"SpoofedIdentity", "proj-read", "GET", own("issues?spoof=1"), false, http.Header{"X-Botgate-User": {"root"}}, "read_api"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				h := token(tc.token)
				if tc.bearer {
					h = http.Header{"Authorization": {"Bearer " + f.secrets[tc.token]}}
				}
				for k, vs := range tc.header {
					h[k] = vs
				}
				before := len(f.up.requests())
				resp, body := send(t, tc.method, tc.uri, h)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200; body %s", resp.StatusCode, body)
				}
				if !strings.Contains(body, `"ok":true`) {
					t.Errorf("body %q is not the upstream's", body)
				}
				got, ok := reached(before, tc.uri)
				if !ok {
					t.Fatalf("the upstream did not receive %s", tc.uri)
				}
				if got.Method != tc.method {
					t.Errorf("upstream saw %s, want %s", got.Method, tc.method)
				}
				checks := map[string]string{
					"X-Botgate-User":     usernameOf(t, tc.token),
					"X-Botgate-Token-Id": strconv.FormatInt(f.ids[tc.token], 10),
					"X-Botgate-Scopes":   tc.scopes,
					"Private-Token":      "",
					"Authorization":      "",
				}
				for k, want := range checks {
					if v := got.Header.Get(k); v != want {
						t.Errorf("upstream saw %s %q, want %q", k, v, want)
					}
				}
				if got.Header.Get("X-Botgate-Automation") == "" {
					t.Error("upstream saw no X-Botgate-Automation")
				}
				// The default limit, 2000 a minute: botgate's, not the
				// upstream's own RateLimit-Limit (999999), which nginx hides.
				if got := resp.Header.Values("RateLimit-Limit"); len(got) != 1 || got[0] != "2000" || resp.Header.Get("RateLimit-Remaining") == "" {
					t.Errorf("the client got RateLimit-Limit %q, RateLimit-Remaining %q; want botgate's alone",
						got, resp.Header.Get("RateLimit-Remaining"))
				}
			})
		}
	})

	t.Run("Deny", func(t *testing.T) {
		tests := []struct {
			name, method, uri string
			header            http.Header
			want              int
		}{
			{"NoToken", "GET", own("issues?deny=1"), nil, http.StatusUnauthorized},
			{"UnknownToken", "GET", own("issues?deny=2"), http.Header{"Private-Token": {"glpat-0123456789abcdefghij0123456789ab.01.0a1b2c3d4"}}, http.StatusUnauthorized},
			{"GarbageToken", "GET", own("issues?deny=3"), http.Header{"Private-Token": {"not-a-token"}}, http.StatusUnauthorized},
			{"TokenInQuery", "GET", own("issues?private_token=" + url.QueryEscape(f.secrets["proj-api"])), nil, http.StatusUnauthorized},
			{"ReadTokenWrites", "POST", own("issues"), token("proj-read"), http.StatusForbidden},
			{"RepositoryScopeCallsAPI", "GET", own("issues?deny=4"), token("proj-repo"), http.StatusForbidden},
			{"OtherProject", "GET", fmt.Sprintf("/api/v4/projects/%d/issues", f.other.ID), token("proj-api"), http.StatusForbidden},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.up.requests())
				resp, body := send(t, tc.method, tc.uri, tc.header)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
				}
				jsonBody(t, body)
				if n := len(f.up.requests()) - before; n != 0 {
					t.Errorf("a refused request reached the upstream (%d requests)", n)
				}
			})
		}
	})

	t.Run("Limit", func(t *testing.T) {
		// loop-b's automation "steady" may send 3 requests a minute (a
		// burst of 3); the gateway's clock stands still, so nothing is
		// refilled.
		before := len(f.up.requests())
		for i := 1; i <= 3; i++ {
			resp, body := send(t, "GET", own(fmt.Sprintf("pipelines?page=%d", i)), token("loop-b"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d within the burst: status %d; body %s", i, resp.StatusCode, body)
			}
			if got, want := resp.Header.Get("RateLimit-Remaining"), strconv.Itoa(3-i); got != want {
				t.Errorf("request %d: RateLimit-Remaining %q, want %q", i, got, want)
			}
		}
		resp, body := send(t, "GET", own("pipelines?page=4"), token("loop-b"))
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("request after the burst: status %d, want 429; body %s", resp.StatusCode, body)
		}
		jsonBody(t, body)
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
		}
		if resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Limit") == "" {
			t.Errorf("rate-limit headers on the 429: %v", resp.Header)
		}
		if n := len(f.up.requests()) - before; n != 3 {
			t.Errorf("the upstream received %d requests, want the 3 within the burst", n)
		}
		// Other tokens are not affected.
		if resp, body := send(t, "GET", own("pipelines?page=4"), token("proj-api")); resp.StatusCode != http.StatusOK {
			t.Errorf("another token after loop-b's limit: status %d; body %s", resp.StatusCode, body)
		}
	})

	t.Run("LoopBreaker", func(t *testing.T) {
		// More than 50 identical requests from one token within a minute
		// is a runaway loop: the 51st is refused with 429, once audited.
		uri := own("jobs?scope=running")
		var last *http.Response
		for i := 1; i <= 51; i++ {
			resp, body := send(t, "GET", uri, token("loop-a"))
			last = resp
			if i <= 50 && resp.StatusCode != http.StatusOK {
				t.Fatalf("identical request %d: status %d, want 200; body %s", i, resp.StatusCode, body)
			}
		}
		if last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("identical request 51: status %d, want 429", last.StatusCode)
		}
		if last.Header.Get("Retry-After") == "" {
			t.Error("the loop refusal carries no Retry-After")
		}
		if resp, body := send(t, "GET", own("jobs?scope=finished"), token("loop-a")); resp.StatusCode != http.StatusOK {
			t.Errorf("the looping token's other request: status %d, want 200; body %s", resp.StatusCode, body)
		}
		if resp, body := send(t, "GET", uri, token("proj-api")); resp.StatusCode != http.StatusOK {
			t.Errorf("another token's identical request: status %d, want 200; body %s", resp.StatusCode, body)
		}
		if evs := f.audit(authority.ActionGatewayLoopTripped); len(evs) != 1 {
			t.Errorf("%d gateway.loop_tripped audit events, want 1", len(evs))
		}
	})

	t.Run("BotgateDown", func(t *testing.T) {
		// nginx fails closed when it cannot ask botgate: a 500, and the
		// upstream is not reached.
		f.authSrv.Close()
		before := len(f.up.requests())
		resp, body := send(t, "GET", own("issues?down=1"), token("proj-api"))
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d with botgate down, want 500; body %s", resp.StatusCode, body)
		}
		if n := len(f.up.requests()) - before; n != 0 {
			t.Errorf("%d requests reached the upstream with botgate down", n)
		}
	})
}
