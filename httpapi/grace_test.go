package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/httpapi"
)

// graceFixture is the fixture with the rotation grace window set (0 for
// the default) and the gateway's forward-auth mounted in front of a
// stand-in GitLab, as serve mounts it, and a project access token rotated
// by its Maintainer.
type graceFixture struct {
	*fixture
	old, new *gitlab.ProjectAccessToken
}

func newGraceFixture(t *testing.T, grace time.Duration) *graceFixture {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(upstream.Close)
	e := newEnvAuthority(t, func(c *authority.Config) { c.RotationGrace = grace }, nil,
		func(cfg *httpapi.Config, e *env, log *slog.Logger) func() error {
			gwCfg, err := gateway.ParseConfig([]byte("routes:\n  - {name: gitlab, upstream: " + upstream.URL + ", gitlab: true, credential: 'env:UPSTREAM_TOKEN'}\n"))
			if err != nil {
				t.Fatal(err)
			}
			gw, err := gateway.New(gateway.Options{Authority: cfg.Authority, Store: cfg.Store, Config: gwCfg, Clock: cfg.Clock, Logger: log,
				Getenv: func(k string) string { return map[string]string{"UPSTREAM_TOKEN": "upstream-credential"}[k] }})
			if err != nil {
				t.Fatal(err)
			}
			cfg.ForwardAuth = gw.ForwardAuth()
			return gw.Close
		})
	f := newFixtureOn(t, e)
	old := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("deployer"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions),
	}))
	f.remember(old.Token)
	f.clock.Advance(time.Hour)
	rotated := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.RotateProjectAccessToken(f.project.ID, old.ID, nil))
	f.remember(rotated.Token)
	return &graceFixture{fixture: f, old: old, new: rotated}
}

// api answers GET /projects/:id with the token, as a job would call it.
func (g *graceFixture) api(t *testing.T, token string) int {
	t.Helper()
	_, resp, err := g.client(token).Projects.GetProject(g.project.ID, nil)
	if err != nil && resp == nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

// gateway asks the gateway's forward-auth, as nginx does, whether the token
// may GET the project's issues; it returns the status and the token ID the
// gateway names.
func (g *graceFixture) gateway(t *testing.T, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.srv.URL+"/-/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Original-Method", "GET")
	req.Header.Set("X-Original-URI", fmt.Sprintf("/api/v4/projects/%d/issues", g.project.ID))
	req.Header.Set("PRIVATE-TOKEN", token)
	r := g.send(req)
	return r.status, r.header.Get("X-Botgate-Token-Id")
}

func TestRotationGraceOnAPIAndGateway(t *testing.T) {
	g := newGraceFixture(t, 15*time.Minute)
	g.clock.Advance(14 * time.Minute)
	t.Run("within the window the old token works on the API", func(t *testing.T) {
		if s := g.api(t, g.old.Token); s != http.StatusOK {
			t.Fatalf("HTTP %d, want 200", s)
		}
	})
	t.Run("and through the gateway, as itself", func(t *testing.T) {
		s, id := g.gateway(t, g.old.Token)
		if s != http.StatusOK || id != strconv.FormatInt(int64(g.old.ID), 10) {
			t.Fatalf("HTTP %d token %q, want 200 and token %d", s, id, g.old.ID)
		}
	})
	t.Run("after the window it is refused on both", func(t *testing.T) {
		g.clock.Advance(time.Minute)
		if s := g.api(t, g.old.Token); s != http.StatusUnauthorized {
			t.Errorf("API: HTTP %d, want 401", s)
		}
		if s, _ := g.gateway(t, g.old.Token); s != http.StatusUnauthorized {
			t.Errorf("gateway: HTTP %d, want 401", s)
		}
		if s := g.api(t, g.new.Token); s != http.StatusOK {
			t.Errorf("the new token: HTTP %d, want 200", s)
		}
	})
}

func TestRotationGraceRotateWithOldTokenRevokesFamily(t *testing.T) {
	g := newGraceFixture(t, time.Hour)
	if s := g.api(t, g.old.Token); s != http.StatusOK {
		t.Fatalf("within the window: HTTP %d, want 200", s)
	}
	_, resp, err := g.client(g.old.Token).ProjectAccessTokens.RotateProjectAccessTokenSelf(g.project.ID, nil)
	wantStatus(t, "self rotate with the rotated-out token", resp, err, http.StatusUnauthorized)
	for name, tok := range map[string]string{"the new token": g.new.Token, "the old token": g.old.Token} {
		if s := g.api(t, tok); s != http.StatusUnauthorized {
			t.Errorf("%s after the family revocation: HTTP %d, want 401", name, s)
		}
		if s, _ := g.gateway(t, tok); s != http.StatusUnauthorized {
			t.Errorf("%s through the gateway after the family revocation: HTTP %d, want 401", name, s)
		}
	}
}

func TestRotationGraceDefaultOff(t *testing.T) {
	g := newGraceFixture(t, 0)
	if s := g.api(t, g.old.Token); s != http.StatusUnauthorized {
		t.Errorf("API: HTTP %d, want 401 at once", s)
	}
	if s, _ := g.gateway(t, g.old.Token); s != http.StatusUnauthorized {
		t.Errorf("gateway: HTTP %d, want 401 at once", s)
	}
}

func TestRotationGraceEndsWhenTheOldIDIsDeleted(t *testing.T) {
	g := newGraceFixture(t, time.Hour)
	if s := g.api(t, g.old.Token); s != http.StatusOK {
		t.Fatalf("within the window: HTTP %d, want 200", s)
	}
	// "Rotate, then delete the old id": the deletion closes the window.
	resp, err := g.alice.ProjectAccessTokens.RevokeProjectAccessToken(g.project.ID, g.old.ID)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE the old id within the window: %v %v, want 204", resp, err)
	}
	if s := g.api(t, g.old.Token); s != http.StatusUnauthorized {
		t.Errorf("API after the deletion: HTTP %d, want 401", s)
	}
	if s, _ := g.gateway(t, g.old.Token); s != http.StatusUnauthorized {
		t.Errorf("gateway after the deletion: HTTP %d, want 401", s)
	}
	if s := g.api(t, g.new.Token); s != http.StatusOK {
		t.Errorf("the new token: HTTP %d, want 200", s)
	}
}
