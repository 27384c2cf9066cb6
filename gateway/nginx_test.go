package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nginxConf puts nginx in front of the test upstream, asking botgate's
// /-/auth about every request with auth_request, as the gateway's
// documentation tells operators to. A 429 from botgate reaches nginx as an
// "unexpected status" (500); the error page turns it back into a 429 with
// botgate's Retry-After.
const nginxConf = `
daemon off;
master_process off;
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log warn;
events { worker_connections 128; }
http {
	access_log off;
	client_body_temp_path {{DIR}}/body;
	proxy_temp_path {{DIR}}/proxy;
	fastcgi_temp_path {{DIR}}/fastcgi;
	uwsgi_temp_path {{DIR}}/uwsgi;
	scgi_temp_path {{DIR}}/scgi;
	server {
		listen {{LISTEN}};
		location / {
			auth_request /_botgate;
			auth_request_set $botgate_user $upstream_http_x_botgate_user;
			auth_request_set $botgate_token_id $upstream_http_x_botgate_token_id;
			auth_request_set $botgate_status $upstream_status;
			auth_request_set $botgate_retry_after $upstream_http_retry_after;
			auth_request_set $botgate_limit $upstream_http_ratelimit_limit;
			auth_request_set $botgate_remaining $upstream_http_ratelimit_remaining;
			proxy_hide_header RateLimit-Limit;
			proxy_hide_header RateLimit-Remaining;
			add_header RateLimit-Limit $botgate_limit always;
			add_header RateLimit-Remaining $botgate_remaining always;
			proxy_set_header X-Botgate-User $botgate_user;
			proxy_set_header X-Botgate-Token-Id $botgate_token_id;
			proxy_set_header PRIVATE-TOKEN "";
			proxy_set_header Authorization "";
			proxy_set_header JOB-TOKEN "";
			proxy_pass {{UPSTREAM}};
			error_page 500 = @botgate_refused;
		}
		location = /_botgate {
			internal;
			proxy_pass {{AUTH}}/-/auth;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header X-Original-URI $request_uri;
			proxy_set_header X-Original-Method $request_method;
			proxy_set_header X-Forwarded-For $remote_addr;
		}
		location @botgate_refused {
			default_type application/json;
			if ($botgate_status = 429) {
				add_header Retry-After $botgate_retry_after always;
				add_header RateLimit-Limit $botgate_limit always;
				add_header RateLimit-Remaining $botgate_remaining always;
				return 429 '{"message":{"error":"This token is rate limited by botgate."}}';
			}
			return 500 '{"message":"500 Internal Server Error"}';
		}
	}
}
`

func TestNginxAuthRequest(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed (apt-get install nginx-light)")
	}
	f := newFixture(t, fixtureOpts{config: `
limits: {tokens: {{{ID:proj-api}}: {rate: 3, period: 1m}}}
routes: [{name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true}]
`})
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	conf := strings.NewReplacer("{{DIR}}", dir, "{{LISTEN}}", listen, "{{UPSTREAM}}", f.up.URL, "{{AUTH}}", f.authSrv.URL).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out, log)
		}
	})
	base := "http://" + listen
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not start: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(method, uri, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+uri, nil)
		if token != "" {
			req.Header.Set("PRIVATE-TOKEN", f.secrets[token])
		}
		resp, _ := do(t, req)
		return resp
	}
	own := fmt.Sprintf("/api/v4/projects/%d/issues", f.proj.ID)
	cases := []struct {
		name, method, uri, token string
		want                     int
	}{
		{"Allowed", "GET", own, "proj-read", 200},
		{"NoToken", "GET", own, "", 401},
		{"BadToken", "GET", own, "nope", 401},
		{"ScopeMissing", "POST", own, "proj-read", 403},
		{"OtherProject", "GET", fmt.Sprintf("/api/v4/projects/%d/issues", f.other.ID), "proj-read", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.up.requests())
			resp := get(tc.method, tc.uri, tc.token)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			reqs := f.up.requests()
			if tc.want != 200 {
				if len(reqs) != before {
					t.Errorf("a refused request reached the upstream")
				}
				return
			}
			got := reqs[len(reqs)-1]
			if got.Header.Get("Private-Token") != "" || !strings.HasPrefix(got.Header.Get("X-Botgate-User"), "project_") ||
				got.Header.Get("X-Botgate-Token-Id") == "" {
				t.Errorf("upstream headers %v: want the bot named and the token stripped", got.Header)
			}
			if resp.Header.Get("RateLimit-Limit") != "2000" {
				t.Errorf("RateLimit-Limit %q through nginx", resp.Header.Get("RateLimit-Limit"))
			}
		})
	}
	t.Run("Limited", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if resp := get("GET", fmt.Sprintf("%s?page=%d", own, i), "proj-api"); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i+1, resp.StatusCode)
			}
		}
		resp := get("GET", own+"?page=9", "proj-api")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("status %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp.Header.Get("RateLimit-Remaining") != "0" {
			t.Errorf("RateLimit-Remaining %q, want 0", resp.Header.Get("RateLimit-Remaining"))
		}
		// Other tokens carry on.
		if resp := get("GET", own, "proj-read"); resp.StatusCode != 200 {
			t.Errorf("another token: %d", resp.StatusCode)
		}
	})
}
