package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// TestRoleMatrix checks every role against the project write endpoints:
// Guest, Reporter, Developer, Maintainer, Owner (direct and inherited from
// the group), an administrator, the project's own bot, a service account of
// the group that is no member of the project, and an outsider.
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t)
	pid := f.project.ID

	type role struct {
		name  string
		token string
	}
	member := func(name string, level gitlab.AccessLevelValue) role {
		u := must[*gitlab.User](t)(f.admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Username: gitlab.Ptr(name), Name: gitlab.Ptr(name), Email: gitlab.Ptr(name + "@example.com"),
		}))
		if level != 0 {
			must[*gitlab.ProjectMember](t)(f.alice.ProjectMembers.AddProjectMember(pid, &gitlab.AddProjectMemberOptions{UserID: u.ID, AccessLevel: gitlab.Ptr(level)}))
		}
		tok := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr(name), Scopes: &[]string{"api"},
		}))
		f.remember(tok.Token)
		return role{name, tok.Token}
	}
	bot := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("project-bot"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions),
	}))
	f.remember(bot.Token)
	sa := must[*gitlab.GroupServiceAccount](t)(f.alice.Groups.CreateServiceAccount(f.group.ID, &gitlab.CreateServiceAccountOptions{Name: gitlab.Ptr("team-sa")}))
	saTok := must[*gitlab.PersonalAccessToken](t)(f.alice.Groups.CreateServiceAccountPersonalAccessToken(f.group.ID, sa.ID,
		&gitlab.CreateServiceAccountPersonalAccessTokenOptions{Name: gitlab.Ptr("team-sa"), Scopes: &[]string{"api"}}))
	f.remember(saTok.Token)

	roles := []role{
		member("guest", gitlab.GuestPermissions),
		member("reporter", gitlab.ReporterPermissions),
		{"developer", f.bobTok},
		{"maintainer", f.carolTok},
		member("owner", gitlab.OwnerPermissions),
		{"group owner", f.aliceTok},
		{"admin", f.root},
		{"project bot", bot.Token},
		{"service account", saTok.Token},
		member("outsider", 0),
	}
	// Users to add as members, one per role, so that successes do not clash.
	targets := map[string]int64{}
	for _, r := range roles {
		u := must[*gitlab.User](t)(f.admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Username: gitlab.Ptr("target-" + strings.ReplaceAll(r.name, " ", "-")), Name: gitlab.Ptr("t"),
			Email: gitlab.Ptr("target-" + strings.ReplaceAll(r.name, " ", "-") + "@example.com"),
		}))
		targets[r.name] = u.ID
	}

	const (
		ok201, ok200 = 201, 200
		badRequest   = 400 // GitLab's answer to a member without the role to create a resource token
		forbidden    = 403
		hidden       = 404
		unauth       = 401
	)
	endpoints := []struct {
		name   string
		call   func(r role) response
		expect map[string]int // by role; anything not listed: default
		deflt  int
	}{
		{
			name: "create project access token",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/projects/%d/access_tokens", pid), r.token,
					map[string]any{"name": "by-" + r.name, "scopes": []string{"read_api"}, "access_level": 10})
			},
			expect: map[string]int{"guest": badRequest, "reporter": badRequest, "developer": badRequest, "project bot": badRequest,
				"service account": hidden, "outsider": hidden},
			deflt: ok201,
		},
		{
			name: "list project access tokens",
			call: func(r role) response {
				return f.do("GET", fmt.Sprintf("/api/v4/projects/%d/access_tokens", pid), r.token, "", nil)
			},
			expect: map[string]int{"guest": unauth, "reporter": unauth, "developer": unauth, "service account": hidden, "outsider": hidden},
			deflt:  ok200,
		},
		{
			name: "add a project member",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), r.token,
					map[string]any{"user_id": targets[r.name], "access_level": 10})
			},
			expect: map[string]int{"guest": forbidden, "reporter": forbidden, "developer": forbidden, "service account": hidden, "outsider": hidden},
			deflt:  ok201,
		},
		{
			name: "edit the project",
			call: func(r role) response {
				return f.postJSON("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), r.token, map[string]any{"description": "edited by " + r.name})
			},
			expect: map[string]int{"guest": forbidden, "reporter": forbidden, "developer": forbidden, "service account": hidden, "outsider": hidden},
			deflt:  ok200,
		},
		{
			name: "create a project service account",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/projects/%d/service_accounts", pid), r.token, map[string]any{"name": "sa-" + r.name})
			},
			expect: map[string]int{"guest": forbidden, "reporter": forbidden, "developer": forbidden, "project bot": forbidden,
				"service account": hidden, "outsider": hidden},
			deflt: ok201,
		},
		{
			name: "create a group service account",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/groups/%d/service_accounts", f.group.ID), r.token, map[string]any{"name": "gsa-" + r.name})
			},
			// Only the group's Owners (and administrators) manage its service accounts.
			expect: map[string]int{"group owner": ok201, "admin": ok201},
			deflt:  hidden,
		},
	}
	// A fresh project access token (made by alice) for each role to act on.
	freshToken := func(r role) int64 {
		tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("victim-of-" + r.name), Scopes: &[]string{"read_api"},
		}))
		f.remember(tok.Token)
		return tok.ID
	}
	endpoints = append(endpoints, []struct {
		name   string
		call   func(r role) response
		expect map[string]int
		deflt  int
	}{
		{
			name: "rotate a project access token",
			call: func(r role) response {
				return f.do("POST", fmt.Sprintf("/api/v4/projects/%d/access_tokens/%d/rotate", pid, freshToken(r)), r.token, "", nil)
			},
			// Lower roles get GitLab's 401; a bot may rotate only itself.
			expect: map[string]int{"guest": unauth, "reporter": unauth, "developer": unauth, "project bot": forbidden,
				"service account": hidden, "outsider": hidden},
			deflt: ok200,
		},
		{
			name: "revoke a project access token",
			call: func(r role) response {
				return f.do("DELETE", fmt.Sprintf("/api/v4/projects/%d/access_tokens/%d", pid, freshToken(r)), r.token, "", nil)
			},
			expect: map[string]int{"guest": hidden, "reporter": hidden, "developer": hidden, "service account": hidden, "outsider": hidden},
			deflt:  204,
		},
		{
			name: "change a member's role",
			call: func(r role) response {
				return f.postJSON("PUT", fmt.Sprintf("/api/v4/projects/%d/members/%d", pid, f.bobID), r.token, map[string]any{"access_level": 30})
			},
			expect: map[string]int{"guest": forbidden, "reporter": forbidden, "developer": forbidden, "service account": hidden, "outsider": hidden},
			deflt:  ok200,
		},
		{
			name: "create a group access token",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/groups/%d/access_tokens", f.group.ID), r.token,
					map[string]any{"name": "g-" + r.name, "scopes": []string{"read_api"}, "access_level": 10})
			},
			expect: map[string]int{"group owner": ok201, "admin": ok201},
			deflt:  hidden,
		},
		{
			name: "add a group member",
			call: func(r role) response {
				return f.postJSON("POST", fmt.Sprintf("/api/v4/groups/%d/members", f.group.ID), r.token,
					map[string]any{"user_id": targets[r.name], "access_level": 10})
			},
			expect: map[string]int{"group owner": ok201, "admin": ok201},
			deflt:  hidden,
		},
		{
			name: "create a project in the group",
			call: func(r role) response {
				return f.postJSON("POST", "/api/v4/projects", r.token,
					map[string]any{"name": "p-" + strings.ReplaceAll(r.name, " ", "-"), "namespace_id": f.subgroup.ID})
			},
			expect: map[string]int{"group owner": ok201, "admin": ok201},
			deflt:  hidden,
		},
	}...)
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			for _, r := range roles {
				t.Run(r.name, func(t *testing.T) {
					want, ok := ep.expect[r.name]
					if !ok {
						want = ep.deflt
					}
					res := ep.call(r)
					if res.status == http.StatusCreated {
						if tok, ok := res.json(t)["token"].(string); ok {
							f.remember(tok)
						}
					}
					if res.status != want {
						t.Fatalf("%s: HTTP %d %s, want %d", r.name, res.status, res.body, want)
					}
				})
			}
		})
	}
}
