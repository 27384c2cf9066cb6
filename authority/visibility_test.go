package authority_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// wantOutcome checks err against want, KindOther meaning success.
func wantOutcome(t *testing.T, err error, want botgate.Kind) {
	t.Helper()
	if want == botgate.KindOther {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		return
	}
	wantKind(t, err, want)
}

// TestTokensTheActorCannotSeeReadAsNotFound: revoking, rotating or reading
// a token the actor may not see answers as for a missing one, so that ids
// reveal nothing; a token the actor sees but may not rotate stays
// forbidden.
func TestTokensTheActorCannotSeeReadAsNotFound(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	pat, err := e.svc.CreatePersonalToken(e.ctx, w.maint, w.maint.User.ID, authority.NewToken{Name: "laptop", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	group, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.groupRes(), authority.NewToken{Name: "triage", Scopes: []string{"api"}, AccessLevel: botgate.OwnerAccess})
	if err != nil {
		t.Fatal(err)
	}
	project, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deploy", Scopes: []string{"api"}, AccessLevel: botgate.OwnerAccess})
	if err != nil {
		t.Fatal(err)
	}
	revoke := func(a authority.Actor, id int64) error { return e.svc.RevokeToken(e.ctx, a, id) }
	rotate := func(a authority.Actor, id int64) error { _, err := e.svc.RotateToken(e.ctx, a, id, nil); return err }
	get := func(a authority.Actor, id int64) error { _, err := e.svc.Token(e.ctx, a, id); return err }
	tests := []struct {
		name  string
		op    func(authority.Actor, int64) error
		actor authority.Actor
		id    int64
		want  botgate.Kind
	}{
		{"revoke another person's token", revoke, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"revoke a missing token", revoke, w.dev, 987654, botgate.KindNotFound},
		{"revoke a group token below Owner", revoke, w.maint, group.Token.ID, botgate.KindNotFound},
		{"revoke a project token as developer", revoke, w.dev, project.Token.ID, botgate.KindNotFound},
		{"revoke a project token as outsider", revoke, w.outsider, project.Token.ID, botgate.KindNotFound},
		{"rotate another person's token", rotate, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"rotate a project token as developer", rotate, w.dev, project.Token.ID, botgate.KindNotFound},
		{"rotate a visible Owner-level token as maintainer", rotate, w.maint, project.Token.ID, botgate.KindForbidden},
		{"read another person's token", get, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"admin revokes another person's token", revoke, e.admin, pat.Token.ID, botgate.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOutcome(t, tt.op(tt.actor, tt.id), tt.want)
		})
	}
}

// TestListsShowWhatReadsShow: for every kind of actor, Groups and Projects
// list exactly the groups and projects that Group and Project let the actor
// read, in ID order and with the right total, also once a membership has
// expired.
func TestListsShowWhatReadsShow(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	mustGroup := func(a authority.Actor, in authority.NewGroup) *botgate.Group {
		t.Helper()
		g, err := e.svc.CreateGroup(e.ctx, a, in)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	mustProject := func(in authority.NewProject) {
		t.Helper()
		if _, err := e.svc.CreateProject(e.ctx, e.admin, in); err != nil {
			t.Fatal(err)
		}
	}
	sub := mustGroup(w.owner, authority.NewGroup{Name: "Release", Path: "release", ParentID: w.group.ID})
	docs := mustGroup(e.admin, authority.NewGroup{Name: "Docs", Path: "docs", Visibility: botgate.Internal})
	open := mustGroup(e.admin, authority.NewGroup{Name: "Open", Path: "open", Visibility: botgate.Public})
	vault := mustGroup(e.admin, authority.NewGroup{Name: "Vault", Path: "vault"})
	mustProject(authority.NewProject{Name: "tools", NamespaceID: sub.ID})
	mustProject(authority.NewProject{Name: "site", NamespaceID: open.ID, Visibility: botgate.Public})
	mustProject(authority.NewProject{Name: "guide", NamespaceID: docs.ID, Visibility: botgate.Internal})
	mustProject(authority.NewProject{Name: "keys", NamespaceID: vault.ID})
	expiry := e.svc.Today().AddDate(0, 0, 2)
	if _, err := e.svc.AddMember(e.ctx, e.admin, botgate.Resource{Type: botgate.GroupResource, ID: vault.ID}, w.outsider.User.ID, botgate.ReporterAccess, &expiry); err != nil {
		t.Fatal(err)
	}
	actors := []struct {
		name string
		a    authority.Actor
	}{
		{"administrator", e.admin}, {"owner", w.owner}, {"developer", w.dev}, {"outsider", w.outsider}, {"anonymous", authority.Actor{}},
	}
	check := func(t *testing.T) {
		allGroups, _, err := e.svc.Groups(e.ctx, e.admin, botgate.GroupFilter{})
		if err != nil {
			t.Fatal(err)
		}
		allProjects, _, err := e.svc.Projects(e.ctx, e.admin, botgate.ProjectFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range actors {
			t.Run(tt.name, func(t *testing.T) {
				var wantGroups, wantProjects []int64
				for _, g := range allGroups {
					if _, err := e.svc.Group(e.ctx, tt.a, strconv.FormatInt(g.ID, 10)); err == nil {
						wantGroups = append(wantGroups, g.ID)
					}
				}
				for _, p := range allProjects {
					if _, err := e.svc.Project(e.ctx, tt.a, strconv.FormatInt(p.ID, 10)); err == nil {
						wantProjects = append(wantProjects, p.ID)
					}
				}
				gs, total, err := e.svc.Groups(e.ctx, tt.a, botgate.GroupFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if got := groupIDs(gs); !slices.Equal(got, wantGroups) || total != len(wantGroups) {
					t.Errorf("Groups = %v (total %d), want %v", got, total, wantGroups)
				}
				ps, total, err := e.svc.Projects(e.ctx, tt.a, botgate.ProjectFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if got := projectIDs(ps); !slices.Equal(got, wantProjects) || total != len(wantProjects) {
					t.Errorf("Projects = %v (total %d), want %v", got, total, wantProjects)
				}
				if len(wantGroups) > 1 {
					page, total, err := e.svc.Groups(e.ctx, tt.a, botgate.GroupFilter{Page: botgate.Page{Offset: 1, Limit: 1}})
					if err != nil {
						t.Fatal(err)
					}
					if got := groupIDs(page); !slices.Equal(got, wantGroups[1:2]) || total != len(wantGroups) {
						t.Errorf("Groups page 2 = %v (total %d), want %v (total %d)", got, total, wantGroups[1:2], len(wantGroups))
					}
				}
			})
		}
	}
	t.Run("member", check)
	e.clock.Advance(3 * 24 * time.Hour)
	t.Run("membership expired", check)
}

func groupIDs(gs []*botgate.Group) []int64 {
	var out []int64
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func projectIDs(ps []*botgate.Project) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}
