package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestProxyForwards(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
trusted_proxies: [127.0.0.1]
routes:
  - {name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true, credential: "env:UPSTREAM_TOKEN"}
`})
	uri := fmt.Sprintf("/api/v4/projects/%d/issues?labels=bug&page=2", f.proj.ID)
	cases := []struct {
		name string
		set  func(r *http.Request)
	}{
		{"PrivateToken", func(r *http.Request) { r.Header.Set("PRIVATE-TOKEN", f.secrets["proj-api"]) }},
		{"Bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+f.secrets["proj-api"]) }},
		{"JobToken", func(r *http.Request) { r.Header.Set("JOB-TOKEN", f.secrets["proj-api"]) }},
		{"BasicPassword", func(r *http.Request) { r.SetBasicAuth("oauth2", f.secrets["proj-api"]) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := f.proxyReq("POST", uri, "", `{"title":"t"}`)
			tc.set(req)
			req.Header.Set("X-Botgate-User", "root")                    // spoofing attempt
			req.Header.Set("X-Forwarded-For", "203.0.113.7, 127.0.0.1") // from a trusted peer
			req.Header.Set("User-Agent", "triage-bot/1.0")
			resp, body := do(t, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if resp.Header.Get("RateLimit-Limit") != "2000" {
				t.Errorf("RateLimit-Limit %q, want the gateway's 2000 over the upstream's", resp.Header.Get("RateLimit-Limit"))
			}
			for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Observed", "RateLimit-Reset"} {
				if vs := resp.Header.Values(h); len(vs) != 1 {
					t.Errorf("%s has values %q, want exactly one", h, vs)
				}
			}
			reqs := f.up.requests()
			got := reqs[len(reqs)-1]
			if got.URI != uri || got.Method != "POST" || got.Body != `{"title":"t"}` {
				t.Errorf("upstream got %s %s %q", got.Method, got.URI, got.Body)
			}
			for _, h := range []string{"Authorization", "Job-Token"} {
				if v := got.Header.Get(h); v != "" {
					t.Errorf("upstream got %s %q: the caller's token was not stripped", h, v)
				}
			}
			if v := got.Header.Get("Private-Token"); v != "upstream-secret-credential" {
				t.Errorf("upstream PRIVATE-TOKEN %q, want the route's credential", v)
			}
			for k, vs := range got.Header {
				for _, v := range vs {
					if strings.Contains(v, f.secrets["proj-api"]) {
						t.Errorf("the caller's token reached the upstream in %s", k)
					}
				}
			}
			if u := got.Header.Get("X-Botgate-User"); !strings.HasPrefix(u, "project_") {
				t.Errorf("X-Botgate-User %q at the upstream, want the bot (a spoofed value must be replaced)", u)
			}
			if id, want := got.Header.Get("X-Botgate-Token-Id"), strconv.FormatInt(f.ids["proj-api"], 10); id != want {
				t.Errorf("X-Botgate-Token-Id %q at the upstream, want %s", id, want)
			}
			if xff := got.Header.Get("X-Forwarded-For"); xff != "203.0.113.7, 127.0.0.1, 127.0.0.1" {
				t.Errorf("X-Forwarded-For %q, want the trusted chain plus the peer", xff)
			}
			if got.Header.Get("X-Forwarded-Host") == "" || got.Header.Get("X-Forwarded-Proto") != "http" {
				t.Errorf("X-Forwarded-Host/Proto missing: %v", got.Header)
			}
		})
	}
}

func TestProxyUntrustedForwardedFor(t *testing.T) {
	f := newFixture(t, fixtureOpts{}) // no trusted proxies
	req := f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), "proj-api", "")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	if resp, body := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	reqs := f.up.requests()
	if xff := reqs[len(reqs)-1].Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q, want only the peer: an untrusted peer's header is dropped", xff)
	}
	if err := f.gw.FlushUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok := f.token("proj-api")
	if len(tok.LastUsedIPs) == 0 || tok.LastUsedIPs[0] != "127.0.0.1" {
		t.Errorf("last used IPs %v, want the peer's address, not the forged one", tok.LastUsedIPs)
	}
}

func TestProxyQueryToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
allow_query_token: true
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true, credential: "env:UPSTREAM_TOKEN"}]
`})
	secret := url.QueryEscape(f.secrets["proj-read"])
	cases := []struct{ name, query, want string }{
		{"PrivateToken", "scope=failed&private_token=" + secret + "&per_page=5", "scope=failed&per_page=5"},
		{"AccessToken", "scope=failed&access_token=" + secret + "&per_page=5", "scope=failed&per_page=5"},
		{"EscapedName", "scope=failed&private%5Ftoken=" + secret + "&per_page=5", "scope=failed&per_page=5"},
		// ReverseProxy drops a parameter pair joined by ';' (parameter
		// smuggling); the token goes with it either way.
		{"SemicolonAndHeaderToo", "scope=failed;job_token=" + secret + "&per_page=5", "per_page=5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d/jobs?%s", f.proj.ID, tc.query), "", "")
			if tc.name == "SemicolonAndHeaderToo" {
				req.Header.Set("PRIVATE-TOKEN", f.secrets["proj-read"])
			}
			if resp, body := do(t, req); resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			reqs := f.up.requests()
			if got, want := reqs[len(reqs)-1].URI, fmt.Sprintf("/api/v4/projects/%d/jobs?%s", f.proj.ID, tc.want); got != want {
				t.Errorf("upstream URI %q, want %q (token parameter stripped)", got, want)
			}
		})
	}
	t.Run("DifferentTokenInHeader", func(t *testing.T) {
		req := f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d/jobs?private_token=%s", f.proj.ID, secret), "proj-api", "")
		if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d %s, want 401 for two different tokens", resp.StatusCode, body)
		}
	})
}

func TestProxyStreams(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, fixtureOpts{upstream: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		_, _ = io.WriteString(w, "second\n")
	}})
	defer close(release)
	resp, err := http.DefaultClient.Do(f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/1/trace", f.proj.ID), "proj-read", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("read %q, %v: want the first chunk before the upstream finishes", line, err)
	}
}

func TestProxyWebSocket(t *testing.T) {
	f := newFixture(t, fixtureOpts{upstream: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("Private-Token") != "upstream-secret-credential" {
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(rw, buf); err == nil {
			_, _ = rw.Write([]byte(strings.ToUpper(string(buf))))
			_ = rw.Flush()
		}
	}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.proxySrv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /api/v4/projects/%d/terminal HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nPRIVATE-TOKEN: %s\r\n\r\n", f.proj.ID, f.secrets["proj-read"])
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, 5)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "HELLO" {
		t.Fatalf("echo %q, %v: want HELLO through the upgraded connection", echo, err)
	}
}

func TestProxyUpstreamFailures(t *testing.T) {
	t.Run("Down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		f := newFixture(t, fixtureOpts{config: "routes: [{name: down, upstream: 'http://" + addr + "', gitlab: true}]"})
		resp, body := do(t, f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), "proj-api", ""))
		if m := jsonBody(t, body); resp.StatusCode != http.StatusBadGateway || !strings.Contains(fmt.Sprint(m["message"]), "route down is unavailable") {
			t.Errorf("got %d %v, want 502 naming the route", resp.StatusCode, m)
		}
		if !strings.Contains(f.metrics(), `botgate_gateway_upstream_errors_total{kind="unavailable",route="down"} 1`) {
			t.Errorf("upstream error not counted")
		}
	})
	t.Run("Slow", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{
			config: "routes: [{name: slow, upstream: '{{UPSTREAM}}', gitlab: true, timeout: 200ms}]",
			upstream: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
		})
		resp, body := do(t, f.proxyReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), "proj-api", ""))
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("got %d %s, want 504", resp.StatusCode, body)
		}
	})
	t.Run("NoRoute", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{config: "routes: [{name: api, path_prefix: /api/, upstream: '{{UPSTREAM}}'}]"})
		if resp, body := do(t, f.proxyReq("GET", "/other", "proj-api", "")); resp.StatusCode != http.StatusNotFound {
			t.Errorf("got %d %s, want 404", resp.StatusCode, body)
		}
	})
	t.Run("MissingCredential", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{config: "routes: [{name: gl, upstream: '{{UPSTREAM}}', credential: 'env:NOT_SET'}]"})
		resp, body := do(t, f.proxyReq("GET", "/api/v4/version", "proj-api", ""))
		if resp.StatusCode != http.StatusBadGateway || len(f.up.requests()) != 0 {
			t.Errorf("got %d %s with %d upstream requests, want 502 and nothing forwarded", resp.StatusCode, body, len(f.up.requests()))
		}
	})
}

func TestProxyClientDisconnectMidBody(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.proxySrv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v4/projects/%d/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nPRIVATE-TOKEN: %s\r\n\r\npartial body",
		f.proj.ID, f.secrets["proj-api"])
	time.Sleep(50 * time.Millisecond)
	conn.Close()
	// The gateway must not forward a truncated request. Wait until it has
	// decided (the metric moves), then check the upstream.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.metrics(), `botgate_gateway_decisions_total{mode="proxy",result="invalid"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never refused the truncated body; metrics:\n%s", f.metrics())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(f.up.requests()); n != 0 {
		t.Errorf("the upstream got %d requests, want none", n)
	}
}

func TestProxySlowBody(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
body_read_timeout: 200ms
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.proxySrv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v4/projects/%d/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nPRIVATE-TOKEN: %s\r\n\r\nslow",
		f.proj.ID, f.secrets["proj-api"])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if n := len(f.up.requests()); n != 0 {
		t.Errorf("the upstream got %d requests, want none", n)
	}
}
