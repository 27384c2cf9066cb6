package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/datadir"
)

var proxyListenRE = regexp.MustCompile(`msg="botgate proxy listening" addr=(\S+)`)

// startGatewayServer runs 'botgate serve' with the gateway configured by
// configYAML and a proxy listener, and returns the API URL, the proxy URL
// and the admin token.
func startGatewayServer(t *testing.T, configYAML string, env map[string]string) (apiURL, proxyURL, admin string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "admin.token")
	log := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--proxy-listen", "127.0.0.1:0",
			"--gateway-config", cfg, "--data-dir", filepath.Join(dir, "data"), "--admin-token-file", tokenFile},
			func(k string) string { return env[k] }, strings.NewReader(""), &syncBuffer{}, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for apiURL == "" || proxyURL == "" {
		if m := listenRE.FindStringSubmatch(log.String()); m != nil {
			apiURL = "http://" + m[1]
		}
		if m := proxyListenRE.FindStringSubmatch(log.String()); m != nil {
			proxyURL = "http://" + m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report its addresses:\n%s", log.String())
		}
	}
	b, err := datadir.ReadSecretFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return apiURL, proxyURL, strings.TrimSpace(string(b))
}

func TestServeGatewayAndTokenUsage(t *testing.T) {
	upstreamAuth := make(chan string, 10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamAuth <- r.Header.Get("PRIVATE-TOKEN") + "|" + r.Header.Get("Authorization")
		_, _ = io.WriteString(w, `{"version":"17.0.0"}`)
	}))
	defer up.Close()
	apiURL, proxyURL, admin := startGatewayServer(t, `
usage_flush_interval: 50ms
routes:
  - {name: gitlab, upstream: "`+up.URL+`", gitlab: true, credential: "env:GITLAB_UPSTREAM_TOKEN"}
`, map[string]string{"GITLAB_UPSTREAM_TOKEN": "the-upstream-credential"})

	t.Run("ForwardAuth", func(t *testing.T) {
		req, _ := http.NewRequest("GET", apiURL+"/-/auth", nil)
		req.Header.Set("X-Original-Method", "GET")
		req.Header.Set("X-Original-URI", "/api/v4/projects/1/issues")
		req.Header.Set("PRIVATE-TOKEN", admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Botgate-User") != "root" || resp.Header.Get("RateLimit-Limit") == "" {
			t.Fatalf("forward-auth: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("Proxy", func(t *testing.T) {
		req, _ := http.NewRequest("POST", proxyURL+"/api/v4/projects/1/notes", strings.NewReader(`{"body":"x"}`))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("User-Agent", "release-bot/3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("proxy: %d", resp.StatusCode)
		}
		if got := <-upstreamAuth; got != "the-upstream-credential|" {
			t.Errorf("upstream credentials %q, want the route's credential and no Authorization", got)
		}
	})
	t.Run("OversizedHeaders", func(t *testing.T) {
		req, _ := http.NewRequest("GET", proxyURL+"/api/v4/projects/1", nil)
		req.Header.Set("PRIVATE-TOKEN", admin)
		req.Header.Set("X-Padding", strings.Repeat("a", 128<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
		select {
		case got := <-upstreamAuth:
			t.Errorf("an oversized request reached the upstream (%q)", got)
		default:
		}
	})
	t.Run("Metrics", func(t *testing.T) {
		scrape := func(t *testing.T, header, value string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", apiURL+"/metrics", nil)
			if header != "" {
				req.Header.Set(header, value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		// A user who is not an administrator, with a read_api token.
		var user struct{ ID int64 }
		postJSON(t, apiURL+"/api/v4/users", admin, `{"username":"carol","name":"Carol","email":"carol@example.com"}`, &user)
		var pat struct{ Token string }
		postJSON(t, fmt.Sprintf("%s/api/v4/users/%d/personal_access_tokens", apiURL, user.ID), admin,
			`{"name":"scraper","scopes":["read_api"]}`, &pat)
		for _, tc := range []struct {
			name, header, value string
			want                int
		}{
			{"Anonymous", "", "", http.StatusUnauthorized},
			{"NotAdmin", "PRIVATE-TOKEN", pat.Token, http.StatusForbidden},
			{"Admin", "PRIVATE-TOKEN", admin, http.StatusOK},
			{"AdminBearer", "Authorization", "Bearer " + admin, http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := scrape(t, tc.header, tc.value)
				if status != tc.want {
					t.Fatalf("status %d %.200s, want %d", status, body, tc.want)
				}
				if status != http.StatusOK {
					if strings.Contains(body, "botgate_") || !strings.Contains(body, `"message"`) {
						t.Errorf("refusal %.200s, want GitLab's shape and no metrics", body)
					}
					return
				}
				if !strings.Contains(body, `botgate_gateway_decisions_total{mode="proxy",result="allowed"} 1`) {
					t.Errorf("metrics:\n%s", body)
				}
			})
		}
	})
	t.Run("TokenUsage", func(t *testing.T) {
		s := newSession(t, map[string]string{"BOTGATE_URL": apiURL, "BOTGATE_TOKEN": admin})
		var u apiwire.TokenUsage
		deadline := time.Now().Add(10 * time.Second)
		for len(u.Routes) < 2 {
			r := s.ok("token", "usage", "1", "--output", "json")
			if err := json.Unmarshal([]byte(r.stdout), &u); err != nil {
				t.Fatalf("usage JSON: %v\n%s", err, r.stdout)
			}
			if time.Now().After(deadline) {
				t.Fatalf("usage never recorded: %s", r.stdout)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if strings.Join(u.ScopesUsed, " ") != "api read_api" || u.Calls != 2 {
			t.Errorf("usage %+v", u)
		}
		text := s.ok("token", "usage", "1").stdout
		for _, want := range []string{"POST", "/api/v4/projects/:id/notes", "GET", "/api/v4/projects/:id/issues", "release-bot/3", "scopes used:"} {
			if !strings.Contains(text, want) {
				t.Errorf("text output lacks %q:\n%s", want, text)
			}
		}
		s.fail(exitNotFound, []string{"token 999 not found"}, "token", "usage", "999")
		s.fail(exitUsage, nil, "token", "usage", "abc")
	})
}

// postJSON posts body as token and decodes the 201 answer into v.
func postJSON(t *testing.T, url, token, body string, v any) {
	t.Helper()
	if code := apiCall(t, http.MethodPost, url, token, json.RawMessage(body), v); code != http.StatusCreated {
		t.Fatalf("POST %s: %d", url, code)
	}
}
