package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOverlongParams: a filter parameter longer than botgate accepts is
// refused with 400 and GitLab's shape naming it, never a 500 from the
// store, whether it comes in the query or the body.
func TestOverlongParams(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 50001)
	tests := []struct {
		name, method, path, param string
		body                      bool
	}{
		{"UsersSearch", "GET", "/api/v4/users", "search", false},
		{"GroupsSearch", "GET", "/api/v4/groups", "search", false},
		{"ProjectsSearch", "GET", "/api/v4/projects", "search", false},
		{"TokensSearch", "GET", "/api/v4/personal_access_tokens", "search", false},
		{"UsersUsername", "GET", "/api/v4/users", "username", false},
		{"TokensSort", "GET", "/api/v4/personal_access_tokens", "sort", false},
		{"AuditAction", "GET", "/api/botgate/v1/audit/events", "action", false},
		{"SearchInBody", "GET", "/api/v4/users", "search", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{tt.param: {long}}
			var res response
			if tt.body {
				res = e.form(tt.method, tt.path, e.root, v)
			} else {
				res = e.do(tt.method, tt.path+"?"+v.Encode(), e.root, "", nil)
			}
			if res.status != http.StatusBadRequest {
				t.Fatalf("%s %s with a %d-character %s: %d %.200s, want 400", tt.method, tt.path, len(long), tt.param, res.status, res.body)
			}
			var m map[string]string
			if err := json.Unmarshal(res.body, &m); err != nil {
				t.Fatalf("body %.200s: %v", res.body, err)
			}
			if got := m["message"]; !strings.Contains(got, tt.param+" is too long (maximum is ") {
				t.Errorf("message %q, want it to name %s and its maximum", got, tt.param)
			}
		})
	}
	t.Run("AtTheLimit", func(t *testing.T) {
		res := e.do("GET", "/api/v4/users?search="+strings.Repeat("a", 255), e.root, "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("a 255-character search: %d %s, want 200", res.status, res.body)
		}
	})
}
