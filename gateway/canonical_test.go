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

	"github.com/botgate/botgate/edge"
)

// rawRequest sends method and target on a fresh connection exactly as
// written (no client-side cleaning) and returns the status and body.
func rawRequest(t *testing.T, srvURL, method, target string, header http.Header) (int, string) {
	t.Helper()
	u, err := url.Parse(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, u.Host)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if method == "POST" || method == "PUT" {
		b.WriteString("Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	} else {
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// crossTeamSpellings are ways of writing "the other team's project's access
// tokens" that an upstream reads as that path.
func crossTeamSpellings(otherID int64, otherPath string) []string {
	id := fmt.Sprint(otherID)
	enc := url.PathEscape(otherPath)
	return []string{
		"/api/v4/projects/" + id + "/access_tokens",
		"/api/v4/%70rojects/" + id + "/access_tokens",
		"/api/v4/%70%72%6f%6a%65%63%74%73/" + id + "/access_tokens",
		"/%61pi/v4/projects/" + id + "/access_tokens",
		"/api/%76%34/projects/" + id + "/access_tokens",
		"/api/v4/PROJECTS/" + id + "/access_tokens",
		"/API/V4/Projects/" + id + "/access_tokens",
		"/api/v4//projects/" + id + "/access_tokens",
		"//api/v4/projects/" + id + "/access_tokens",
		"/api//v4/projects//" + id + "//access_tokens",
		"/api/v4/projects/" + id + "/access_tokens/",
		"/api/v4/projects%2F" + id + "/access_tokens",
		"/api/v4/projects%2f" + id + "/access_tokens",
		"/api%2Fv4%2Fprojects%2F" + id + "%2Faccess_tokens",
		"/api/v4/projects/%3" + id[:1] + id[1:] + "/access_tokens",
		"/api/v4/projects/" + enc + "/access_tokens",
		"/api/v4/projects/" + strings.ReplaceAll(enc, "%2F", "%2f") + "/access_tokens",
		"/api/v4/projects/" + strings.ToUpper(enc) + "/access_tokens",
		"/api/v4/projects/x/../" + id + "/access_tokens",
		"/api/v4/x/../projects/" + id + "/access_tokens",
		"/api/v4/./projects/" + id + "/access_tokens",
		"/api/v4/projects/" + id + "/./access_tokens",
		"/api/v4/projects/" + id + "/%2e/access_tokens",
		"/api/v4/projects;x=1/" + id + "/access_tokens",
		"/api/v4/projects/" + id + ";x=1/access_tokens",
		"/api/v4/projects%252F" + id + "/access_tokens",
		"/api/v4/projects/%2B" + id + "/access_tokens",
		"/api/v4/projects/0" + id + "/access_tokens",
	}
}

// TestCrossTeamPathSpellingsRefused is the gateway's answer to the path
// canonicalisation attack: a project bot of one team sends "create an
// access token on the other team's project" in every spelling an upstream
// reads as that path. Whatever the spelling, through the proxy and through
// forward-auth for nginx, Traefik and Envoy, it is refused (400 or 403)
// and nothing reaches the upstream.
func TestCrossTeamPathSpellingsRefused(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	spellings := crossTeamSpellings(f.other.ID, "other/secret")
	hdr := http.Header{"Private-Token": {f.secrets["proj-api"]}}
	for _, p := range spellings {
		t.Run("proxy "+p, func(t *testing.T) {
			before := len(f.up.requests())
			status, body := rawRequest(t, f.proxySrv.URL, "POST", p, hdr)
			if status != 400 && status != 403 {
				t.Fatalf("POST %s through the proxy: %d %s, want 400 or 403", p, status, body)
			}
			if n := len(f.up.requests()); n != before {
				t.Fatalf("POST %s reached the upstream as %s", p, f.up.requests()[n-1].URI)
			}
		})
		forwardAuth := []struct {
			name string
			req  func() (string, http.Header)
		}{
			{"nginx", func() (string, http.Header) {
				return "/-/auth", http.Header{"X-Original-Method": {"POST"}, "X-Original-Uri": {p}}
			}},
			{"traefik", func() (string, http.Header) {
				return "/-/auth", http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {p}}
			}},
			{"envoy", func() (string, http.Header) { return gatewayEnvoyPrefix + p, http.Header{} }},
		}
		for _, fa := range forwardAuth {
			t.Run(fa.name+" "+p, func(t *testing.T) {
				target, h := fa.req()
				h.Set("Private-Token", f.secrets["proj-api"])
				method := "GET"
				if fa.name == "envoy" {
					method = "POST"
				}
				status, body := rawRequest(t, f.authSrv.URL, method, target, h)
				// Every proxy denies on any answer but 2xx; a mux may also
				// redirect an unclean Envoy path (307) before the gateway
				// sees it.
				if status != 400 && status != 403 && !(fa.name == "envoy" && status == http.StatusTemporaryRedirect) {
					t.Fatalf("forward-auth (%s) of POST %s: %d %s, want a refusal", fa.name, p, status, body)
				}
			})
		}
	}
	// The control: the bot's own project is reachable, also when spelled
	// with an escaped word, and the upstream receives the canonical path.
	own := fmt.Sprintf("/api/v4/%%70rojects/%d/issues/", f.proj.ID)
	status, body := rawRequest(t, f.proxySrv.URL, "GET", own, hdr)
	if status != 200 {
		t.Fatalf("GET %s on the bot's own project: %d %s", own, status, body)
	}
	reqs := f.up.requests()
	if got, want := reqs[len(reqs)-1].URI, fmt.Sprintf("/api/v4/projects/%d/issues", f.proj.ID); got != want {
		t.Fatalf("the upstream received %q, want the canonical %q", got, want)
	}
}

// gatewayEnvoyPrefix is the default Envoy prefix.
const gatewayEnvoyPrefix = "/-/auth/envoy"

// TestDenyRuleSpellings checks that a deny rule holds for every spelling
// of its path: escaped words, case, doubled and trailing slashes.
func TestDenyRuleSpellings(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
routes:
  - name: gitlab
    upstream: "{{UPSTREAM}}"
    gitlab: true
    credential: "env:UPSTREAM_TOKEN"
    rules:
      - {path: /api/v4/admin/*, deny: true}
      - {method: DELETE, path: "/api/v4/projects/:id", deny: true}
`})
	hdr := http.Header{"Private-Token": {f.secrets["admin"]}}
	id := fmt.Sprint(f.proj.ID)
	cases := []struct{ method, path string }{
		{"POST", "/api/v4/admin/token"},
		{"POST", "/api/v4/%61dmin/token"},
		{"POST", "/api/v4/ADMIN/token"},
		{"POST", "/api/v4//admin/token"},
		{"POST", "/api/v4/admin/token/"},
		{"POST", "/api/v4/admin"},
		{"POST", "/api/v4/admin/"},
		{"POST", "/api/v4/Admin%2Ftoken"},
		{"DELETE", "/api/v4/projects/" + id},
		{"DELETE", "/api/v4/projects/" + id + "/"},
		{"DELETE", "/api/v4/projects//" + id},
		{"DELETE", "/api/v4/Projects/" + id},
		{"DELETE", "/api/v4/projects/%3" + id[:1] + id[1:]},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			before := len(f.up.requests())
			status, body := rawRequest(t, f.proxySrv.URL, tc.method, tc.path, hdr)
			if status != 400 && status != 403 {
				t.Fatalf("%s %s: %d %s, want 400 or 403", tc.method, tc.path, status, body)
			}
			if len(f.up.requests()) != before {
				t.Fatalf("%s %s reached the upstream", tc.method, tc.path)
			}
			status, body = rawRequest(t, f.authSrv.URL, "GET", "/-/auth",
				http.Header{"X-Original-Method": {tc.method}, "X-Original-Uri": {tc.path}, "Private-Token": {f.secrets["admin"]}})
			if status != 400 && status != 403 {
				t.Fatalf("forward-auth %s %s: %d %s, want 400 or 403", tc.method, tc.path, status, body)
			}
		})
	}
}

// TestProxyDropsClientAddressHeaders checks that headers by which a client
// claims an address never reach the upstream from an untrusted peer, and
// that the upstream learns the address botgate saw.
func TestProxyDropsClientAddressHeaders(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	h := http.Header{"Private-Token": {f.secrets["proj-api"]}}
	for _, k := range edge.ClientAddressHeaders {
		h.Set(k, "203.0.113.66")
	}
	h.Set("X-Forwarded-For", "203.0.113.66")
	status, body := rawRequest(t, f.proxySrv.URL, "GET", fmt.Sprintf("/api/v4/projects/%d", f.proj.ID), h)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	reqs := f.up.requests()
	got := reqs[len(reqs)-1].Header
	for k, vs := range got {
		for _, v := range vs {
			if strings.Contains(v, "203.0.113.66") {
				t.Errorf("the client's claimed address reached the upstream in %s: %q", k, v)
			}
		}
	}
	if v := got.Get("X-Real-Ip"); v != "127.0.0.1" {
		t.Errorf("X-Real-IP at the upstream %q, want the peer botgate saw", v)
	}
}

// TestProxyStripsEveryQueryTokenSpelling checks that no spelling of a
// token parameter reaches the upstream or the logs when query tokens are
// allowed.
func TestProxyStripsEveryQueryTokenSpelling(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
allow_query_token: true
routes:
  - {name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true, credential: "env:UPSTREAM_TOKEN"}
`})
	secret := url.QueryEscape(f.secrets["proj-api"])
	for _, q := range []string{"private_token=", "private_token[]=", "private_token%5B%5D=", "PRIVATE_TOKEN=", "private%5Ftoken=", "job_token[x]="} {
		t.Run(q, func(t *testing.T) {
			status, body := rawRequest(t, f.proxySrv.URL, "GET", fmt.Sprintf("/api/v4/projects/%d?a=1&%s%s&b=2", f.proj.ID, q, secret), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			reqs := f.up.requests()
			got := reqs[len(reqs)-1]
			if want := fmt.Sprintf("/api/v4/projects/%d?a=1&b=2", f.proj.ID); got.URI != want {
				t.Fatalf("the upstream received %q, want %q", got.URI, want)
			}
		})
	}
}

// FuzzProxyForwardsDecidedPath is the property behind the canonical path:
// whatever path a client sends through the proxy, either it is refused and
// nothing reaches the upstream, or the upstream receives exactly the
// canonical path the decision was taken on — and a project bot never
// reaches a project or group it is not a member of, however the path is
// spelled.
func FuzzProxyForwardsDecidedPath(f *testing.F) {
	fx := newFixture(f, fixtureOpts{config: `
loop: {refusal_delay: 0s}
routes:
  - {name: gitlab, upstream: "{{UPSTREAM}}", gitlab: true, credential: "env:UPSTREAM_TOKEN"}
`})
	for _, p := range crossTeamSpellings(fx.other.ID, "other/secret") {
		f.Add("POST", p)
	}
	for _, p := range crossTeamSpellings(fx.proj.ID, "platform/api") {
		f.Add("GET", p)
	}
	f.Add("GET", fmt.Sprintf("/api/v4/groups/%d/projects", fx.group.ID))
	f.Add("GET", "/api/v4/projects/platform%2Fapi/repository/files/a%2Fb.go/raw")
	proxy := fx.gw.Proxy()
	own := fmt.Sprint(fx.proj.ID)
	f.Fuzz(func(t *testing.T, method, path string) {
		if method != "GET" && method != "POST" && method != "DELETE" {
			method = "GET"
		}
		raw := method + " " + path + " HTTP/1.1\r\nHost: gw.test\r\nPrivate-Token: " + fx.secrets["proj-api"] + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // not a request net/http would serve
		}
		req.RemoteAddr = "192.0.2.10:1234"
		before := len(fx.up.requests())
		rec := &statusWriter{h: http.Header{}}
		proxy.ServeHTTP(rec, req)
		reqs := fx.up.requests()
		if len(reqs) == before {
			if rec.status == http.StatusOK {
				t.Fatalf("%s %q answered 200 without reaching the upstream", method, path)
			}
			return
		}
		got, _, _ := strings.Cut(reqs[len(reqs)-1].URI, "?")
		want, err := edge.CanonicalPath(requestTargetPath(req))
		if err != nil {
			t.Fatalf("%s %q was forwarded as %q although its path has no canonical form: %v", method, path, got, err)
		}
		if got != want.Canonical {
			t.Fatalf("%s %q: decided on %q, the upstream received %q", method, path, want.Canonical, got)
		}
		segs := want.Segs
		if len(segs) >= 4 && edge.Word(segs[0], "api") && edge.Word(segs[1], "v4") {
			switch {
			case edge.Word(segs[2], "groups"):
				t.Fatalf("%s %q reached a group (%s) the bot is not a member of", method, path, segs[3])
			case edge.Word(segs[2], "projects"):
				ref, _ := url.PathUnescape(segs[3])
				if n, err := strconv.ParseInt(ref, 10, 64); (err == nil && fmt.Sprint(n) != own) || (err != nil && !strings.EqualFold(ref, "platform/api")) {
					t.Fatalf("%s %q reached project %q, not the bot's own", method, path, ref)
				}
			}
		}
	})
}

// requestTargetPath is the path of a request's target as sent.
func requestTargetPath(r *http.Request) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	return p
}

// statusWriter is a minimal ResponseWriter that keeps the status.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

// TestDenyRuleMethodSpellings checks that a DELETE deny rule holds for
// every way of saying DELETE: a lower-case method, which some servers
// accept, and the method overrides Rack (and so GitLab) honours on a POST.
func TestDenyRuleMethodSpellings(t *testing.T) {
	f := newFixture(t, fixtureOpts{config: `
routes:
  - name: gitlab
    upstream: "{{UPSTREAM}}"
    gitlab: true
    credential: "env:UPSTREAM_TOKEN"
    rules:
      - {method: DELETE, path: "/api/v4/projects/:id", deny: true}
`})
	path := fmt.Sprintf("/api/v4/projects/%d", f.proj.ID)
	tok := f.secrets["admin"]
	cases := []struct {
		name, method, target string
		h                    http.Header
	}{
		{"LowerCase", "delete", path, http.Header{}},
		{"MixedCase", "Delete", path, http.Header{}},
		{"OverrideHeader", "POST", path, http.Header{"X-Http-Method-Override": {"DELETE"}}},
		{"OverrideHeaderAlt", "POST", path, http.Header{"X-Http-Method": {"DELETE"}}},
		{"OverrideQuery", "POST", path + "?_method=DELETE", http.Header{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.up.requests())
			h := tc.h.Clone()
			h.Set("Private-Token", tok)
			status, body := rawRequest(t, f.proxySrv.URL, tc.method, tc.target, h)
			if status != 400 && status != 403 {
				t.Fatalf("%s %s through the proxy: %d %s, want a refusal", tc.method, tc.target, status, body)
			}
			if len(f.up.requests()) != before {
				t.Fatalf("%s %s reached the upstream", tc.method, tc.target)
			}
			fh := tc.h.Clone()
			fh.Set("Private-Token", tok)
			fh.Set("X-Original-Method", tc.method)
			fh.Set("X-Original-Uri", tc.target)
			status, body = rawRequest(t, f.authSrv.URL, "GET", "/-/auth", fh)
			if status != 400 && status != 403 {
				t.Fatalf("forward-auth of %s %s: %d %s, want a refusal", tc.method, tc.target, status, body)
			}
		})
	}
	t.Run("FormBodyOverride", func(t *testing.T) {
		before := len(f.up.requests())
		req := f.proxyReq("POST", path, "admin", "a=1&_method=DELETE")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := do(t, req)
		if resp.StatusCode != 400 || len(f.up.requests()) != before {
			t.Fatalf("a form POST carrying _method=DELETE: %d %s, forwarded %v", resp.StatusCode, body, len(f.up.requests()) != before)
		}
	})
}
