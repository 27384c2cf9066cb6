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

func TestClientGoPersonalAccessTokens(t *testing.T) {
	f := newFixture(t)
	today := f.clock.Now().UTC().Truncate(24 * time.Hour)

	// 45 tokens for bob, made by the administrator, with varied names and
	// expiries; five of them revoked.
	const n = 45
	made := map[int64]*gitlab.PersonalAccessToken{}
	var order []int64
	for i := range n {
		exp := gitlab.ISOTime(today.AddDate(0, 0, 10+i))
		tok := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(f.bobID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr(fmt.Sprintf("job-%02d", i)), Scopes: &[]string{"read_api"}, ExpiresAt: &exp,
		}))
		f.remember(tok.Token)
		made[tok.ID] = tok
		order = append(order, tok.ID)
		f.clock.Advance(time.Second)
	}
	for _, id := range order[:5] {
		if _, err := f.admin.PersonalAccessTokens.RevokePersonalAccessTokenByID(id); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("pagination across pages", func(t *testing.T) {
		seen := map[int64]bool{}
		opt := &gitlab.ListPersonalAccessTokensOptions{UserID: gitlab.Ptr(f.bobID), ListOptions: gitlab.ListOptions{PerPage: 20, Page: 1}}
		pages := 0
		for {
			list, resp, err := f.admin.PersonalAccessTokens.ListPersonalAccessTokens(opt)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if resp.TotalItems != n+1 || resp.TotalPages != 3 || resp.ItemsPerPage != 20 || resp.CurrentPage != int64(pages) {
				t.Fatalf("page %d headers: total %d pages %d per %d current %d", pages, resp.TotalItems, resp.TotalPages, resp.ItemsPerPage, resp.CurrentPage)
			}
			link := resp.Header.Get("Link")
			if !strings.Contains(link, f.srv.URL+"/api/v4/personal_access_tokens?") || !strings.Contains(link, `rel="first"`) {
				t.Fatalf("Link = %q", link)
			}
			for _, tok := range list {
				if seen[tok.ID] {
					t.Fatalf("token %d listed twice", tok.ID)
				}
				seen[tok.ID] = true
				if tok.Token != "" {
					t.Fatal("a listed token carries its secret")
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if pages != 3 || len(seen) != n+1 { // bob's own CLI token too
			t.Fatalf("saw %d tokens in %d pages", len(seen), pages)
		}
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			opt  gitlab.ListPersonalAccessTokensOptions
			want func(*gitlab.PersonalAccessToken) bool
		}{
			{"revoked", gitlab.ListPersonalAccessTokensOptions{Revoked: gitlab.Ptr(true)}, func(p *gitlab.PersonalAccessToken) bool { return p.Revoked }},
			{"state inactive", gitlab.ListPersonalAccessTokensOptions{State: gitlab.Ptr("inactive")}, func(p *gitlab.PersonalAccessToken) bool { return !p.Active }},
			{"state active", gitlab.ListPersonalAccessTokensOptions{State: gitlab.Ptr("active")}, func(p *gitlab.PersonalAccessToken) bool { return p.Active }},
			{"search", gitlab.ListPersonalAccessTokensOptions{Search: gitlab.Ptr("job-3")}, func(p *gitlab.PersonalAccessToken) bool { return strings.Contains(p.Name, "job-3") }},
			{"expires before", gitlab.ListPersonalAccessTokensOptions{ExpiresBefore: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 15)))},
				func(p *gitlab.PersonalAccessToken) bool {
					return p.ExpiresAt != nil && time.Time(*p.ExpiresAt).Before(today.AddDate(0, 0, 15))
				}},
			{"expires after", gitlab.ListPersonalAccessTokensOptions{ExpiresAfter: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 50)))},
				func(p *gitlab.PersonalAccessToken) bool {
					return p.ExpiresAt != nil && !time.Time(*p.ExpiresAt).Before(today.AddDate(0, 0, 50))
				}},
			{"created after", gitlab.ListPersonalAccessTokensOptions{CreatedAfter: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 1)))},
				func(p *gitlab.PersonalAccessToken) bool { return false }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opt := tt.opt
				opt.UserID = gitlab.Ptr(f.bobID)
				opt.PerPage = 100
				list := must[[]*gitlab.PersonalAccessToken](t)(f.admin.PersonalAccessTokens.ListPersonalAccessTokens(&opt))
				got := 0
				for _, p := range list {
					if !tt.want(p) {
						t.Errorf("token %d (%s) does not match the filter", p.ID, p.Name)
					}
					got++
				}
				// Count what should match among every token of bob's.
				all := must[[]*gitlab.PersonalAccessToken](t)(f.admin.PersonalAccessTokens.ListPersonalAccessTokens(
					&gitlab.ListPersonalAccessTokensOptions{UserID: gitlab.Ptr(f.bobID), ListOptions: gitlab.ListOptions{PerPage: 100}}))
				want := 0
				for _, p := range all {
					if tt.want(p) {
						want++
					}
				}
				if got != want {
					t.Fatalf("filter returned %d tokens, %d match", got, want)
				}
			})
		}
		sorted := must[[]*gitlab.PersonalAccessToken](t)(f.admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
			UserID: gitlab.Ptr(f.bobID), Sort: gitlab.Ptr("name_desc"), ListOptions: gitlab.ListOptions{PerPage: 100}}))
		if !slices.IsSortedFunc(sorted, func(a, b *gitlab.PersonalAccessToken) int { return strings.Compare(b.Name, a.Name) }) {
			t.Fatal("sort=name_desc is not sorted")
		}
	})
	t.Run("non-admins see only their own", func(t *testing.T) {
		list := must[[]*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.ListPersonalAccessTokens(nil))
		if len(list) != 1 || list[0].UserID != f.aliceID {
			t.Fatalf("alice's list = %+v", list)
		}
		_, resp, err := f.alice.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: gitlab.Ptr(f.bobID)})
		wantStatus(t, "alice lists bob's", resp, err, http.StatusUnauthorized)
		_, resp, err = f.alice.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(order[10])
		wantStatus(t, "alice gets bob's", resp, err, http.StatusUnauthorized)
		_, resp, err = f.admin.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(999999)
		wantStatus(t, "admin gets a missing token", resp, err, http.StatusNotFound)
		_, resp, err = f.admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: gitlab.Ptr(int64(999999))})
		wantStatus(t, "admin lists a missing user's", resp, err, http.StatusNotFound)
	})
	t.Run("self endpoints", func(t *testing.T) {
		exp := gitlab.ISOTime(today.AddDate(0, 0, 20))
		mine := must[*gitlab.PersonalAccessToken](t)(f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr("laptop"), Scopes: &[]string{"self_rotate"}, ExpiresAt: &exp,
		}))
		f.remember(mine.Token)
		c := f.client(mine.Token)
		self := must[*gitlab.PersonalAccessToken](t)(c.PersonalAccessTokens.GetSinglePersonalAccessToken())
		if self.ID != mine.ID || self.Token != "" || self.UserID != f.aliceID {
			t.Fatalf("self = %+v", self)
		}
		// self_rotate may rotate itself but nothing else.
		_, resp, err := c.Users.CurrentUser()
		wantStatus(t, "self_rotate token reads /user", resp, err, http.StatusForbidden)
		next := must[*gitlab.PersonalAccessToken](t)(c.PersonalAccessTokens.RotatePersonalAccessTokenSelf(nil))
		f.remember(next.Token)
		if next.ID == mine.ID || next.Token == "" || next.ExpiresAt == nil || time.Time(*next.ExpiresAt) != time.Time(exp) {
			t.Fatalf("self-rotated = %+v", next)
		}
		c2 := f.client(next.Token)
		by := must[*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.RotatePersonalAccessTokenByID(next.ID, &gitlab.RotatePersonalAccessTokenOptions{
			ExpiresAt: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 3))),
		}))
		f.remember(by.Token)
		if time.Time(*by.ExpiresAt) != today.AddDate(0, 0, 3) {
			t.Fatalf("rotate by id with expires_at = %+v", by)
		}
		_, resp, err = c2.PersonalAccessTokens.GetSinglePersonalAccessToken()
		wantStatus(t, "rotated-out token", resp, err, http.StatusUnauthorized)
		c3 := f.client(by.Token)
		resp, err = c3.PersonalAccessTokens.RevokePersonalAccessTokenSelf()
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke self: %v", err)
		}
		_, resp, err = c3.PersonalAccessTokens.GetSinglePersonalAccessToken()
		wantStatus(t, "self-revoked token", resp, err, http.StatusUnauthorized)
		var ge *gitlab.ErrorResponse
		if !errors.As(err, &ge) || !strings.Contains(ge.Message, "Token was revoked") {
			t.Fatalf("revoked token error = %v", err)
		}
		got := must[*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(by.ID))
		if !got.Revoked || got.Active {
			t.Fatalf("after self revocation = %+v", got)
		}
		// Revoking someone else's token is refused; the owner's works.
		_, err = f.alice.PersonalAccessTokens.RevokePersonalAccessTokenByID(order[20])
		if err == nil {
			t.Fatal("alice revoked bob's token")
		}
		if resp, err := f.bob.PersonalAccessTokens.RevokePersonalAccessTokenByID(order[20]); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("bob revokes his own: %v", err)
		}
		if resp, err := f.bob.PersonalAccessTokens.RevokePersonalAccessTokenByID(order[20]); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("bob revokes his own again: %v, want 204 as GitLab", err)
		}
	})
	t.Run("expiry rules", func(t *testing.T) {
		_, resp, err := f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr("too-long"), Scopes: &[]string{"api"}, ExpiresAt: gitlab.Ptr(gitlab.ISOTime(today.AddDate(2, 0, 0))),
		})
		wantStatus(t, "expiry beyond the maximum", resp, err, http.StatusUnprocessableEntity)
		if !strings.Contains(err.Error(), "Expires at must be before") {
			t.Fatalf("beyond max: %v", err)
		}
		_, resp, err = f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr("past"), Scopes: &[]string{"api"}, ExpiresAt: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, -1))),
		})
		wantStatus(t, "expiry in the past", resp, err, http.StatusUnprocessableEntity)
	})
}

func TestClientGoExpiredAndScopes(t *testing.T) {
	f := newFixture(t)
	today := f.clock.Now().UTC().Truncate(24 * time.Hour)
	ro := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(f.aliceID, &gitlab.CreatePersonalAccessTokenOptions{
		Name: gitlab.Ptr("reader"), Scopes: &[]string{"read_api"}, ExpiresAt: gitlab.Ptr(gitlab.ISOTime(today.AddDate(0, 0, 2))),
	}))
	reader := f.client(ro.Token)

	t.Run("read_api reads", func(t *testing.T) {
		p := must[*gitlab.Project](t)(reader.Projects.GetProject(f.project.ID, nil))
		if p.ID != f.project.ID {
			t.Fatalf("project = %+v", p)
		}
	})
	t.Run("read_api cannot write", func(t *testing.T) {
		_, resp, err := reader.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("x"), Path: gitlab.Ptr("x")})
		wantStatus(t, "read_api creates a group", resp, err, http.StatusForbidden)
		if !strings.Contains(err.Error(), "insufficient_scope") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("read_user only reads users", func(t *testing.T) {
		ru := must[*gitlab.PersonalAccessToken](t)(f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr("profile"), Scopes: &[]string{"read_user"},
		}))
		c := f.client(ru.Token)
		if me := must[*gitlab.User](t)(c.Users.CurrentUser()); me.ID != f.aliceID {
			t.Fatalf("me = %+v", me)
		}
		_, resp, err := c.Projects.GetProject(f.project.ID, nil)
		wantStatus(t, "read_user reads a project", resp, err, http.StatusForbidden)
	})
	t.Run("expired token", func(t *testing.T) {
		f.clock.Advance(3 * 24 * time.Hour)
		_, resp, err := reader.Users.CurrentUser()
		wantStatus(t, "expired token", resp, err, http.StatusUnauthorized)
		var ge *gitlab.ErrorResponse
		if !errors.As(err, &ge) || !strings.Contains(ge.Message, "Token is expired") {
			t.Fatalf("expired error = %v", err)
		}
		got := must[*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(ro.ID))
		if got.Active || got.Revoked {
			t.Fatalf("expired token = %+v, want inactive and not revoked", got)
		}
	})
	t.Run("sudo", func(t *testing.T) {
		me := must[*gitlab.User](t)(f.admin.Users.CurrentUser(gitlab.WithSudo("bob")))
		if me.ID != f.bobID {
			t.Fatalf("sudo bob: %+v", me)
		}
		_, resp, err := f.alice.Users.CurrentUser(gitlab.WithSudo("bob"))
		wantStatus(t, "sudo by a non-admin", resp, err, http.StatusForbidden)
		if !strings.Contains(err.Error(), "Must be admin to use sudo") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestClientGoGroupTokensAndServiceAccounts(t *testing.T) {
	f := newFixture(t)
	gid := f.group.ID

	t.Run("group access token", func(t *testing.T) {
		tok := must[*gitlab.GroupAccessToken](t)(f.alice.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{
			Name: gitlab.Ptr("triage"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions),
		}))
		f.remember(tok.Token)
		if tok.AccessLevel != gitlab.ReporterPermissions || tok.Token == "" {
			t.Fatalf("group token = %+v", tok)
		}
		bot := f.client(tok.Token)
		me := must[*gitlab.User](t)(bot.Users.CurrentUser())
		if !me.Bot || me.Name != "triage" || !strings.HasPrefix(me.Username, fmt.Sprintf("group_%d_bot_", gid)) {
			t.Fatalf("group bot = %+v", me)
		}
		// The group bot reaches the project in a subgroup through the group.
		must[*gitlab.Project](t)(bot.Projects.GetProject(f.project.ID, nil))
		m := must[*gitlab.GroupMember](t)(f.alice.GroupMembers.GetGroupMember(gid, me.ID))
		if m.AccessLevel != gitlab.ReporterPermissions {
			t.Fatalf("group bot membership = %+v", m)
		}
		list := must[[]*gitlab.GroupAccessToken](t)(f.alice.GroupAccessTokens.ListGroupAccessTokens(gid, nil))
		if len(list) != 1 || list[0].ID != tok.ID {
			t.Fatalf("group tokens = %+v", list)
		}
		rot := must[*gitlab.GroupAccessToken](t)(f.alice.GroupAccessTokens.RotateGroupAccessToken(gid, tok.ID, nil))
		f.remember(rot.Token)
		self := must[*gitlab.GroupAccessToken](t)(f.client(rot.Token).GroupAccessTokens.RotateGroupAccessTokenSelf(gid, nil))
		f.remember(self.Token)
		got := must[*gitlab.GroupAccessToken](t)(f.alice.GroupAccessTokens.GetGroupAccessToken(gid, self.ID))
		if !got.Active || got.UserID != me.ID {
			t.Fatalf("after two rotations = %+v", got)
		}
		if resp, err := f.alice.GroupAccessTokens.RevokeGroupAccessToken(gid, self.ID); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke group token: %v", err)
		}
		// A project's token is not the group's.
		_, resp, err := f.alice.GroupAccessTokens.GetGroupAccessToken(f.subgroup.ID, self.ID)
		wantStatus(t, "token of another group", resp, err, http.StatusNotFound)
		// Only Owners manage group tokens.
		_, resp, err = f.carol.GroupAccessTokens.CreateGroupAccessToken(gid, &gitlab.CreateGroupAccessTokenOptions{Name: gitlab.Ptr("x"), Scopes: &[]string{"api"}})
		wantStatus(t, "non-member creates a group token", resp, err, http.StatusNotFound)
	})

	t.Run("group service account and its tokens", func(t *testing.T) {
		sa := must[*gitlab.GroupServiceAccount](t)(f.alice.Groups.CreateServiceAccount(gid, &gitlab.CreateServiceAccountOptions{Name: gitlab.Ptr("release-bot")}))
		if sa.Name != "release-bot" || !strings.HasPrefix(sa.UserName, fmt.Sprintf("service_account_group_%d_", gid)) || sa.Email == "" {
			t.Fatalf("service account = %+v", sa)
		}
		list := must[[]*gitlab.GroupServiceAccount](t)(f.alice.Groups.ListServiceAccounts(gid, nil))
		if len(list) != 1 || list[0].ID != sa.ID {
			t.Fatalf("service accounts = %+v", list)
		}
		up := must[*gitlab.GroupServiceAccount](t)(f.alice.Groups.UpdateServiceAccount(gid, sa.ID, &gitlab.UpdateServiceAccountOptions{Name: gitlab.Ptr("Release bot")}))
		if up.Name != "Release bot" {
			t.Fatalf("updated = %+v", up)
		}
		tok := must[*gitlab.PersonalAccessToken](t)(f.alice.Groups.CreateServiceAccountPersonalAccessToken(gid, sa.ID, &gitlab.CreateServiceAccountPersonalAccessTokenOptions{
			Name: gitlab.Ptr("ci"), Scopes: &[]string{"api"},
		}))
		f.remember(tok.Token)
		if tok.UserID != sa.ID || tok.Token == "" {
			t.Fatalf("service account token = %+v", tok)
		}
		me := must[*gitlab.User](t)(f.client(tok.Token).Users.CurrentUser())
		if me.ID != sa.ID || !me.Bot {
			t.Fatalf("service account /user = %+v", me)
		}
		toks := must[[]*gitlab.PersonalAccessToken](t)(f.alice.Groups.ListServiceAccountPersonalAccessTokens(gid, sa.ID, nil))
		if len(toks) != 1 || toks[0].ID != tok.ID {
			t.Fatalf("service account tokens = %+v", toks)
		}
		rot := must[*gitlab.PersonalAccessToken](t)(f.alice.Groups.RotateServiceAccountPersonalAccessToken(gid, sa.ID, tok.ID, nil))
		f.remember(rot.Token)
		if rot.ID == tok.ID || rot.UserID != sa.ID {
			t.Fatalf("rotated = %+v", rot)
		}
		if resp, err := f.alice.Groups.RevokeServiceAccountPersonalAccessToken(gid, sa.ID, rot.ID); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %v", err)
		}
		// bob is not in the group: the service account is hidden from him.
		_, resp, err := f.bob.Groups.CreateServiceAccountPersonalAccessToken(gid, sa.ID, &gitlab.CreateServiceAccountPersonalAccessTokenOptions{
			Name: gitlab.Ptr("steal"), Scopes: &[]string{"api"},
		})
		wantStatus(t, "outsider creates a service account token", resp, err, http.StatusNotFound)
		if resp, err := f.alice.Groups.DeleteServiceAccount(gid, sa.ID, nil); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		u := must[*gitlab.User](t)(f.admin.Users.GetUser(sa.ID, nil))
		if u.State != "deactivated" {
			t.Fatalf("deleted service account = %+v", u)
		}
	})

	t.Run("project service account", func(t *testing.T) {
		sa := must[*gitlab.ProjectServiceAccount](t)(f.carol.Projects.CreateProjectServiceAccount(f.project.ID, &gitlab.CreateProjectServiceAccountOptions{Name: gitlab.Ptr("mirror")}))
		if !strings.HasPrefix(sa.Username, fmt.Sprintf("service_account_project_%d_", f.project.ID)) {
			t.Fatalf("project service account = %+v", sa)
		}
		list := must[[]*gitlab.ProjectServiceAccount](t)(f.carol.Projects.ListProjectServiceAccounts(f.project.ID, nil))
		if len(list) != 1 {
			t.Fatalf("list = %+v", list)
		}
		tok := must[*gitlab.PersonalAccessToken](t)(f.carol.Projects.CreateProjectServiceAccountPersonalAccessToken(f.project.ID, sa.ID,
			&gitlab.CreateProjectServiceAccountPersonalAccessTokenOptions{Name: gitlab.Ptr("mirror-ci"), Scopes: &[]string{"read_api"}}))
		f.remember(tok.Token)
		_, resp, err := f.bob.Projects.CreateProjectServiceAccount(f.project.ID, &gitlab.CreateProjectServiceAccountOptions{Name: gitlab.Ptr("dev-sa")})
		wantStatus(t, "developer creates a project service account", resp, err, http.StatusForbidden)
		up := must[*gitlab.ProjectServiceAccount](t)(f.carol.Projects.UpdateProjectServiceAccount(f.project.ID, sa.ID,
			&gitlab.UpdateProjectServiceAccountOptions{Name: gitlab.Ptr("Mirror")}))
		if up.Name != "Mirror" {
			t.Fatalf("updated = %+v", up)
		}
		toks := must[[]*gitlab.PersonalAccessToken](t)(f.carol.Projects.ListProjectServiceAccountPersonalAccessTokens(f.project.ID, sa.ID, nil))
		if len(toks) != 1 || toks[0].ID != tok.ID {
			t.Fatalf("tokens = %+v", toks)
		}
		rot := must[*gitlab.PersonalAccessToken](t)(f.carol.Projects.RotateProjectServiceAccountPersonalAccessToken(f.project.ID, sa.ID, tok.ID, nil))
		f.remember(rot.Token)
		if resp, err := f.carol.Projects.RevokeProjectServiceAccountPersonalAccessToken(f.project.ID, sa.ID, rot.ID); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %v", err)
		}
		if resp, err := f.carol.Projects.DeleteProjectServiceAccount(f.project.ID, sa.ID, nil); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		if list := must[[]*gitlab.ProjectServiceAccount](t)(f.carol.Projects.ListProjectServiceAccounts(f.project.ID, nil)); len(list) != 1 {
			// Deleting deactivates: the account stays listed, for the audit trail.
			t.Fatalf("after delete: %+v", list)
		}
		if u := must[*gitlab.User](t)(f.admin.Users.GetUser(sa.ID, nil)); u.State != "deactivated" {
			t.Fatalf("deleted project service account = %+v", u)
		}
	})

	t.Run("instance service accounts", func(t *testing.T) {
		u := must[*gitlab.User](t)(f.admin.Users.CreateServiceAccountUser(&gitlab.CreateServiceAccountUserOptions{Name: gitlab.Ptr("tooling-bot"), Username: gitlab.Ptr("tooling-bot")}))
		if u.Username != "tooling-bot" || !u.Bot {
			t.Fatalf("instance service account = %+v", u)
		}
		list := must[[]*gitlab.ServiceAccount](t)(f.admin.Users.ListServiceAccounts(&gitlab.ListServiceAccountsOptions{}))
		if len(list) != 1 || list[0].ID != u.ID {
			t.Fatalf("instance list = %+v", list)
		}
		up := must[*gitlab.ServiceAccount](t)(f.admin.Users.UpdateInstanceServiceAccount(u.ID, &gitlab.UpdateServiceAccountOptions{Name: gitlab.Ptr("Tooling")}))
		if up.Name != "Tooling" {
			t.Fatalf("updated = %+v", up)
		}
		_, resp, err := f.alice.Users.ListServiceAccounts(nil)
		wantStatus(t, "non-admin lists instance service accounts", resp, err, http.StatusForbidden)
		tok := must[*gitlab.PersonalAccessToken](t)(f.admin.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("tooling"), Scopes: &[]string{"read_api"},
		}))
		f.remember(tok.Token)
		if resp, err := f.admin.Users.DeleteUser(u.ID); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete instance service account: %v", err)
		}
		_, resp, err = f.client(tok.Token).Users.CurrentUser()
		wantStatus(t, "deleted service account's token", resp, err, http.StatusUnauthorized)
	})
}
