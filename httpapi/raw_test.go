package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/httpapi"
)

// These tests speak raw HTTP, as curl and scripts do.

func TestRawCreateTokenForms(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v4/projects/%d/access_tokens", f.project.ID)
	tests := []struct {
		name string
		send func() response
	}{
		{"form with scopes[]", func() response {
			return f.form("POST", path, f.aliceTok, url.Values{"name": {"form-bot"}, "scopes[]": {"read_api", "read_repository"}, "access_level": {"30"}})
		}},
		{"form with repeated scopes", func() response {
			return f.form("POST", path, f.aliceTok, url.Values{"name": {"form-bot-2"}, "scopes": {"read_api", "read_repository"}, "access_level": {"30"}})
		}},
		{"json", func() response {
			return f.postJSON("POST", path, f.aliceTok, map[string]any{"name": "json-bot", "scopes": []string{"read_api", "read_repository"}, "access_level": 30})
		}},
		{"json with the level as a string and a null expiry", func() response {
			return f.postJSON("POST", path, f.aliceTok, map[string]any{"name": "json-bot-2", "scopes": []string{"read_repository", "read_api"}, "access_level": "30", "expires_at": nil})
		}},
		{"query string", func() response {
			return f.do("POST", path+"?name=query-bot&scopes[]=read_api&scopes[]=read_repository&access_level=30", f.aliceTok, "", nil)
		}},
		{"multipart", func() response {
			var body bytes.Buffer
			body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nmultipart-bot\r\n")
			body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"scopes[]\"\r\n\r\nread_api\r\n")
			body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"scopes[]\"\r\n\r\nread_repository\r\n")
			body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"access_level\"\r\n\r\n30\r\n--XX--\r\n")
			return f.do("POST", path, f.aliceTok, "multipart/form-data; boundary=XX", &body)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.send()
			if res.status != http.StatusCreated {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			j := res.json(t)
			f.remember(j["token"].(string))
			if fmt.Sprint(j["scopes"]) != "[read_api read_repository]" || j["access_level"] != float64(30) {
				t.Fatalf("created %s", res.body)
			}
			created, err := time.Parse("2006-01-02T15:04:05.000Z", j["created_at"].(string))
			if err != nil || !created.Equal(f.clock.Now().Truncate(time.Millisecond)) {
				t.Fatalf("created_at %q: %v (want milliseconds in UTC)", j["created_at"], err)
			}
			if _, ok := j["expires_at"]; !ok || j["expires_at"] != nil {
				t.Fatalf("expires_at = %v, want null", j["expires_at"])
			}
		})
	}
}

func TestRawBadInput(t *testing.T) {
	f := newFixture(t)
	today := f.clock.Now().UTC().Truncate(24 * time.Hour)
	ptok := fmt.Sprintf("/api/v4/projects/%d/access_tokens", f.project.ID)
	aliceTokID := must[*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.GetSinglePersonalAccessToken()).ID
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any // url.Values for a form, else JSON
		status int
		want   string // exact body
		prefix string // or body prefix
	}{
		{name: "missing name", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"scopes": []string{"api"}},
			status: 400, want: `{"error":"name is missing"}`},
		{name: "missing name and scopes", method: "POST", path: ptok, token: f.aliceTok, body: url.Values{"description": {"x"}},
			status: 400, want: `{"error":"name is missing, scopes is missing"}`},
		{name: "unknown scope", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": "x", "scopes": []string{"root"}},
			status: 400, prefix: `{"error":"scopes does not have a valid value`},
		{name: "admin scope on a project token", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": "x", "scopes": []string{"sudo"}},
			status: 400, prefix: `{"error":"scopes does not have a valid value`},
		{name: "access level above the creator", method: "POST", path: ptok, token: f.carolTok, body: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 50},
			status: 400, prefix: `{"message":"400 Bad request - Access level of the token contains permissions not held by the creating user`},
		{name: "invalid access level", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": 35},
			status: 400, prefix: `{"error":"access_level does not have a valid value`},
		{name: "wrong-typed access level", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": "x", "scopes": []string{"api"}, "access_level": "lots"},
			status: 400, want: `{"error":"access_level is invalid"}`},
		{name: "expiry in the past", method: "POST", path: ptok, token: f.aliceTok,
			body:   map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": today.AddDate(0, 0, -1).Format("2006-01-02")},
			status: 400, prefix: `{"message":"400 Bad request - Expiration date`},
		{name: "expiry beyond the maximum", method: "POST", path: ptok, token: f.aliceTok,
			body:   map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": today.AddDate(1, 1, 0).Format("2006-01-02")},
			status: 400, prefix: `{"message":"400 Bad request - Expires at must be before ` + today.AddDate(0, 0, 366).Format("2006-01-02")},
		{name: "description too long", method: "POST", path: ptok, token: f.aliceTok,
			body:   map[string]any{"name": "x", "scopes": []string{"api"}, "description": strings.Repeat("d", 256)},
			status: 400, prefix: `{"message":"400 Bad request - description is too long`},
		{name: "rotate beyond the maximum", method: "POST", path: fmt.Sprintf("/api/v4/personal_access_tokens/%d/rotate", aliceTokID), token: f.aliceTok,
			body:   map[string]any{"expires_at": today.AddDate(2, 0, 0).Format("2006-01-02")},
			status: 400, prefix: `{"message":"400 Bad request - Expires at must be before`},
		{name: "rotate into the past", method: "POST", path: fmt.Sprintf("/api/v4/personal_access_tokens/%d/rotate", aliceTokID), token: f.aliceTok,
			body:   map[string]any{"expires_at": today.Format("2006-01-02")},
			status: 400, prefix: `{"message":"400 Bad request - Expiration date`},
		{name: "invalid date", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": "next week"},
			status: 400, want: `{"error":"expires_at is invalid"}`},
		{name: "invalid JSON", method: "POST", path: ptok, token: f.aliceTok, body: "{not json",
			status: 400, prefix: `{"message":"400 Bad request - the request body is not a valid JSON object`},
		{name: "nested object", method: "POST", path: ptok, token: f.aliceTok, body: map[string]any{"name": map[string]any{"a": 1}, "scopes": []string{"api"}},
			status: 400, want: `{"error":"name is invalid"}`},
		{name: "unknown project", method: "GET", path: "/api/v4/projects/99999", token: f.aliceTok,
			status: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "unknown project path", method: "GET", path: "/api/v4/projects/nope%2Fnothing", token: f.aliceTok,
			status: 404, want: `{"message":"404 Project Not Found"}`},
		{name: "a project the caller may not see", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/access_tokens", f.project.ID), token: "",
			status: 401, want: `{"message":"401 Unauthorized"}`},
		{name: "unknown group", method: "GET", path: "/api/v4/groups/99999/access_tokens", token: f.aliceTok,
			status: 404, want: `{"message":"404 Group Not Found"}`},
		{name: "unknown project token", method: "GET", path: ptok + "/424242", token: f.aliceTok,
			status: 404, want: `{"message":"404 project Access Token Not Found"}`},
		{name: "malformed token", method: "GET", path: "/api/v4/user", token: "glpat-not-a-real-token",
			status: 401, want: `{"message":"401 Unauthorized"}`},
		{name: "well-formed unknown token", method: "GET", path: "/api/v4/user", token: "glpat-" + strings.Repeat("A", 40),
			status: 401, want: `{"message":"401 Unauthorized"}`},
		{name: "no token", method: "GET", path: "/api/v4/user", status: 401, want: `{"message":"401 Unauthorized"}`},
		{name: "bad page", method: "GET", path: "/api/v4/personal_access_tokens?page=x", token: f.aliceTok,
			status: 400, want: `{"error":"page is invalid"}`},
		{name: "bad sort", method: "GET", path: "/api/v4/personal_access_tokens?sort=sideways", token: f.aliceTok,
			status: 400, prefix: `{"error":"sort does not have a valid value`},
		{name: "bad state", method: "GET", path: "/api/v4/personal_access_tokens?state=zombie", token: f.aliceTok,
			status: 400, prefix: `{"error":"state does not have a valid value`},
		{name: "bad revoked", method: "GET", path: "/api/v4/personal_access_tokens?revoked=maybe", token: f.aliceTok,
			status: 400, want: `{"error":"revoked is invalid"}`},
		{name: "bad date filter", method: "GET", path: "/api/v4/personal_access_tokens?created_after=yesterday", token: f.aliceTok,
			status: 400, want: `{"error":"created_after is invalid"}`},
		{name: "unknown route", method: "GET", path: "/api/v4/nothing/here", token: f.aliceTok,
			status: 404, want: `{"error":"404 Not Found"}`},
		{name: "unsupported method", method: "PATCH", path: "/api/v4/user", token: f.aliceTok,
			status: 404, want: `{"error":"404 Not Found"}`},
		{name: "non-numeric token id", method: "GET", path: "/api/v4/personal_access_tokens/abc", token: f.aliceTok,
			status: 401, want: `{"message":"401 Unauthorized"}`},
		{name: "developer adds an owner", method: "POST", path: fmt.Sprintf("/api/v4/projects/%d/members", f.project.ID), token: f.bobTok,
			body: map[string]any{"user_id": f.carolID, "access_level": 50}, status: 403, prefix: `{"message":"403 Forbidden`},
		{name: "member without a user", method: "POST", path: fmt.Sprintf("/api/v4/projects/%d/members", f.project.ID), token: f.aliceTok,
			body: map[string]any{"access_level": 30}, status: 400, prefix: `{"error":"user_id, username are missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res response
			switch b := tt.body.(type) {
			case nil:
				res = f.do(tt.method, tt.path, tt.token, "", nil)
			case url.Values:
				res = f.form(tt.method, tt.path, tt.token, b)
			case string:
				res = f.do(tt.method, tt.path, tt.token, "application/json", strings.NewReader(b))
			default:
				res = f.postJSON(tt.method, tt.path, tt.token, b)
			}
			body := strings.TrimSpace(string(res.body))
			if res.status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.status, body)
			}
			if tt.want != "" && body != tt.want {
				t.Fatalf("body %s, want %s", body, tt.want)
			}
			if tt.prefix != "" && !strings.HasPrefix(body, tt.prefix) {
				t.Fatalf("body %s, want prefix %s", body, tt.prefix)
			}
		})
	}
	t.Run("no partial state after failures", func(t *testing.T) {
		list := must[[]*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.ListProjectAccessTokens(f.project.ID, nil))
		if len(list) != 0 {
			t.Fatalf("failed creations left tokens: %+v", list)
		}
		// alice's token survived the refused rotations.
		if me := must[*gitlab.User](t)(f.alice.Users.CurrentUser()); me.ID != f.aliceID {
			t.Fatalf("alice = %+v", me)
		}
		members := must[[]*gitlab.ProjectMember](t)(f.alice.ProjectMembers.ListProjectMembers(f.project.ID, nil))
		if len(members) != 2 {
			t.Fatalf("failed creations left members (bots): %+v", members)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		big := `{"name":"x","scopes":["api"],"description":"` + strings.Repeat("a", 2<<20) + `"}`
		res := f.do("POST", ptok, f.aliceTok, "application/json", strings.NewReader(big))
		if res.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %.200s", res.status, res.body)
		}
	})
}

func TestRawCredentialsAndLogs(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		setup func(*http.Request)
	}{
		{"PRIVATE-TOKEN header", func(r *http.Request) { r.Header.Set("PRIVATE-TOKEN", f.aliceTok) }},
		{"Authorization Bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+f.aliceTok) }},
		{"JOB-TOKEN header", func(r *http.Request) { r.Header.Set("JOB-TOKEN", f.aliceTok) }},
		{"private_token parameter", func(r *http.Request) { r.URL.RawQuery = "private_token=" + url.QueryEscape(f.aliceTok) }},
		{"access_token parameter", func(r *http.Request) { r.URL.RawQuery = "access_token=" + url.QueryEscape(f.aliceTok) + "&x=1" }},
		{"private_token[] parameter", func(r *http.Request) { r.URL.RawQuery = "private_token[]=" + url.QueryEscape(f.aliceTok) }},
		{"escaped bracket parameter", func(r *http.Request) { r.URL.RawQuery = "private_token%5B%5D=" + url.QueryEscape(f.aliceTok) }},
		{"upper-case parameter", func(r *http.Request) { r.URL.RawQuery = "PRIVATE_TOKEN=" + url.QueryEscape(f.aliceTok) }},
		{"same token twice", func(r *http.Request) {
			r.Header.Set("PRIVATE-TOKEN", f.aliceTok)
			r.URL.RawQuery = "private_token=" + url.QueryEscape(f.aliceTok)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", f.srv.URL+"/api/v4/user", nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(req)
			res := f.send(req)
			if res.status != http.StatusOK || res.json(t)["username"] != "alice" {
				t.Fatalf("%d %s", res.status, res.body)
			}
		})
	}
	t.Run("query credentials are redacted in the log", func(t *testing.T) {
		logs := f.logs.String()
		if !strings.Contains(logs, "access_token=[REDACTED]") || !strings.Contains(logs, "private_token[]=[REDACTED]") {
			t.Fatalf("the request log does not show the redacted parameters:\n%s", logs)
		}
		if strings.Contains(logs, f.aliceTok) || strings.Contains(logs, url.QueryEscape(f.aliceTok)) {
			t.Fatalf("a token is in the request log:\n%s", logs)
		}
	})
	t.Run("admin token lookup and revoke", func(t *testing.T) {
		victim := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(f.bobID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("leaked"), Scopes: &[]string{"api"},
		}))
		f.remember(victim.Token)
		// client-go has no /admin/token wrapper; use its generic request path.
		req, err := f.admin.NewRequest(http.MethodPost, "admin/token", map[string]string{"token": victim.Token}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		resp, err := f.admin.Do(req, &rec)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("lookup: %v", err)
		}
		if rec["id"] != float64(victim.ID) || rec["user_id"] != float64(f.bobID) || rec["name"] != "leaked" || rec["revoked"] != false {
			t.Fatalf("lookup record = %v", rec)
		}
		if res := f.postJSON("POST", "/api/v4/admin/token", f.aliceTok, map[string]string{"token": victim.Token}); res.status != http.StatusForbidden {
			t.Fatalf("non-admin lookup: %d %s", res.status, res.body)
		}
		if res := f.postJSON("POST", "/api/v4/admin/token", f.root, map[string]string{"token": "glpat-" + strings.Repeat("b", 30)}); res.status != http.StatusNotFound {
			t.Fatalf("unknown token lookup: %d %s", res.status, res.body)
		}
		if res := f.postJSON("DELETE", "/api/v4/admin/token", f.root, map[string]string{"token": victim.Token}); res.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.status, res.body)
		}
		if res := f.do("GET", "/api/v4/user", victim.Token, "", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("revoked token still works: %d", res.status)
		}
	})
	t.Run("client IP is the peer, not a forged X-Forwarded-For", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v4/personal_access_tokens/self", nil)
		req.Header.Set("PRIVATE-TOKEN", f.carolTok)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		if res := f.send(req); res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if err := f.auth.FlushUsage(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := f.do("GET", "/api/v4/personal_access_tokens/self", f.carolTok, "", nil).json(t)
		ips := fmt.Sprint(got["last_used_ips"])
		if !strings.Contains(ips, "127.0.0.1") || strings.Contains(ips, "203.0.113.9") {
			t.Fatalf("last_used_ips = %s", ips)
		}
	})
}

func TestRawPaginationHeaders(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		tok := must[*gitlab.PersonalAccessToken](t)(f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr(fmt.Sprintf("t%d", i)), Scopes: &[]string{"read_api"},
		}))
		f.remember(tok.Token)
	}
	// alice has 6 tokens: her CLI token and five more.
	tests := []struct {
		query                     string
		page, perPage, next, prev string
		total, totalPages, items  int
		rels                      []string
	}{
		{"per_page=4", "1", "4", "2", "", 6, 2, 4, []string{"next", "first", "last"}},
		{"per_page=4&page=2", "2", "4", "", "1", 6, 2, 2, []string{"prev", "first", "last"}},
		{"per_page=500", "1", "100", "", "", 6, 1, 6, []string{"first", "last"}},
		{"", "1", "20", "", "", 6, 1, 6, []string{"first", "last"}},
		{"per_page=4&page=9", "9", "4", "", "2", 6, 2, 0, []string{"prev", "first", "last"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := f.do("GET", "/api/v4/personal_access_tokens?"+tt.query+"&private_token="+url.QueryEscape(f.aliceTok), "", "", nil)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			h := res.header
			for k, want := range map[string]string{"X-Page": tt.page, "X-Per-Page": tt.perPage, "X-Next-Page": tt.next, "X-Prev-Page": tt.prev,
				"X-Total": fmt.Sprint(tt.total), "X-Total-Pages": fmt.Sprint(tt.totalPages)} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var items []any
			if err := jsonUnmarshal(res.body, &items); err != nil || len(items) != tt.items {
				t.Errorf("%d items (%v), want %d", len(items), err, tt.items)
			}
			link := h.Get("Link")
			for _, rel := range tt.rels {
				if !strings.Contains(link, `rel="`+rel+`"`) {
					t.Errorf("Link %q lacks rel=%q", link, rel)
				}
			}
			if strings.Contains(link, "private_token") || !strings.HasPrefix(link, "<"+f.srv.URL+"/api/v4/personal_access_tokens?") {
				t.Errorf("Link = %q (must be absolute and carry no credential)", link)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	e := newEnvWith(t, func(c *httpapi.Config) {
		c.Trust = edge.TrustPrefixes(netip.MustParsePrefix("127.0.0.0/8"))
	})
	tests := []struct {
		name, xff, proto, host string
		wantIP, wantBase       string
	}{
		{"nearest untrusted hop", "198.51.100.7, 203.0.113.5, 127.0.0.2", "https", "botgate.example.com", "203.0.113.5", "https://botgate.example.com"},
		{"no header", "", "", "", "127.0.0.1", e.srv.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v4/personal_access_tokens?per_page=1", nil)
			req.Header.Set("PRIVATE-TOKEN", e.root)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
				req.Header.Set("X-Forwarded-Proto", tt.proto)
				req.Header.Set("X-Forwarded-Host", tt.host)
			}
			res := e.send(req)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if link := res.header.Get("Link"); !strings.HasPrefix(link, "<"+tt.wantBase+"/api/v4/personal_access_tokens?") {
				t.Fatalf("Link = %q, want base %s", link, tt.wantBase)
			}
			if err := e.auth.FlushUsage(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := e.do("GET", "/api/v4/personal_access_tokens/self", e.root, "", nil).json(t)
			if ips := fmt.Sprint(got["last_used_ips"]); !strings.HasPrefix(ips, "["+tt.wantIP) {
				t.Fatalf("last_used_ips = %s, want %s first", ips, tt.wantIP)
			}
		})
	}
}

// TestNotFoundEverywhere checks unknown ids on every kind of route, and
// that resources the caller may not see read as missing (404, not 403).
func TestNotFoundEverywhere(t *testing.T) {
	f := newFixture(t)
	gid, pid := f.group.ID, f.project.ID
	sa := must[*gitlab.GroupServiceAccount](t)(f.alice.Groups.CreateServiceAccount(gid, &gitlab.CreateServiceAccountOptions{Name: gitlab.Ptr("sa")}))
	tests := []struct {
		method, path, token, want string
	}{
		{"GET", "/api/v4/groups/99999", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"PUT", "/api/v4/groups/99999", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"DELETE", "/api/v4/groups/99999", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/99999/subgroups", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/99999/projects", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/99999/members", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/99999/access_tokens", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/99999/service_accounts", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"GET", "/api/v4/groups/no%2Fsuch", f.aliceTok, `{"message":"404 Group Not Found"}`},
		{"PUT", "/api/v4/projects/99999", f.aliceTok, `{"message":"404 Project Not Found"}`},
		{"DELETE", "/api/v4/projects/99999", f.aliceTok, `{"message":"404 Project Not Found"}`},
		{"GET", "/api/v4/projects/99999/members/1", f.aliceTok, `{"message":"404 Project Not Found"}`},
		{"GET", fmt.Sprintf("/api/v4/projects/%d/members/99999", pid), f.aliceTok, `{"message":"404 Member Not Found"}`},
		{"PUT", fmt.Sprintf("/api/v4/projects/%d/members/99999", pid), f.aliceTok, `{"message":"404 Member Not Found"}`},
		{"DELETE", fmt.Sprintf("/api/v4/projects/%d/members/99999", pid), f.aliceTok, `{"message":"404 Member Not Found"}`},
		{"POST", fmt.Sprintf("/api/v4/projects/%d/access_tokens/99999/rotate", pid), f.root, `{"message":"404 project Access Token Not Found"}`},
		{"DELETE", fmt.Sprintf("/api/v4/groups/%d/access_tokens/99999", gid), f.aliceTok, `{"message":"404 group Access Token Not Found"}`},
		{"PATCH", fmt.Sprintf("/api/v4/groups/%d/service_accounts/99999", gid), f.aliceTok, `{"message":"404 User Not Found"}`},
		{"GET", fmt.Sprintf("/api/v4/groups/%d/service_accounts/%d/personal_access_tokens", gid+1, sa.ID), f.aliceTok, `{"message":"404 User Not Found"}`},
		{"DELETE", fmt.Sprintf("/api/v4/groups/%d/service_accounts/%d/personal_access_tokens/99999", gid, sa.ID), f.aliceTok, `{"message":"404 Token Not Found"}`},
		{"POST", fmt.Sprintf("/api/v4/groups/%d/service_accounts/%d/personal_access_tokens/99999/rotate", gid, sa.ID), f.aliceTok, `{"message":"404 Token Not Found"}`},
		{"GET", "/api/v4/users/99999", f.aliceTok, `{"message":"404 User Not Found"}`},
		{"POST", "/api/v4/users/99999/personal_access_tokens", f.root, `{"message":"404 User Not Found"}`},
		{"DELETE", "/api/v4/personal_access_tokens/99999", f.root, `{"message":"404 Not found"}`},
		{"POST", "/api/v4/personal_access_tokens/99999/rotate", f.root, `{"message":"404 Token Not Found"}`},
		{"PATCH", "/api/v4/service_accounts/99999", f.root, `{"message":"404 User Not Found"}`},
		{"GET", "/api/botgate/v1/tokens/99999", f.aliceTok, `{"message":"404 Token Not Found"}`},
		// bob belongs to the project only: alice's private group is hidden.
		{"GET", fmt.Sprintf("/api/v4/groups/%d", gid), f.bobTok, `{"message":"404 Group Not Found"}`},
		{"GET", fmt.Sprintf("/api/v4/groups/%d/members", gid), f.bobTok, `{"message":"404 Group Not Found"}`},
		{"POST", fmt.Sprintf("/api/v4/groups/%d/access_tokens", gid), f.bobTok, `{"message":"404 Group Not Found"}`},
		{"GET", fmt.Sprintf("/api/v4/groups/%d/service_accounts", gid), f.bobTok, `{"message":"404 Group Not Found"}`},
		{"PATCH", fmt.Sprintf("/api/v4/groups/%d/service_accounts/%d", gid, sa.ID), f.bobTok, `{"message":"404 Group Not Found"}`},
		{"GET", fmt.Sprintf("/api/botgate/v1/tokens/%d", 1), f.bobTok, `{"message":"404 Token Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := f.postJSON(tt.method, tt.path, tt.token, map[string]any{"name": "x", "scopes": []string{"api"}, "description": "x", "access_level": 30})
			if res.status != http.StatusNotFound || strings.TrimSpace(string(res.body)) != tt.want {
				t.Fatalf("%d %s, want 404 %s", res.status, res.body, tt.want)
			}
		})
	}
	t.Run("project in a hidden namespace", func(t *testing.T) {
		res := f.postJSON("POST", "/api/v4/projects", f.bobTok, map[string]any{"name": "sneaky", "namespace_id": gid})
		if res.status != http.StatusNotFound || strings.TrimSpace(string(res.body)) != `{"message":"404 Namespace Not Found"}` {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
}

// TestAuthErrorBodies checks GitLab's exact bodies for scope, revocation
// and expiry failures.
func TestAuthErrorBodies(t *testing.T) {
	f := newFixture(t)
	today := f.clock.Now().UTC().Truncate(24 * time.Hour)
	mk := func(name string, scopes ...string) *gitlab.PersonalAccessToken {
		tok := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(f.aliceID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr(name), Scopes: &scopes, ExpiresAt: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 1))),
		}))
		f.remember(tok.Token)
		return tok
	}
	reader, profile, revoked, expiring := mk("reader", "read_api"), mk("profile", "read_user"), mk("revoked", "api"), mk("expiring", "api")
	if _, err := f.alice.PersonalAccessTokens.RevokePersonalAccessTokenByID(revoked.ID); err != nil {
		t.Fatal(err)
	}
	const scopeDesc = `"error_description":"The request requires higher privileges than provided by the access token."`
	tests := []struct {
		name, method, path, token string
		status                    int
		want                      string
	}{
		{"read_api writes", "POST", "/api/v4/groups", reader.Token, 403, `{"error":"insufficient_scope",` + scopeDesc + `,"scope":"api"}`},
		{"read_user reads a project", "GET", fmt.Sprintf("/api/v4/projects/%d", f.project.ID), profile.Token, 403, `{"error":"insufficient_scope",` + scopeDesc + `,"scope":"api read_api"}`},
		{"read_api rotates itself", "POST", "/api/v4/personal_access_tokens/self/rotate", reader.Token, 403, `{"error":"insufficient_scope",` + scopeDesc + `,"scope":"api self_rotate"}`},
		{"revoked", "GET", "/api/v4/user", revoked.Token, 401, `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(tt.method, tt.path, tt.token, "", nil)
			if res.status != tt.status || strings.TrimSpace(string(res.body)) != tt.want {
				t.Fatalf("%d %s\nwant %d %s", res.status, res.body, tt.status, tt.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		f.clock.Advance(24 * time.Hour)
		res := f.do("GET", "/api/v4/user", expiring.Token, "", nil)
		want := `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
		if res.status != 401 || strings.TrimSpace(string(res.body)) != want {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
}

// TestCanonicalPaths checks that the API routes on the same canonical
// path the gateway decides on: an escaped route word reaches its route, a
// path with no canonical form is refused with 400 and the reason, and a
// pagination link never carries a token, whatever spelling it came in.
func TestCanonicalPaths(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, path string
		status     int
		says       string
	}{
		{"EscapedWord", "/api/v4/%75ser", 200, ""},
		{"UpperHexProjectsWord", "/api/v4/%70rojects", 200, ""},
		{"DoubledSlash", "/api/v4//user", 200, ""},
		{"TrailingSlash", "/api/v4/user/", 200, ""},
		{"EncodedSlashInWord", "/api/v4/personal_access_tokens%2Fself", 400, "encoded slash"},
		{"DoubleEncoded", "/api/v4/%2575ser", 400, "double-encoded"},
		{"PathParameter", "/api/v4/user;x=1", 400, "';'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("PRIVATE-TOKEN", e.root)
			res := e.send(req)
			if res.status != tc.status || !strings.Contains(string(res.body), tc.says) {
				t.Fatalf("GET %s: %d %s, want %d saying %q", tc.path, res.status, res.body, tc.status, tc.says)
			}
		})
	}
	t.Run("LinkWithoutToken", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v4/personal_access_tokens?per_page=1&private_token[]="+url.QueryEscape(e.root), nil)
		res := e.send(req)
		if res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if link := res.header.Get("Link"); link == "" || strings.Contains(link, "private_token") || strings.Contains(link, url.QueryEscape(e.root)) {
			t.Fatalf("Link = %q: want links without the token", link)
		}
	})
}
