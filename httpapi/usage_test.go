package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

func TestTokenUsage(t *testing.T) {
	f := newFixture(t)
	tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("poller"), Scopes: &[]string{"api"},
	}))
	f.remember(tok.Token)
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v4/version", nil)
	req.Header.Set("PRIVATE-TOKEN", tok.Token)
	req.Header.Set("User-Agent", "poller/2.0")
	f.send(req)
	if err := f.auth.FlushUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := f.clock.Now()
	err := f.store.Update(t.Context(), func(tx botgate.Tx) error {
		return tx.RecordRouteUsage(t.Context(), []botgate.RouteUsage{
			{TokenID: tok.ID, Method: "GET", Route: "/api/v4/projects/:id/pipelines", Scope: botgate.ScopeReadAPI, Count: 40, FirstSeen: at, LastSeen: at.Add(time.Minute)},
			{TokenID: tok.ID, Method: "GET", Route: "/api/v4/projects/:id/jobs", Scope: botgate.ScopeReadAPI, Count: 2, FirstSeen: at, LastSeen: at},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token string
		want        int
	}{
		{"Owner", f.aliceTok, http.StatusOK},
		{"Admin", f.root, http.StatusOK},
		{"DeveloperCannotSee", f.bobTok, http.StatusNotFound},
		{"NoToken", "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do("GET", fmt.Sprintf("/api/botgate/v1/tokens/%d/usage", tok.ID), tc.token, "", nil)
			if res.status != tc.want {
				t.Fatalf("status %d, want %d: %s", res.status, tc.want, res.body)
			}
			if tc.want != http.StatusOK {
				return
			}
			j := res.json(t)
			routes, _ := j["routes"].([]any)
			if len(routes) != 2 || j["calls"] != float64(42) || fmt.Sprint(j["scopes_used"]) != "[read_api]" ||
				fmt.Sprint(j["scopes"]) != "[api]" || fmt.Sprint(j["user_agents"]) != "[poller/2.0]" ||
				fmt.Sprint(j["last_used_ips"]) != "[127.0.0.1]" {
				t.Fatalf("usage = %s", res.body)
			}
			first, _ := routes[0].(map[string]any)
			if first["route"] != "/api/v4/projects/:id/pipelines" || first["count"] != float64(40) || first["scope"] != "read_api" {
				t.Errorf("first route = %v, want the most recently seen", first)
			}
			if strings.Contains(string(res.body), tok.Token) {
				t.Error("the usage shows the secret")
			}
		})
	}
	t.Run("UnknownToken", func(t *testing.T) {
		if res := f.do("GET", "/api/botgate/v1/tokens/99999/usage", f.root, "", nil); res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
	})
}
