package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// These tests drive the server with the real GitLab Go client.

func TestClientGoUsersGroupsProjects(t *testing.T) {
	f := newFixture(t)

	t.Run("current user", func(t *testing.T) {
		me := must[*gitlab.User](t)(f.alice.Users.CurrentUser())
		if me.Username != "alice" || me.ID != f.aliceID || me.Bot || me.IsAdmin {
			t.Fatalf("CurrentUser = %+v", me)
		}
		root := must[*gitlab.User](t)(f.admin.Users.CurrentUser())
		if !root.IsAdmin || root.Username != "root" {
			t.Fatalf("admin CurrentUser = %+v", root)
		}
	})
	t.Run("version", func(t *testing.T) {
		v := must[*gitlab.Version](t)(f.alice.Version.GetVersion())
		if v.Version != "18.11.0-botgate" || v.Revision != "test" {
			t.Fatalf("version = %+v", v)
		}
	})
	t.Run("users list and get", func(t *testing.T) {
		us := must[[]*gitlab.User](t)(f.admin.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr("bob")}))
		if len(us) != 1 || us[0].ID != f.bobID || us[0].Email != "bob@example.com" {
			t.Fatalf("ListUsers(username=bob) = %+v", us)
		}
		if us := must[[]*gitlab.User](t)(f.bob.Users.ListUsers(&gitlab.ListUsersOptions{Search: gitlab.Ptr("example.com")})); len(us) != 0 {
			t.Fatalf("a non-admin searched by e-mail: %+v", us)
		}
		if us := must[[]*gitlab.User](t)(f.bob.Users.ListUsers(&gitlab.ListUsersOptions{Search: gitlab.Ptr("CAR")})); len(us) != 1 || us[0].ID != f.carolID {
			t.Fatalf("search by name: %+v", us)
		}
		if us := must[[]*gitlab.User](t)(f.admin.Users.ListUsers(&gitlab.ListUsersOptions{Search: gitlab.Ptr("example.com")})); len(us) != 3 {
			t.Fatalf("admin search by e-mail: %d users", len(us))
		}
		u := must[*gitlab.User](t)(f.bob.Users.GetUser(f.aliceID, nil))
		if u.Username != "alice" || u.Email != "" {
			t.Fatalf("bob sees alice as %+v (e-mail must be hidden)", u)
		}
		_, resp, err := f.alice.Users.GetUser(99999, nil)
		wantStatus(t, "GetUser(unknown)", resp, err, http.StatusNotFound)
		_, resp, err = f.alice.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("mallory"), Name: gitlab.Ptr("M"), Email: gitlab.Ptr("m@example.com")})
		wantStatus(t, "non-admin CreateUser", resp, err, http.StatusForbidden)
	})
	t.Run("groups", func(t *testing.T) {
		g := must[*gitlab.Group](t)(f.alice.Groups.GetGroup("platform/tools", nil))
		if g.ID != f.subgroup.ID || g.FullPath != "platform/tools" || g.FullName != "Platform / Tools" || g.ParentID != f.group.ID {
			t.Fatalf("GetGroup(platform/tools) = %+v", g)
		}
		// bob is a member of a project only; the private group is hidden.
		_, resp, err := f.bob.Groups.GetGroup(f.subgroup.ID, nil)
		wantStatus(t, "bob GetGroup", resp, err, http.StatusNotFound)
	})
}

func TestClientGoProjectAccessTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	pid := f.project.ID
	today := f.clock.Now().UTC().Truncate(24 * time.Hour)
	exp := gitlab.ISOTime(today.AddDate(0, 0, 30))

	created := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("release-notes"), Description: gitlab.Ptr("writes release notes"), Scopes: &[]string{"api"},
		AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions), ExpiresAt: &exp,
	}))
	f.remember(created.Token)
	if created.Token == "" || !strings.HasPrefix(created.Token, "glpat-") || created.AccessLevel != gitlab.MaintainerPermissions ||
		!created.Active || created.Revoked || created.Name != "release-notes" || created.Description != "writes release notes" ||
		created.ExpiresAt == nil || time.Time(*created.ExpiresAt) != time.Time(exp) || !slices.Equal(created.Scopes, []string{"api"}) {
		t.Fatalf("created = %+v", created)
	}

	bot := f.client(created.Token)
	t.Run("the bot is named after the token and a member at the token's level", func(t *testing.T) {
		me := must[*gitlab.User](t)(bot.Users.CurrentUser())
		if !me.Bot || me.Name != "release-notes" || me.ID != created.UserID || !strings.HasPrefix(me.Username, fmt.Sprintf("project_%d_bot_", pid)) {
			t.Fatalf("bot CurrentUser = %+v", me)
		}
		m := must[*gitlab.ProjectMember](t)(f.alice.ProjectMembers.GetProjectMember(pid, me.ID))
		if m.AccessLevel != gitlab.MaintainerPermissions {
			t.Fatalf("bot membership = %+v", m)
		}
		p := must[*gitlab.Project](t)(bot.Projects.GetProject(pid, nil))
		if p.PathWithNamespace != "platform/tools/release-bot" || p.Namespace == nil || p.Namespace.ID != f.subgroup.ID {
			t.Fatalf("bot GetProject = %+v", p)
		}
		// A project bot sees nothing outside its project.
		_, resp, err := bot.Groups.GetGroup(f.group.ID, nil)
		wantStatus(t, "bot GetGroup", resp, err, http.StatusNotFound)
	})
	t.Run("get and self", func(t *testing.T) {
		got := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.GetProjectAccessToken(pid, created.ID))
		if got.Token != "" || got.ID != created.ID || got.UserID != created.UserID || got.CreatedAt == nil {
			t.Fatalf("GetProjectAccessToken = %+v", got)
		}
		// The path form of the project id works too.
		got = must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.GetProjectAccessToken("platform/tools/release-bot", created.ID))
		if got.ID != created.ID {
			t.Fatalf("by path: %+v", got)
		}
		_, resp, err := f.bob.ProjectAccessTokens.GetProjectAccessToken(pid, created.ID)
		wantStatus(t, "developer GetProjectAccessToken", resp, err, http.StatusNotFound)
		_, resp, err = f.alice.ProjectAccessTokens.GetProjectAccessToken(pid, 99999)
		wantStatus(t, "GetProjectAccessToken(unknown)", resp, err, http.StatusNotFound)
		if !errors.Is(err, gitlab.ErrNotFound) {
			t.Fatalf("unknown token: %v, want gitlab.ErrNotFound", err)
		}
	})
	t.Run("listed with state", func(t *testing.T) {
		list := must[[]*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: gitlab.Ptr("active")}))
		if len(list) != 1 || list[0].ID != created.ID || list[0].Token != "" {
			t.Fatalf("active list = %+v", list)
		}
		list = must[[]*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: gitlab.Ptr("inactive")}))
		if len(list) != 0 {
			t.Fatalf("inactive list = %+v", list)
		}
		_, resp, err := f.bob.ProjectAccessTokens.ListProjectAccessTokens(pid, nil)
		wantStatus(t, "developer ListProjectAccessTokens", resp, err, http.StatusUnauthorized)
	})

	var rotated *gitlab.ProjectAccessToken
	t.Run("rotate by id: the old token is refused, the new one works", func(t *testing.T) {
		rotated = must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.RotateProjectAccessToken(pid, created.ID, nil))
		f.remember(rotated.Token)
		if rotated.ID == created.ID || rotated.Token == "" || rotated.Token == created.Token || rotated.UserID != created.UserID ||
			rotated.Name != created.Name || rotated.AccessLevel != created.AccessLevel || !rotated.Active {
			t.Fatalf("rotated = %+v", rotated)
		}
		if rotated.ExpiresAt == nil || time.Time(*rotated.ExpiresAt) != time.Time(exp) {
			t.Fatalf("rotation without expires_at keeps the lifetime (%v), got %v", time.Time(exp), rotated.ExpiresAt)
		}
		_, resp, err := bot.Users.CurrentUser()
		wantStatus(t, "old token", resp, err, http.StatusUnauthorized)
		me := must[*gitlab.User](t)(f.client(rotated.Token).Users.CurrentUser())
		if me.ID != created.UserID {
			t.Fatalf("rotated token proves %+v", me)
		}
		old := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.GetProjectAccessToken(pid, created.ID))
		if !old.Revoked || old.Active {
			t.Fatalf("old token after rotation = %+v", old)
		}
	})
	var selfRotated *gitlab.ProjectAccessToken
	t.Run("self rotation with an expiry", func(t *testing.T) {
		want := gitlab.ISOTime(today.AddDate(0, 0, 10))
		selfRotated = must[*gitlab.ProjectAccessToken](t)(f.client(rotated.Token).ProjectAccessTokens.RotateProjectAccessTokenSelf(pid,
			&gitlab.RotateProjectAccessTokenOptions{ExpiresAt: &want}))
		f.remember(selfRotated.Token)
		if selfRotated.ExpiresAt == nil || time.Time(*selfRotated.ExpiresAt) != time.Time(want) || selfRotated.UserID != created.UserID {
			t.Fatalf("self-rotated = %+v", selfRotated)
		}
		// client-go has no wrapper for GET …/access_tokens/self.
		res := f.do("GET", fmt.Sprintf("/api/v4/projects/%d/access_tokens/self", pid), selfRotated.Token, "", nil)
		if res.status != http.StatusOK || res.json(t)["id"] != float64(selfRotated.ID) {
			t.Fatalf("GET access_tokens/self = %d %s", res.status, res.body)
		}
	})
	t.Run("reuse of a rotated-out token on rotate revokes the family", func(t *testing.T) {
		_, resp, err := f.client(rotated.Token).ProjectAccessTokens.RotateProjectAccessTokenSelf(pid, nil)
		wantStatus(t, "reuse", resp, err, http.StatusUnauthorized)
		var ge *gitlab.ErrorResponse
		if !errors.As(err, &ge) || !strings.Contains(ge.Message, "invalid_token") {
			t.Fatalf("reuse error = %v, want invalid_token", err)
		}
		_, resp, err = f.client(selfRotated.Token).Users.CurrentUser()
		wantStatus(t, "newest token of the revoked family", resp, err, http.StatusUnauthorized)
		list := must[[]*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: gitlab.Ptr("active")}))
		if len(list) != 0 {
			t.Fatalf("active tokens after family revocation: %+v", list)
		}
	})
	t.Run("role caps", func(t *testing.T) {
		// A Developer may not create project access tokens at all; GitLab
		// answers 400 with this message.
		_, resp, err := f.bob.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("dev"), Scopes: &[]string{"read_api"}, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions),
		})
		wantStatus(t, "developer creates a token", resp, err, http.StatusBadRequest)
		if !strings.Contains(err.Error(), "User does not have permission to create project access token") {
			t.Fatalf("developer error = %v", err)
		}
		// A Maintainer may not create an Owner token.
		_, resp, err = f.carol.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("owner"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions),
		})
		wantStatus(t, "maintainer creates an Owner token", resp, err, http.StatusBadRequest)
		if !strings.Contains(err.Error(), "Access level of the token contains permissions not held by the creating user") {
			t.Fatalf("role cap error = %v", err)
		}
		ok := must[*gitlab.ProjectAccessToken](t)(f.carol.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("carol-ci"), Scopes: &[]string{"read_api"}, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions),
		}))
		f.remember(ok.Token)
	})
	t.Run("revoke deactivates the bot", func(t *testing.T) {
		tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("short-lived"), Scopes: &[]string{"read_api"},
		}))
		f.remember(tok.Token)
		if tok.AccessLevel != gitlab.MaintainerPermissions {
			t.Fatalf("default access level = %d, want 40", tok.AccessLevel)
		}
		resp, err := f.alice.ProjectAccessTokens.RevokeProjectAccessToken(pid, tok.ID)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %v (%v)", err, resp)
		}
		u := must[*gitlab.User](t)(f.admin.Users.GetUser(tok.UserID, nil))
		if u.State != "deactivated" {
			t.Fatalf("bot after revocation = %+v", u)
		}
		_, resp, err = f.client(tok.Token).Users.CurrentUser()
		wantStatus(t, "revoked token", resp, err, http.StatusUnauthorized)
		// Revoking again answers 204, as GitLab: "rotate, then delete the
		// old id" and repeated clean-ups succeed.
		resp, err = f.alice.ProjectAccessTokens.RevokeProjectAccessToken(pid, tok.ID)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoking twice: %v (%v), want 204", err, resp)
		}
	})
}

// TestConcurrentRotation rotates one token from many clients at once:
// exactly one rotation wins, the others are refused, and one token is left
// active.
func TestConcurrentRotation(t *testing.T) {
	f := newFixture(t)
	pid := f.project.ID
	tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(pid, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("contended"), Scopes: &[]string{"api"},
	}))
	f.remember(tok.Token)
	const n = 8
	type result struct {
		status int
		token  string
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			rot, resp, err := f.alice.ProjectAccessTokens.RotateProjectAccessToken(pid, tok.ID, nil)
			r := result{}
			if resp != nil {
				r.status = resp.StatusCode
			}
			if err == nil {
				r.token = rot.Token
			}
			results <- r
		}()
	}
	close(start)
	wins := 0
	for range n {
		r := <-results
		f.remember(r.token)
		switch r.status {
		case http.StatusOK:
			wins++
		case http.StatusBadRequest, http.StatusConflict:
		default:
			t.Errorf("a losing rotation answered %d", r.status)
		}
	}
	if wins != 1 {
		t.Fatalf("%d rotations won, want exactly 1", wins)
	}
	active := must[[]*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.ListProjectAccessTokens(pid, &gitlab.ListProjectAccessTokensOptions{State: gitlab.Ptr("active")}))
	if len(active) != 1 {
		t.Fatalf("%d active tokens after the race, want 1", len(active))
	}
}
