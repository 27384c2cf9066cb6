package gateway

import (
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ name, path, want string }{
		{"Root", "/", "/"},
		{"ProjectID", "/api/v4/projects/42/merge_requests", "/api/v4/projects/:id/merge_requests"},
		{"ProjectPath", "/api/v4/projects/team%2Fapp/issues/7/notes", "/api/v4/projects/:id/issues/:id/notes"},
		{"GroupAndUser", "/api/v4/groups/platform/members/9", "/api/v4/groups/:id/members/:id"},
		{"Commit", "/api/v4/projects/1/repository/commits/0123abcd", "/api/v4/projects/:id/repository/commits/:sha"},
		{"BranchName", "/api/v4/projects/1/repository/branches/feature-login", "/api/v4/projects/:id/repository/branches/:param"},
		{"FilePath", "/api/v4/projects/1/repository/files/lib%2Fmain.go/raw", "/api/v4/projects/:id/repository/files/:param/raw"},
		{"RandomWords", "/api/v4/Xy7Qz/aB3", "/api/v4/:param/:param"},
		{"DashSeparator", "/team/app/-/jobs/5", "/team/app/-/jobs/:id"},
		{"TrailingSlash", "/api/v4/projects/", "/api/v4/projects"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := edge.CanonicalPath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			segs := p.Segs
			if got := normalize(segs); got != tc.want {
				t.Errorf("normalize(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	rt, err := compileRoute(RouteConfig{Name: "r", Rules: []RuleConfig{
		{Method: "POST", Path: "/api/v4/projects/:id/statuses/:sha", Scopes: []string{"read_api"}},
		{Path: "/api/v4/admin/*", Deny: true},
		{Method: "*", Path: "/api/v4/projects/:id/jobs/*", Scopes: []string{"read_api", "api"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		deny               bool
		scopes             string
		pattern            string
	}{
		{"RuleOverridesWrite", "POST", "/api/v4/projects/1/statuses/abc", false, "read_api", "/api/v4/projects/:id/statuses/:sha"},
		{"RuleMethodMismatch", "PUT", "/api/v4/projects/1/statuses/abc", false, "api", ""},
		{"DenyEverything", "GET", "/api/v4/admin/ci/variables", true, "", "/api/v4/admin/*"},
		{"DenyPrefixItself", "GET", "/api/v4/admin", true, "", "/api/v4/admin/*"},
		{"WildcardRest", "DELETE", "/api/v4/projects/1/jobs/2/artifacts", false, "read_api api", "/api/v4/projects/:id/jobs/*"},
		{"EmptyParamDoesNotMatch", "POST", "/api/v4/projects//statuses/abc", false, "api", ""},
		{"DefaultRead", "HEAD", "/api/v4/version", false, "read_api api", ""},
		{"DefaultWrite", "PATCH", "/api/v4/version", false, "api", ""},
		{"DenyAnyCase", "GET", "/API/V4/Admin/ci", true, "", "/api/v4/admin/*"},
		{"RuleAnyCase", "POST", "/api/v4/PROJECTS/1/Statuses/abc", false, "read_api", "/api/v4/projects/:id/statuses/:sha"},
		{"DenyEscapedWord", "GET", "/api/v4/%61dmin/ci", true, "", "/api/v4/admin/*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := edge.CanonicalPath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			p := rt.policyFor(tc.method, cp.Segs)
			if p.deny != tc.deny || p.scopes.String() != tc.scopes || p.pattern != tc.pattern {
				t.Errorf("policy %+v, want deny=%v scopes=%q pattern=%q", p, tc.deny, tc.scopes, tc.pattern)
			}
		})
	}
	for _, bad := range []RuleConfig{
		{Path: "no-slash", Scopes: []string{"api"}},
		{Path: "/a/*/b", Scopes: []string{"api"}},
		{Path: "/a", Scopes: []string{"apix"}},
		{Path: "/a"},
		{Path: "/a", Deny: true, Scopes: []string{"api"}},
	} {
		if _, err := compileRule(bad); !botgate.IsKind(err, botgate.KindInvalid) {
			t.Errorf("compileRule(%+v) = %v, want KindInvalid", bad, err)
		}
	}
}

// TestConfigURLs checks the gateway's upstream and webhook URLs against
// botgate.ParseHTTPURL, and that a refused URL is never echoed: it may
// hold a token.
func TestConfigURLs(t *testing.T) {
	const secret = "glpat-SECRET"
	tests := []struct {
		name  string
		cfg   FileConfig
		field string // "" if valid
	}{
		{"upstream", FileConfig{Routes: []RouteConfig{{Name: "r", Upstream: "https://gitlab.example.com"}}}, ""},
		{"upstream with credentials", FileConfig{Routes: []RouteConfig{{Name: "r", Upstream: "https://bot:" + secret + "@gitlab.example.com"}}}, "upstream"},
		{"upstream without scheme", FileConfig{Routes: []RouteConfig{{Name: "r", Upstream: "gitlab.example.com/" + secret}}}, "upstream"},
		{"webhook", FileConfig{Webhooks: map[string]string{"platform": "https://hooks.example.com/x"}}, ""},
		{"webhook with credentials", FileConfig{Webhooks: map[string]string{"platform": "https://" + secret + "@hooks.example.com"}}, "webhooks"},
		{"webhook without host", FileConfig{Webhooks: map[string]string{"platform": "https:///" + secret}}, "webhooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.compile()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || botgate.FieldOf(err) != tt.field {
				t.Fatalf("compile = %v (field %q), want invalid %s", err, botgate.FieldOf(err), tt.field)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error echoes the URL: %v", err)
			}
		})
	}
}
