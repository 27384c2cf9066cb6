package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

func TestClientGoGroupsProjectsMembers(t *testing.T) {
	f := newFixture(t)

	t.Run("lists and subgroups", func(t *testing.T) {
		subs := must[[]*gitlab.Group](t)(f.alice.Groups.ListSubGroups(f.group.ID, nil))
		if len(subs) != 1 || subs[0].ID != f.subgroup.ID {
			t.Fatalf("subgroups = %+v", subs)
		}
		groups := must[[]*gitlab.Group](t)(f.alice.Groups.ListGroups(&gitlab.ListGroupsOptions{}))
		if len(groups) != 2 {
			t.Fatalf("alice's groups = %+v", groups)
		}
		if groups := must[[]*gitlab.Group](t)(f.bob.Groups.ListGroups(nil)); len(groups) != 0 {
			t.Fatalf("bob sees private groups: %+v", groups)
		}
		projects := must[[]*gitlab.Project](t)(f.bob.Projects.ListProjects(&gitlab.ListProjectsOptions{Membership: gitlab.Ptr(true)}))
		if len(projects) != 1 || projects[0].NameWithNamespace != "Platform / Tools / Release Bot" {
			t.Fatalf("bob's projects = %+v", projects)
		}
		gp := must[[]*gitlab.Project](t)(f.alice.Groups.ListGroupProjects(f.subgroup.ID, nil))
		if len(gp) != 1 || gp[0].ID != f.project.ID {
			t.Fatalf("group projects = %+v", gp)
		}
	})
	t.Run("update group and project", func(t *testing.T) {
		g := must[*gitlab.Group](t)(f.alice.Groups.UpdateGroup(f.group.ID, &gitlab.UpdateGroupOptions{Description: gitlab.Ptr("the platform team")}))
		if g.Description != "the platform team" || g.Name != "Platform" {
			t.Fatalf("updated group = %+v", g)
		}
		p := must[*gitlab.Project](t)(f.carol.Projects.EditProject(f.project.ID, &gitlab.EditProjectOptions{Description: gitlab.Ptr("ships releases")}))
		if p.Description != "ships releases" {
			t.Fatalf("updated project = %+v", p)
		}
		_, resp, err := f.bob.Projects.EditProject(f.project.ID, &gitlab.EditProjectOptions{Description: gitlab.Ptr("mine now")})
		wantStatus(t, "developer edits the project", resp, err, http.StatusForbidden)
		_, resp, err = f.carol.Projects.EditProject(f.project.ID, &gitlab.EditProjectOptions{Visibility: gitlab.Ptr(gitlab.PublicVisibility)})
		wantStatus(t, "maintainer changes visibility", resp, err, http.StatusForbidden)
	})
	t.Run("members", func(t *testing.T) {
		ms := must[[]*gitlab.ProjectMember](t)(f.alice.ProjectMembers.ListProjectMembers(f.project.ID, nil))
		if len(ms) != 2 {
			t.Fatalf("project members = %+v", ms)
		}
		m := must[*gitlab.ProjectMember](t)(f.carol.ProjectMembers.EditProjectMember(f.project.ID, f.bobID, &gitlab.EditProjectMemberOptions{
			AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions), ExpiresAt: gitlab.Ptr(f.clock.Now().AddDate(0, 1, 0).Format("2006-01-02")),
		}))
		if m.AccessLevel != gitlab.ReporterPermissions || m.ExpiresAt == nil {
			t.Fatalf("edited member = %+v", m)
		}
		_, resp, err := f.carol.ProjectMembers.EditProjectMember(f.project.ID, f.bobID, &gitlab.EditProjectMemberOptions{AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)})
		wantStatus(t, "maintainer grants Owner", resp, err, http.StatusForbidden)
		gm := must[*gitlab.GroupMember](t)(f.alice.GroupMembers.AddGroupMember(f.group.ID, &gitlab.AddGroupMemberOptions{
			UserID: gitlab.Ptr(f.carolID), AccessLevel: gitlab.Ptr(gitlab.GuestPermissions),
		}))
		if gm.ID != f.carolID || gm.AccessLevel != gitlab.GuestPermissions {
			t.Fatalf("group member = %+v", gm)
		}
		_, resp, err = f.alice.GroupMembers.AddGroupMember(f.group.ID, &gitlab.AddGroupMemberOptions{
			UserID: gitlab.Ptr(f.carolID), AccessLevel: gitlab.Ptr(gitlab.GuestPermissions),
		})
		wantStatus(t, "adding twice", resp, err, http.StatusConflict)
		gm = must[*gitlab.GroupMember](t)(f.alice.GroupMembers.EditGroupMember(f.group.ID, f.carolID, &gitlab.EditGroupMemberOptions{
			AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions),
		}))
		if gm.AccessLevel != gitlab.ReporterPermissions {
			t.Fatalf("edited group member = %+v", gm)
		}
		gms := must[[]*gitlab.GroupMember](t)(f.alice.Groups.ListGroupMembers(f.group.ID, nil))
		if len(gms) != 2 {
			t.Fatalf("group members = %+v", gms)
		}
		if resp, err := f.alice.GroupMembers.RemoveGroupMember(f.group.ID, f.carolID, nil); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("remove: %v", err)
		}
		_, resp, err = f.alice.GroupMembers.GetGroupMember(f.group.ID, f.carolID)
		wantStatus(t, "removed member", resp, err, http.StatusNotFound)
		if resp, err := f.carol.ProjectMembers.DeleteProjectMember(f.project.ID, f.bobID); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("remove project member: %v", err)
		}
		_, resp, err = f.bob.Projects.GetProject(f.project.ID, nil)
		wantStatus(t, "removed member reads the project", resp, err, http.StatusNotFound)
	})
	t.Run("delete project and group", func(t *testing.T) {
		tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
			Name: gitlab.Ptr("doomed"), Scopes: &[]string{"api"},
		}))
		f.remember(tok.Token)
		_, err := f.alice.Groups.DeleteGroup(f.subgroup.ID, nil)
		if err == nil {
			t.Fatal("deleted a group that still has a project")
		}
		if _, err := f.carol.Projects.DeleteProject(f.project.ID, nil); err == nil {
			t.Fatal("a Maintainer deleted the project")
		}
		if resp, err := f.alice.Projects.DeleteProject(f.project.ID, nil); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delete project: %v", err)
		}
		if res := f.do("GET", "/api/v4/user", tok.Token, "", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("the deleted project's token still works: %d", res.status)
		}
		_, resp, err := f.alice.Projects.GetProject(f.project.ID, nil)
		wantStatus(t, "deleted project", resp, err, http.StatusNotFound)
		if resp, err := f.alice.Groups.DeleteGroup(f.subgroup.ID, nil); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delete subgroup: %v", err)
		}
	})
}

func TestBotgateV1(t *testing.T) {
	f := newFixture(t)
	tok := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("triage"), Scopes: &[]string{"api"},
	}))
	f.remember(tok.Token)
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v4/user", nil)
	req.Header.Set("PRIVATE-TOKEN", tok.Token)
	req.Header.Set("User-Agent", "triage-bot/1.0")
	f.send(req)
	rot := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.RotateProjectAccessToken(f.project.ID, tok.ID, nil))
	f.remember(rot.Token)
	if err := f.auth.FlushUsage(t.Context()); err != nil {
		t.Fatal(err)
	}

	t.Run("token detail with family and usage", func(t *testing.T) {
		res := f.do("GET", fmt.Sprintf("/api/botgate/v1/tokens/%d", tok.ID), f.aliceTok, "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		j := res.json(t)
		fam, _ := j["family"].([]any)
		if j["kind"] != "project_access" || j["family_id"] != float64(tok.ID) || len(fam) != 2 ||
			fmt.Sprint(j["user_agents"]) != "[triage-bot/1.0]" || fmt.Sprint(j["last_used_ips"]) != "[127.0.0.1]" {
			t.Fatalf("detail = %s", res.body)
		}
		if strings.Contains(string(res.body), tok.Token) {
			t.Fatal("the detail shows the secret")
		}
		if res := f.do("GET", fmt.Sprintf("/api/botgate/v1/tokens/%d", tok.ID), f.bobTok, "", nil); res.status != http.StatusNotFound {
			t.Fatalf("a developer reads the token: %d", res.status)
		}
	})
	t.Run("automation label", func(t *testing.T) {
		path := fmt.Sprintf("/api/botgate/v1/tokens/%d/automation", rot.ID)
		res := f.postJSON("PUT", path, f.aliceTok, map[string]string{"automation": "scheduled-triage"})
		if res.status != http.StatusOK || res.json(t)["automation"] != "scheduled-triage" {
			t.Fatalf("set automation: %d %s", res.status, res.body)
		}
		if got := f.do("GET", fmt.Sprintf("/api/botgate/v1/tokens/%d", rot.ID), f.aliceTok, "", nil).json(t); got["automation"] != "scheduled-triage" {
			t.Fatalf("after set: %v", got)
		}
		tests := []struct {
			name   string
			token  string
			body   any
			status int
		}{
			{"developer", f.bobTok, map[string]string{"automation": "mine"}, http.StatusNotFound},
			{"missing", f.aliceTok, map[string]string{}, http.StatusBadRequest},
			{"control characters", f.aliceTok, map[string]string{"automation": "a\nb"}, http.StatusBadRequest},
			{"too long", f.aliceTok, map[string]string{"automation": strings.Repeat("a", 256)}, http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if res := f.postJSON("PUT", path, tt.token, tt.body); res.status != tt.status {
					t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
				}
			})
		}
		// Rotation carries the label to the successor.
		next := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.RotateProjectAccessToken(f.project.ID, rot.ID, nil))
		f.remember(next.Token)
		if got := f.do("GET", fmt.Sprintf("/api/botgate/v1/tokens/%d", next.ID), f.aliceTok, "", nil).json(t); got["automation"] != "scheduled-triage" {
			t.Fatalf("rotated token's automation = %v", got["automation"])
		}
	})
	t.Run("audit events", func(t *testing.T) {
		res := f.do("GET", "/api/botgate/v1/audit/events?action=token.rotate&per_page=5", f.root, "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("%d %s", res.status, res.body)
		}
		var events []map[string]any
		if err := jsonUnmarshal(res.body, &events); err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0]["target_id"] != float64(rot.ID) || events[0]["actor_name"] != "alice" {
			t.Fatalf("rotate events = %s", res.body)
		}
		all := f.do("GET", "/api/botgate/v1/audit/events?per_page=3", f.root, "", nil)
		if all.header.Get("X-Next-Page") != "2" || !strings.Contains(all.header.Get("Link"), `rel="next"`) {
			t.Fatalf("audit paging headers: %v", all.header)
		}
		if res := f.do("GET", "/api/botgate/v1/audit/events", f.aliceTok, "", nil); res.status != http.StatusForbidden {
			t.Fatalf("non-admin reads the audit log: %d", res.status)
		}
	})
	t.Run("audit verify", func(t *testing.T) {
		res := f.do("GET", "/api/botgate/v1/audit/verify", f.root, "", nil)
		j := res.json(t)
		if res.status != http.StatusOK || j["ok"] != true || j["events"].(float64) < 10 {
			t.Fatalf("verify = %d %s", res.status, res.body)
		}
	})
}
