package gateway

import (
	"testing"

	"github.com/botgate/botgate"
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
		{"TrailingSlash", "/api/v4/projects/", "/api/v4/projects/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := splitPath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := normalize(segs); got != tc.want {
				t.Errorf("normalize(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestSplitPathRefuses(t *testing.T) {
	cases := []struct{ name, path string }{
		{"Relative", "api/v4"},
		{"DotDot", "/a/../b"},
		{"Dot", "/a/./b"},
		{"EncodedDotDot", "/a/%2e%2E/b"},
		{"EncodedSlashDotDot", "/a/x%2F..%2Fy"},
		{"DoubleEncoded", "/a/%252e%252e/b"},
		{"Backslash", "/a\\b"},
		{"EncodedNUL", "/a/%00"},
		{"BadEscape", "/a/%zz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := splitPath(tc.path); !botgate.IsKind(err, botgate.KindInvalid) {
				t.Errorf("splitPath(%q) = %v, want KindInvalid", tc.path, err)
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := splitPath(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			p := rt.policyFor(tc.method, segs)
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

func TestQueryTokens(t *testing.T) {
	cases := []struct {
		name, raw, stripped string
		has                 bool
	}{
		{"None", "a=1&b=2", "a=1&b=2", false},
		{"Empty", "", "", false},
		{"Private", "a=1&private_token=x&b=2", "a=1&b=2", true},
		{"Access", "access_token=x", "", true},
		{"Job", "job_token=x&b=2", "b=2", true},
		{"Escaped", "private%5Ftoken=x&b=2", "b=2", true},
		{"UpperCase", "PRIVATE_TOKEN=x", "", true},
		{"Lookalike", "my_private_token=x&tokens=2", "my_private_token=x&tokens=2", false},
		{"Semicolon", "a=1;access_token=x", "a=1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasQueryToken(tc.raw); got != tc.has {
				t.Errorf("hasQueryToken = %v, want %v", got, tc.has)
			}
			if got := stripQueryTokens(tc.raw); got != tc.stripped {
				t.Errorf("stripQueryTokens = %q, want %q", got, tc.stripped)
			}
		})
	}
}
