package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/internal/testcert"
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

// recipe reads the example file at path (relative to the repository's
// root) and applies the replacements, old then new; a replacement whose
// old text is missing fails the test, so that the file the test runs is
// the example with only its addresses changed.
func recipe(t *testing.T, path string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("%s no longer holds %q: update the test with the example", path, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return s
}

// startDaemon runs a server in the foreground as a child process, killed
// when the test ends: setup writes its files into a fresh directory for a
// fresh loopback address and returns the command. The port is free when
// chosen but may be taken before the server binds it: it tries a few. It
// returns the server's base URL.
func startDaemon(t *testing.T, name string, setup func(dir, listen string) *exec.Cmd) string {
	t.Helper()
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		listen := freeLoopbackAddr(t)
		cmd := setup(dir, listen)
		var out logbuf.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
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
					t.Logf("%s output:\n%s", name, out.String())
					logFiles(t, name, dir)
				}
			})
			return "http://" + listen
		}
		stop()
		errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		lastLog = out.String() + string(errLog)
	}
	t.Fatalf("%s did not start:\n%s", name, lastLog)
	return ""
}

// startNginx runs a real nginx from examples/nginx/botgate.conf, inside
// the harness testdata/nginx-main.conf.tmpl, in front of the upstream and
// asking botgate at botgateAddr.
func startNginx(t *testing.T, botgateAddr, upstreamAddr string) string {
	t.Helper()
	bin := nginxBinary()
	if bin == "" {
		t.Skip("nginx not found: install the Debian package nginx-light (it has the auth_request module); CI installs it")
	}
	main, err := os.ReadFile(filepath.Join("testdata", "nginx-main.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, "nginx", func(dir, listen string) *exec.Cmd {
		conf := recipe(t, "examples/nginx/botgate.conf",
			"listen 80;", "listen "+listen+";",
			"127.0.0.1:8080", botgateAddr,
			"https://gitlab.internal", "http://"+upstreamAddr)
		writeFile(t, filepath.Join(dir, "recipe.conf"), conf)
		confPath := filepath.Join(dir, "nginx.conf")
		writeFile(t, confPath, strings.ReplaceAll(string(main), "{{DIR}}", dir))
		return exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath, "-g", "daemon off;")
	})
}

// startCaddy runs a real Caddy from examples/caddy/Caddyfile in front of
// the upstream, asking botgate at botgateAddr.
func startCaddy(t *testing.T, botgateAddr, upstreamAddr string) string {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy not found: install the Debian package caddy; CI installs it")
	}
	return startDaemon(t, "caddy", func(dir, listen string) *exec.Cmd {
		conf := recipe(t, "examples/caddy/Caddyfile",
			"http://:80", "http://"+listen,
			"127.0.0.1:8080", botgateAddr,
			"https://gitlab.internal", "http://"+upstreamAddr)
		confPath := filepath.Join(dir, "Caddyfile")
		writeFile(t, confPath, conf)
		cmd := exec.Command(bin, "run", "--adapter", "caddyfile", "--config", confPath)
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		return cmd
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
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

func logFiles(t *testing.T, name, dir string) {
	for _, file := range []string{"error.log", "access.log"} {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
			t.Logf("%s %s:\n%s", name, file, b)
		}
	}
}

// recipeConfig is the gateway configuration behind every recipe test: a
// GitLab route and one automation with a small budget.
const recipeConfig = `
trusted_proxies: [127.0.0.1/32]
routes:
  - {name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}
limits:
  automations:
    steady: {rate: 3, period: 1m, burst: 3}
`

// TestNginxRecipe runs a real nginx from examples/nginx/botgate.conf in
// front of a test upstream, asking a real botgate's /-/auth, and checks
// what a client sees on allow, 401, 403, 429 and a loop trip.
func TestNginxRecipe(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: recipeConfig})
	base := startNginx(t, strings.TrimPrefix(f.authSrv.URL, "http://"), strings.TrimPrefix(f.up.URL, "http://"))
	exerciseRecipe(t, f, base, true, http.StatusInternalServerError)
}

// TestCaddyRecipe does the same with a real Caddy from
// examples/caddy/Caddyfile.
func TestCaddyRecipe(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: recipeConfig})
	base := startCaddy(t, strings.TrimPrefix(f.authSrv.URL, "http://"), strings.TrimPrefix(f.up.URL, "http://"))
	exerciseRecipe(t, f, base, true, http.StatusBadGateway)
}

// TestProxyRecipe does the same with botgate's own proxy: the client sees
// the same answers without a proxy in front.
func TestProxyRecipe(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: recipeConfig})
	exerciseRecipe(t, f, f.proxySrv.URL, false, 0)
}

// exerciseRecipe sends a client's requests to base, a proxy in front of
// the fixture's upstream asking the fixture's botgate, and checks status,
// botgate's body and its limit headers on each. With forwardAuth it checks
// that each refusal's body is the one botgate's /-/auth gives, and that
// the proxy fails closed with downStatus once botgate is gone.
func exerciseRecipe(t *testing.T, f *fixture, base string, forwardAuth bool, downStatus int) {
	client := &http.Client{Timeout: 10 * time.Second}
	nginx := base
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
					"Ratelimit-Limit":    "",
				}
				if !forwardAuth {
					delete(checks, "X-Botgate-Scopes") // the proxy tells the upstream who, not which scopes
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
			reason            string // in the body the client gets
		}{
			{"NoToken", "GET", own("issues?deny=1"), nil, http.StatusUnauthorized, "401 Unauthorized"},
			{"UnknownToken", "GET", own("issues?deny=2"), http.Header{"Private-Token": {"glpat-0123456789abcdefghij0123456789ab.01.0a1b2c3d4"}}, http.StatusUnauthorized, "401 Unauthorized"},
			{"GarbageToken", "GET", own("issues?deny=3"), http.Header{"Private-Token": {"not-a-token"}}, http.StatusUnauthorized, "401 Unauthorized"},
			{"TokenInQuery", "GET", own("issues?private_token=" + url.QueryEscape(f.secrets["proj-api"])), nil, http.StatusUnauthorized, "401 Unauthorized - "},
			{"ReadTokenWrites", "POST", own("issues"), token("proj-read"), http.StatusForbidden, "insufficient_scope"},
			{"RepositoryScopeCallsAPI", "GET", own("issues?deny=4"), token("proj-repo"), http.StatusForbidden, "insufficient_scope"},
			{"OtherProject", "GET", fmt.Sprintf("/api/v4/projects/%d/issues", f.other.ID), token("proj-api"), http.StatusForbidden, "not a member of this project"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.up.requests())
				resp, body := send(t, tc.method, tc.uri, tc.header)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
				}
				got := jsonBody(t, body)
				if n := len(f.up.requests()) - before; n != 0 {
					t.Errorf("a refused request reached the upstream (%d requests)", n)
				}
				if !strings.Contains(body, tc.reason) {
					t.Errorf("body %s does not carry botgate's reason %q", body, tc.reason)
				}
				if forwardAuth {
					// The very body botgate's /-/auth gives for this request.
					h := http.Header{"X-Original-Method": {tc.method}, "X-Original-Uri": {tc.uri}}
					for k, vs := range tc.header {
						h[k] = vs
					}
					req, err := http.NewRequest("GET", f.authSrv.URL+"/-/auth", nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header = h
					_, direct := do(t, req)
					if want := jsonBody(t, direct); !reflect.DeepEqual(got, want) {
						t.Errorf("the client got %s, botgate said %s", body, direct)
					}
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
		if want := "exceeded its rate limit of 3 requests per minute"; !strings.Contains(body, want) {
			t.Errorf("the 429's body %s does not say %q", body, want)
		}
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
		var lastBody string
		for i := 1; i <= 51; i++ {
			resp, body := send(t, "GET", uri, token("loop-a"))
			last, lastBody = resp, body
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
		if want := "Loop detected"; !strings.Contains(lastBody, want) {
			t.Errorf("the loop refusal's body %s does not explain it (%q)", lastBody, want)
		}
		if last.Header.Get("RateLimit-Limit") == "" {
			t.Errorf("the loop refusal carries no RateLimit-Limit: %v", last.Header)
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

	if !forwardAuth {
		return
	}
	t.Run("BotgateDown", func(t *testing.T) {
		// The proxy fails closed when it cannot ask botgate, and the
		// upstream is not reached.
		f.authSrv.Close()
		before := len(f.up.requests())
		resp, body := send(t, "GET", own("issues?down=1"), token("proj-api"))
		if resp.StatusCode != downStatus {
			t.Fatalf("status %d with botgate down, want %d; body %s", resp.StatusCode, downStatus, body)
		}
		if n := len(f.up.requests()) - before; n != 0 {
			t.Errorf("%d requests reached the upstream with botgate down", n)
		}
	})
}

// TestNginxLoadBalancerRecipe checks examples/nginx/load-balancer.conf
// with `nginx -t`, a generated certificate in place of the one it names.
func TestNginxLoadBalancerRecipe(t *testing.T) {
	bin := nginxBinary()
	if bin == "" {
		t.Skip("nginx not found: install the Debian package nginx-light; CI installs it")
	}
	dir := t.TempDir()
	cert, key, _ := testcert.Write(t, dir, "botgate")
	writeFile(t, filepath.Join(dir, "recipe.conf"), recipe(t, "examples/nginx/load-balancer.conf",
		"listen 443 ssl;", "listen "+freeLoopbackAddr(t)+" ssl;",
		"/etc/ssl/botgate/fullchain.pem", cert,
		"/etc/ssl/botgate/privkey.pem", key))
	main, err := os.ReadFile(filepath.Join("testdata", "nginx-main.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	writeFile(t, confPath, strings.ReplaceAll(string(main), "{{DIR}}", dir))
	out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Errorf("nginx -t said:\n%s", out)
	}
}
