package gateway

import (
	"strings"
	"testing"
)

func TestAutomationRouteMatches(t *testing.T) {
	tests := []struct {
		name   string
		route  string
		method string
		path   string // split on "/" after the leading one, as the gateway's segments are
		want   bool
	}{
		{"Exact", "GET /api/v4/projects/*/pipelines", "GET", "/api/v4/projects/infra%2Fdeploy/pipelines", true},
		{"MethodCaseInsensitive", "get /api/v4/projects/*/pipelines", "GET", "/api/v4/projects/7/pipelines", true},
		{"AnyMethod", "* /api/v4/projects/*", "DELETE", "/api/v4/projects/7", true},
		{"OtherMethod", "GET /api/v4/projects/*", "POST", "/api/v4/projects/7", false},
		{"StarNeedsASegment", "GET /api/v4/projects/*", "GET", "/api/v4/projects/", false},
		{"Longer", "GET /api/v4/projects/*", "GET", "/api/v4/projects/7/issues", false},
		{"Shorter", "GET /api/v4/projects/*/issues", "GET", "/api/v4/projects/7", false},
		{"TrailingSlashIsASegment", "GET /api/v4/projects/", "GET", "/api/v4/projects/", true},
		{"TrailingSlashDiffers", "GET /api/v4/projects/", "GET", "/api/v4/projects", false},
		{"OtherLiteral", "GET /api/v4/groups/*", "GET", "/api/v4/projects/7", false},
		{"Spaces", "  GET   /api/v4/user  ", "GET", "/api/v4/user", true},
		{"NoMethod", "/api/v4/user", "GET", "/api/v4/user", false},
		{"RelativePattern", "GET api/v4/user", "GET", "/api/v4/user", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := strings.Split(tt.path[1:], "/")
			if got := automationRouteMatches(tt.route, tt.method, segs); got != tt.want {
				t.Errorf("automationRouteMatches(%q, %s, %q) = %v, want %v", tt.route, tt.method, tt.path, got, tt.want)
			}
		})
	}
	t.Run("NoAllocations", func(t *testing.T) {
		segs := strings.Split("api/v4/projects/7/pipelines", "/")
		if n := testing.AllocsPerRun(100, func() { automationRouteMatches("GET /api/v4/projects/*/pipelines", "GET", segs) }); n != 0 {
			t.Errorf("%v allocations per match, want 0", n)
		}
	})
}
