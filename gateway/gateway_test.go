package gateway_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/botgate/botgate/authority"
)

// forwardAuthStyle builds a forward-auth request the way one proxy does.
type forwardAuthStyle struct {
	name  string
	build func(f *fixture, method, uri, token string) *http.Request
}

var forwardAuthStyles = []forwardAuthStyle{
	{"nginx", func(f *fixture, method, uri, token string) *http.Request { return f.nginxReq(method, uri, token) }},
	{"traefik", func(f *fixture, method, uri, token string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, f.authSrv.URL+"/-/auth", nil)
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", uri)
		req.Header.Set("X-Forwarded-Host", "gitlab.example.com")
		req.Header.Set("X-Forwarded-Proto", "https")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+f.secrets[token])
		}
		return req
	}},
	{"envoy", func(f *fixture, method, uri, token string) *http.Request {
		req, _ := http.NewRequest(method, f.authSrv.URL+"/-/auth/envoy"+uri, nil)
		if token != "" {
			req.Header.Set("JOB-TOKEN", f.secrets[token])
		}
		return req
	}},
}

func TestForwardAuthDecisions(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	own := fmt.Sprintf("/api/v4/projects/%d/merge_requests?state=opened", f.proj.ID)
	other := fmt.Sprintf("/api/v4/projects/%d/issues", f.other.ID)
	cases := []struct {
		name, method, uri, token string
		want                     int
	}{
		{"ReadOwnProject", "GET", own, "proj-read", http.StatusOK},
		{"WriteOwnProject", "POST", fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID), "proj-api", http.StatusOK},
		{"NoToken", "GET", own, "", http.StatusUnauthorized},
		{"ReadTokenWrites", "POST", fmt.Sprintf("/api/v4/projects/%d/notes", f.proj.ID), "proj-read", http.StatusForbidden},
		{"RepositoryScopeReadsAPI", "GET", own, "proj-repo", http.StatusForbidden},
		{"OtherProject", "GET", other, "proj-api", http.StatusForbidden},
	}
	for _, style := range forwardAuthStyles {
		for _, tc := range cases {
			t.Run(style.name+"/"+tc.name, func(t *testing.T) {
				resp, body := do(t, style.build(f, tc.method, tc.uri, tc.token))
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
				}
				if tc.want != http.StatusOK {
					if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
						t.Errorf("Content-Type %q, want JSON", resp.Header.Get("Content-Type"))
					}
					jsonBody(t, body)
					if resp.Header.Get("X-Botgate-User") != "" {
						t.Errorf("a refusal carries X-Botgate-User %q", resp.Header.Get("X-Botgate-User"))
					}
					return
				}
				if got, want := resp.Header.Get("X-Botgate-Token-Id"), strconv.FormatInt(f.ids[tc.token], 10); got != want {
					t.Errorf("X-Botgate-Token-Id %q, want %q", got, want)
				}
				if u := resp.Header.Get("X-Botgate-User"); !strings.HasPrefix(u, fmt.Sprintf("project_%d_bot_", f.proj.ID)) {
					t.Errorf("X-Botgate-User %q, want the project bot", u)
				}
				if resp.Header.Get("X-Botgate-Automation") == "" || resp.Header.Get("X-Botgate-Scopes") == "" {
					t.Errorf("missing X-Botgate-Automation or X-Botgate-Scopes: %v", resp.Header)
				}
				if resp.Header.Get("RateLimit-Limit") != "2000" || resp.Header.Get("RateLimit-Remaining") == "" {
					t.Errorf("rate-limit headers missing or wrong: %v", resp.Header)
				}
			})
		}
	}
}

func TestForwardAuthBodies(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	uri := fmt.Sprintf("/api/v4/projects/%d", f.proj.ID)
	t.Run("ScopeBody", func(t *testing.T) {
		resp, body := do(t, f.nginxReq("DELETE", uri, "proj-read"))
		m := jsonBody(t, body)
		if resp.StatusCode != http.StatusForbidden || m["error"] != "insufficient_scope" || m["scope"] != "api" {
			t.Errorf("got %d %v, want 403 insufficient_scope with scope api", resp.StatusCode, m)
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		req := f.nginxReq("GET", uri, "")
		req.Header.Set("PRIVATE-TOKEN", "glpat-notarealtokenatall")
		resp, body := do(t, req)
		if m := jsonBody(t, body); resp.StatusCode != http.StatusUnauthorized || m["message"] != "401 Unauthorized" {
			t.Errorf("got %d %v, want 401 Unauthorized", resp.StatusCode, m)
		}
	})
	t.Run("RevokedToken", func(t *testing.T) {
		if err := f.auth.RevokeToken(t.Context(), authority.SystemActor(), f.ids["other-api"]); err != nil {
			t.Fatal(err)
		}
		resp, body := do(t, f.nginxReq("GET", fmt.Sprintf("/api/v4/projects/%d", f.other.ID), "other-api"))
		if m := jsonBody(t, body); resp.StatusCode != http.StatusUnauthorized || m["error"] != "invalid_token" {
			t.Errorf("got %d %v, want 401 invalid_token", resp.StatusCode, m)
		}
	})
	t.Run("NoOriginalRequest", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.authSrv.URL+"/-/auth", nil)
		req.Header.Set("PRIVATE-TOKEN", f.secrets["proj-api"])
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", resp.StatusCode, body)
		}
	})
	t.Run("TwoDifferentTokens", func(t *testing.T) {
		req := f.nginxReq("GET", uri, "proj-api")
		req.Header.Set("Authorization", "Bearer "+f.secrets["proj-read"])
		if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "several different tokens") {
			t.Errorf("got %d %s, want 401 saying several different tokens were presented", resp.StatusCode, body)
		}
	})
	t.Run("QueryTokenRefused", func(t *testing.T) {
		req := f.nginxReq("GET", uri+"?private_token="+url.QueryEscape(f.secrets["proj-api"]), "")
		resp, body := do(t, req)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, f.secrets["proj-api"]) {
			t.Errorf("got %d %s, want 401 without the token echoed", resp.StatusCode, body)
		}
		if !strings.Contains(body, "tokens in the URL are refused") {
			t.Errorf("body %s does not say why the token was refused", body)
		}
	})
	t.Run("EscapedQueryTokenRefused", func(t *testing.T) {
		req := f.nginxReq("GET", uri+"?a=1&PRIVATE%5Ftoken="+url.QueryEscape(f.secrets["proj-api"]), "")
		if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("got %d %s, want 401", resp.StatusCode, body)
		}
	})
	t.Run("OversizedToken", func(t *testing.T) {
		req := f.nginxReq("GET", uri, "")
		req.Header.Set("PRIVATE-TOKEN", "glpat-"+strings.Repeat("a", 4000))
		if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("got %d %s, want 401", resp.StatusCode, body)
		}
	})
	t.Run("MalformedAuthorization", func(t *testing.T) {
		req := f.nginxReq("GET", uri, "")
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		if resp, body := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("got %d %s, want 401", resp.StatusCode, body)
		}
	})
	t.Run("BadOriginalMethod", func(t *testing.T) {
		if resp, body := do(t, f.nginxReq("GE T", uri, "proj-api")); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", resp.StatusCode, body)
		}
	})
}

func TestResourceMembership(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	enc := func(p string) string { return url.PathEscape(p) }
	cases := []struct {
		name, token, uri string
		want             int
	}{
		{"ProjectBotOwnProjectByID", "proj-api", fmt.Sprintf("/api/v4/projects/%d/pipelines", f.proj.ID), 200},
		{"ProjectBotOwnProjectByPath", "proj-api", "/api/v4/projects/" + enc("platform/api") + "/pipelines", 200},
		{"ProjectBotOwnProjectByPathUpperCase", "proj-api", "/api/v4/projects/" + enc("Platform/API"), 200},
		{"ProjectBotOtherProject", "proj-api", fmt.Sprintf("/api/v4/projects/%d/pipelines", f.other.ID), 403},
		{"ProjectBotOtherProjectByPath", "proj-api", "/api/v4/projects/" + enc("other/secret"), 403},
		{"ProjectBotSiblingProject", "proj-api", fmt.Sprintf("/api/v4/projects/%d", f.subProj.ID), 403},
		{"ProjectBotItsGroup", "proj-api", fmt.Sprintf("/api/v4/groups/%d", f.group.ID), 403},
		{"ProjectBotUnknownProject", "proj-api", "/api/v4/projects/999999", 403},
		{"ProjectBotDoubleEncodedPath", "proj-api", "/api/v4/projects/" + url.PathEscape(enc("platform/api")), 400}, // refused before any lookup: %25 followed by an escape
		{"GroupBotGroup", "group-api", fmt.Sprintf("/api/v4/groups/%d/projects", f.group.ID), 200},
		{"GroupBotSubgroupByPath", "group-api", "/api/v4/groups/" + enc("platform/tools"), 200},
		{"GroupBotProjectBelow", "group-api", fmt.Sprintf("/api/v4/projects/%d", f.subProj.ID), 200},
		{"GroupBotOtherGroup", "group-api", fmt.Sprintf("/api/v4/groups/%d", f.otherGroup.ID), 403},
		{"GroupBotOtherProject", "group-api", fmt.Sprintf("/api/v4/projects/%d", f.other.ID), 403},
		{"AdminAnywhere", "admin", fmt.Sprintf("/api/v4/projects/%d", f.other.ID), 200},
		{"NotAResourcePath", "proj-api", "/api/v4/version", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, f.proxyReq("GET", tc.uri, tc.token, ""))
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 403 {
				if m := jsonBody(t, body); !strings.HasPrefix(fmt.Sprint(m["message"]), "403 Forbidden") {
					t.Errorf("body %v, want a 403 Forbidden message", m)
				}
			}
		})
	}
}

func TestPathChecks(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	cases := []struct {
		name, uri string
		want      int
	}{
		{"DotDot", fmt.Sprintf("/api/v4/projects/%d/../../projects/%d", f.proj.ID, f.other.ID), 400},
		{"EncodedDotDot", fmt.Sprintf("/api/v4/projects/%d/%%2e%%2e/%d", f.proj.ID, f.other.ID), 400},
		{"DoubleEncodedDotDot", fmt.Sprintf("/api/v4/projects/%d/%%252e%%252e/x", f.proj.ID), 400},
		{"EncodedSlashDotDot", fmt.Sprintf("/api/v4/projects/%d/repository/files/a%%2F..%%2Fb", f.proj.ID), 400},
		{"EncodedFilePathIsFine", fmt.Sprintf("/api/v4/projects/%d/repository/files/lib%%2Fmain.go", f.proj.ID), 200},
	}
	for _, tc := range cases {
		t.Run("nginx/"+tc.name, func(t *testing.T) {
			resp, body := do(t, f.nginxReq("GET", tc.uri, "proj-api"))
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
		})
		t.Run("proxy/"+tc.name, func(t *testing.T) {
			before := len(f.up.requests())
			req := f.proxyReq("GET", "/", "proj-api", "")
			req.URL.Opaque = tc.uri // send the path exactly as written
			resp, body := do(t, req)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			if tc.want != 200 && len(f.up.requests()) != before {
				t.Errorf("a refused request reached the upstream")
			}
		})
	}
}
