package storetest

import (
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func groupID(g *botgate.Group) int64     { return g.ID }
func projectID(p *botgate.Project) int64 { return p.ID }
func memberUser(m *botgate.Member) int64 { return m.UserID }
func memberKey(m *botgate.Member) [3]int64 {
	return [3]int64{typeRank(m.Resource.Type), m.Resource.ID, m.UserID}
}

func typeRank(t botgate.ResourceType) int64 {
	if t == botgate.GroupResource {
		return 0
	}
	return 1
}

func testGroups(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("CreateAndRead", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		top := &botgate.Group{Name: "Platform", Path: "Platform", FullPath: "Platform", Description: "the platform team",
			Visibility: botgate.Internal, CreatedAt: base}
		sub := &botgate.Group{Name: "Release tools", Path: "release", FullPath: "Platform/release",
			Visibility: botgate.Private, CreatedAt: at(time.Second)}
		update(t, s, func(tx botgate.Tx) error {
			if err := tx.CreateGroup(ctx, top); err != nil {
				return err
			}
			sub.ParentID = top.ID
			return tx.CreateGroup(ctx, sub)
		})
		distinctPositive(t, "CreateGroup", top.ID, sub.ID)
		view(t, s, func(tx botgate.Tx) error {
			for _, w := range []*botgate.Group{top, sub} {
				got, err := tx.Group(ctx, w.ID)
				if err != nil {
					t.Fatalf("Group(%d): %v", w.ID, err)
				}
				same(t, "Group", got, w, normGroup)
				wantUTC(t, "Group.CreatedAt", &got.CreatedAt)
			}
			for _, p := range []string{"Platform/release", "platform/RELEASE"} {
				got, err := tx.GroupByPath(ctx, p)
				if err != nil {
					t.Fatalf("GroupByPath(%q): %v", p, err)
				}
				same(t, "GroupByPath", got, sub, normGroup)
			}
			_, err := tx.Group(ctx, sub.ID+1000)
			wantKind(t, "Group(missing)", err, botgate.KindNotFound)
			_, err = tx.GroupByPath(ctx, "release")
			wantKind(t, "GroupByPath(not full)", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("CreateErrors", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var top *botgate.Group
		update(t, s, func(tx botgate.Tx) error {
			top = mustCreateGroup(ctx, t, tx, nil, "team")
			mustCreateGroup(ctx, t, tx, top, "sub")
			return nil
		})
		tests := []struct {
			name string
			g    botgate.Group
			kind botgate.Kind
		}{
			{"full path taken", botgate.Group{Name: "x", Path: "team", FullPath: "team"}, botgate.KindConflict},
			{"full path taken in other case", botgate.Group{Name: "x", Path: "TEAM", FullPath: "TEAM"}, botgate.KindConflict},
			{"subgroup path taken", botgate.Group{Name: "x", Path: "Sub", FullPath: "team/Sub", ParentID: top.ID}, botgate.KindConflict},
			{"parent missing", botgate.Group{Name: "x", Path: "orphan", FullPath: "nowhere/orphan", ParentID: top.ID + 1000}, botgate.KindInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := tt.g
				g.Visibility = botgate.Private
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateGroup(ctx, &g) })
				wantKind(t, "CreateGroup", err, tt.kind)
			})
		}
	})

	t.Run("Update", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var a, b, c *botgate.Group
		update(t, s, func(tx botgate.Tx) error {
			a = mustCreateGroup(ctx, t, tx, nil, "a")
			b = mustCreateGroup(ctx, t, tx, nil, "b")
			c = mustCreateGroup(ctx, t, tx, nil, "c")
			return nil
		})
		moved := *c
		moved.Name, moved.Path, moved.FullPath, moved.ParentID = "Moved", "moved", "a/moved", a.ID
		moved.Description, moved.Visibility = "now under a", botgate.Public
		moved.CreatedAt = at(99 * time.Hour) // ignored
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateGroup(ctx, &moved) })
		want := moved
		want.CreatedAt = c.CreatedAt
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.GroupByPath(ctx, "a/moved")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "updated Group", got, &want, normGroup)
			return nil
		})
		top := moved
		top.ParentID, top.FullPath = 0, "moved"
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateGroup(ctx, &top) })
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.Group(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ParentID != 0 {
				t.Errorf("ParentID after moving to top level: %d", got.ParentID)
			}
			return nil
		})

		tests := []struct {
			name   string
			change func(g *botgate.Group)
			kind   botgate.Kind
		}{
			{"missing", func(g *botgate.Group) { g.ID += 1000 }, botgate.KindNotFound},
			{"path taken", func(g *botgate.Group) { g.FullPath = "A" }, botgate.KindConflict},
			{"parent missing", func(g *botgate.Group) { g.ParentID = c.ID + 1000 }, botgate.KindInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := *b
				tt.change(&g)
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateGroup(ctx, &g) })
				wantKind(t, "UpdateGroup", err, tt.kind)
			})
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var withSub, withProject, withMember, empty *botgate.Group
		update(t, s, func(tx botgate.Tx) error {
			withSub = mustCreateGroup(ctx, t, tx, nil, "with-sub")
			mustCreateGroup(ctx, t, tx, withSub, "child")
			withProject = mustCreateGroup(ctx, t, tx, nil, "with-project")
			mustCreateProject(ctx, t, tx, withProject, "proj")
			withMember = mustCreateGroup(ctx, t, tx, nil, "with-member")
			u := mustCreateUser(ctx, t, tx, newUser("member", botgate.HumanUser))
			if err := tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: withMember.ID},
				UserID: u.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: base}); err != nil {
				return err
			}
			empty = mustCreateGroup(ctx, t, tx, nil, "empty")
			return nil
		})
		tests := []struct {
			name string
			id   int64
			kind botgate.Kind
		}{
			{"has subgroup", withSub.ID, botgate.KindConflict},
			{"has project", withProject.ID, botgate.KindConflict},
			{"has member", withMember.ID, botgate.KindConflict},
			{"missing", empty.ID + 1000, botgate.KindNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.DeleteGroup(ctx, tt.id) })
				wantKind(t, "DeleteGroup", err, tt.kind)
				view(t, s, func(tx botgate.Tx) error {
					if tt.kind == botgate.KindConflict {
						if _, err := tx.Group(ctx, tt.id); err != nil {
							t.Errorf("group gone after refused delete: %v", err)
						}
					}
					return nil
				})
			})
		}
		t.Run("empty", func(t *testing.T) {
			update(t, s, func(tx botgate.Tx) error { return tx.DeleteGroup(ctx, empty.ID) })
			view(t, s, func(tx botgate.Tx) error {
				_, err := tx.Group(ctx, empty.ID)
				wantKind(t, "Group after delete", err, botgate.KindNotFound)
				_, err = tx.GroupByPath(ctx, "empty")
				wantKind(t, "GroupByPath after delete", err, botgate.KindNotFound)
				return nil
			})
			err := s.Update(ctx, func(tx botgate.Tx) error { return tx.DeleteGroup(ctx, empty.ID) })
			wantKind(t, "DeleteGroup twice", err, botgate.KindNotFound)
		})
	})

	t.Run("Find", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var gs [5]*botgate.Group
		var u *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			gs[0] = mustCreateGroup(ctx, t, tx, nil, "alpha")
			gs[1] = mustCreateGroup(ctx, t, tx, gs[0], "beta")
			gs[2] = mustCreateGroup(ctx, t, tx, nil, "gamma_1")
			gs[3] = mustCreateGroup(ctx, t, tx, gs[0], "delta")
			gs[4] = mustCreateGroup(ctx, t, tx, gs[1], "epsilon")
			u = mustCreateUser(ctx, t, tx, newUser("u", botgate.HumanUser))
			for _, g := range []*botgate.Group{gs[3], gs[1]} {
				if err := tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: g.ID},
					UserID: u.ID, AccessLevel: botgate.GuestAccess, CreatedAt: base}); err != nil {
					return err
				}
			}
			// A project membership must not make its namespace match.
			p := mustCreateProject(ctx, t, tx, gs[2], "p")
			return tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
				UserID: u.ID, AccessLevel: botgate.GuestAccess, CreatedAt: base})
		})
		id := func(i ...int) []int64 {
			out := []int64{}
			for _, n := range i {
				out = append(out, gs[n].ID)
			}
			return out
		}
		tests := []struct {
			name  string
			f     botgate.GroupFilter
			want  []int64
			total int
		}{
			{"all", botgate.GroupFilter{}, id(0, 1, 2, 3, 4), 5},
			{"IDs", botgate.GroupFilter{IDs: id(4, 1)}, id(1, 4), 2},
			{"top level", botgate.GroupFilter{ParentID: ptr(int64(0))}, id(0, 2), 2},
			{"children", botgate.GroupFilter{ParentID: &gs[0].ID}, id(1, 3), 2},
			{"Search name", botgate.GroupFilter{Search: "GROUP E"}, id(4), 1},
			{"Search full path", botgate.GroupFilter{Search: "alpha/"}, id(1, 3, 4), 3},
			{"Search literal underscore", botgate.GroupFilter{Search: "_"}, id(2), 1},
			{"MemberID", botgate.GroupFilter{MemberID: u.ID}, id(1, 3), 2},
			{"MemberID unknown", botgate.GroupFilter{MemberID: u.ID + 1000}, nil, 0},
			{"page", botgate.GroupFilter{Page: botgate.Page{Offset: 2, Limit: 2}}, id(2, 3), 5},
			{"filter and page", botgate.GroupFilter{ParentID: &gs[0].ID, Page: botgate.Page{Limit: 1}}, id(1), 2},
		}
		view(t, s, func(tx botgate.Tx) error {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, total, err := tx.FindGroups(ctx, tt.f)
					if err != nil {
						t.Fatal(err)
					}
					wantIDs(t, "FindGroups", ids(got, groupID), tt.want)
					wantTotal(t, "FindGroups", total, tt.total)
				})
			}
			got, _, err := tx.FindGroups(ctx, botgate.GroupFilter{IDs: id(4)})
			if err != nil || len(got) != 1 {
				t.Fatalf("FindGroups by ID: %v, %v", got, err)
			}
			same(t, "FindGroups row", got[0], gs[4], normGroup)
			return nil
		})
	})
}

func testProjects(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("CreateAndRead", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var g *botgate.Group
		want := &botgate.Project{Name: "Web App", Path: "Web-App", Description: "the app", Visibility: botgate.Public,
			DefaultBranch: "trunk", CreatedAt: base.In(time.FixedZone("X", -7*3600))}
		update(t, s, func(tx botgate.Tx) error {
			g = mustCreateGroup(ctx, t, tx, nil, "team")
			want.NamespaceID, want.PathWithNamespace = g.ID, "team/Web-App"
			return tx.CreateProject(ctx, want)
		})
		distinctPositive(t, "CreateProject", want.ID)
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.Project(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "Project", got, want, normProject)
			wantUTC(t, "Project.CreatedAt", &got.CreatedAt)
			for _, p := range []string{"team/Web-App", "TEAM/web-app"} {
				got, err := tx.ProjectByPath(ctx, p)
				if err != nil {
					t.Fatalf("ProjectByPath(%q): %v", p, err)
				}
				same(t, "ProjectByPath", got, want, normProject)
			}
			_, err = tx.Project(ctx, want.ID+1000)
			wantKind(t, "Project(missing)", err, botgate.KindNotFound)
			_, err = tx.ProjectByPath(ctx, "Web-App")
			wantKind(t, "ProjectByPath(no namespace)", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("CreateErrors", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var a, b *botgate.Group
		update(t, s, func(tx botgate.Tx) error {
			a = mustCreateGroup(ctx, t, tx, nil, "a")
			b = mustCreateGroup(ctx, t, tx, nil, "b")
			mustCreateProject(ctx, t, tx, a, "app")
			return nil
		})
		tests := []struct {
			name string
			p    botgate.Project
			kind botgate.Kind
		}{
			{"path taken", botgate.Project{Path: "app", PathWithNamespace: "a/app", NamespaceID: a.ID}, botgate.KindConflict},
			{"path taken in other case", botgate.Project{Path: "APP", PathWithNamespace: "a/APP", NamespaceID: a.ID}, botgate.KindConflict},
			{"namespace missing", botgate.Project{Path: "x", PathWithNamespace: "zz/x", NamespaceID: b.ID + 1000}, botgate.KindInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := tt.p
				p.Name, p.Visibility = "x", botgate.Private
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateProject(ctx, &p) })
				wantKind(t, "CreateProject", err, tt.kind)
			})
		}
		t.Run("same path in another namespace", func(t *testing.T) {
			update(t, s, func(tx botgate.Tx) error {
				mustCreateProject(ctx, t, tx, b, "app")
				return nil
			})
		})
	})

	t.Run("UpdateAndDelete", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var a, b *botgate.Group
		var p, q *botgate.Project
		var u *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			a = mustCreateGroup(ctx, t, tx, nil, "a")
			b = mustCreateGroup(ctx, t, tx, nil, "b")
			p = mustCreateProject(ctx, t, tx, a, "p")
			q = mustCreateProject(ctx, t, tx, a, "q")
			u = mustCreateUser(ctx, t, tx, newUser("dev", botgate.HumanUser))
			return tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.ProjectResource, ID: q.ID},
				UserID: u.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: base})
		})
		moved := *p
		moved.Name, moved.Path, moved.PathWithNamespace, moved.NamespaceID = "Moved", "moved", "b/moved", b.ID
		moved.Description, moved.Visibility, moved.DefaultBranch = "d", botgate.Public, "dev"
		moved.CreatedAt = at(50 * time.Hour) // ignored
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateProject(ctx, &moved) })
		want := moved
		want.CreatedAt = p.CreatedAt
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.ProjectByPath(ctx, "b/moved")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "updated Project", got, &want, normProject)
			return nil
		})
		updates := []struct {
			name   string
			change func(*botgate.Project)
			kind   botgate.Kind
		}{
			{"missing", func(x *botgate.Project) { x.ID += 1000 }, botgate.KindNotFound},
			{"path taken", func(x *botgate.Project) { x.NamespaceID, x.Path, x.PathWithNamespace = b.ID, "Moved", "b/Moved" }, botgate.KindConflict},
			{"namespace missing", func(x *botgate.Project) { x.NamespaceID = b.ID + 1000 }, botgate.KindInvalid},
		}
		for _, tt := range updates {
			t.Run("update "+tt.name, func(t *testing.T) {
				x := *q
				tt.change(&x)
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateProject(ctx, &x) })
				wantKind(t, "UpdateProject", err, tt.kind)
			})
		}

		err := s.Update(ctx, func(tx botgate.Tx) error { return tx.DeleteProject(ctx, q.ID) })
		wantKind(t, "DeleteProject(with member)", err, botgate.KindConflict)
		err = s.Update(ctx, func(tx botgate.Tx) error { return tx.DeleteProject(ctx, q.ID+1000) })
		wantKind(t, "DeleteProject(missing)", err, botgate.KindNotFound)
		update(t, s, func(tx botgate.Tx) error {
			if err := tx.DeleteMember(ctx, botgate.Resource{Type: botgate.ProjectResource, ID: q.ID}, u.ID); err != nil {
				return err
			}
			return tx.DeleteProject(ctx, q.ID)
		})
		view(t, s, func(tx botgate.Tx) error {
			_, err := tx.Project(ctx, q.ID)
			wantKind(t, "Project after delete", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("Find", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var ps [6]*botgate.Project
		var a, b *botgate.Group
		var u *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			a = mustCreateGroup(ctx, t, tx, nil, "alpha")
			b = mustCreateGroup(ctx, t, tx, nil, "beta")
			ps[0] = mustCreateProject(ctx, t, tx, a, "web")
			ps[1] = mustCreateProject(ctx, t, tx, b, "api")
			ps[2] = mustCreateProject(ctx, t, tx, a, "api_v2")
			ps[3] = mustCreateProject(ctx, t, tx, b, "docs")
			// alpha/sub/deep holds projects two levels below alpha.
			sub := mustCreateGroup(ctx, t, tx, a, "sub")
			deep := mustCreateGroup(ctx, t, tx, sub, "deep")
			ps[4] = mustCreateProject(ctx, t, tx, sub, "tool")
			ps[5] = mustCreateProject(ctx, t, tx, deep, "lib")
			u = mustCreateUser(ctx, t, tx, newUser("u", botgate.HumanUser))
			for _, p := range []*botgate.Project{ps[3], ps[0]} {
				if err := tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
					UserID: u.ID, AccessLevel: botgate.GuestAccess, CreatedAt: base}); err != nil {
					return err
				}
			}
			// A group membership must not make the group's projects match.
			return tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: a.ID},
				UserID: u.ID, AccessLevel: botgate.GuestAccess, CreatedAt: base})
		})
		id := func(i ...int) []int64 {
			out := []int64{}
			for _, n := range i {
				out = append(out, ps[n].ID)
			}
			return out
		}
		tests := []struct {
			name  string
			f     botgate.ProjectFilter
			want  []int64
			total int
		}{
			{"all", botgate.ProjectFilter{}, id(0, 1, 2, 3, 4, 5), 6},
			{"NamespaceID with subgroups", botgate.ProjectFilter{NamespaceID: a.ID, IncludeSubgroups: true}, id(0, 2, 4, 5), 4},
			{"NamespaceID without subgroups", botgate.ProjectFilter{NamespaceID: a.ID}, id(0, 2), 2},
			{"subgroups of a leaf", botgate.ProjectFilter{NamespaceID: b.ID, IncludeSubgroups: true}, id(1, 3), 2},
			{"IDs", botgate.ProjectFilter{IDs: id(3, 1)}, id(1, 3), 2},
			{"NamespaceID", botgate.ProjectFilter{NamespaceID: b.ID}, id(1, 3), 2},
			{"Search path", botgate.ProjectFilter{Search: "API"}, id(1, 2), 2},
			{"Search with namespace", botgate.ProjectFilter{Search: "beta/a"}, id(1), 1},
			{"Search name", botgate.ProjectFilter{Search: "project d"}, id(3), 1},
			{"Search literal underscore", botgate.ProjectFilter{Search: "i_v"}, id(2), 1},
			{"MemberID", botgate.ProjectFilter{MemberID: u.ID}, id(0, 3), 2},
			{"combined", botgate.ProjectFilter{NamespaceID: a.ID, Search: "api"}, id(2), 1},
			{"page", botgate.ProjectFilter{Page: botgate.Page{Offset: 1, Limit: 2}}, id(1, 2), 6},
			{"order by id, descending", botgate.ProjectFilter{Order: botgate.OrderBy{Field: "id", Desc: true}}, id(5, 4, 3, 2, 1, 0), 6},
			{"order by path", botgate.ProjectFilter{Order: botgate.OrderBy{Field: "path"}}, id(1, 2, 3, 5, 4, 0), 6},
			{"IDAfter (keyset)", botgate.ProjectFilter{IDAfter: ps[2].ID, Page: botgate.Page{Limit: 2}}, id(3, 4), 3},
			{"IDBefore, descending (keyset)", botgate.ProjectFilter{IDBefore: ps[2].ID, Order: botgate.OrderBy{Field: "id", Desc: true}}, id(1, 0), 2},
		}
		view(t, s, func(tx botgate.Tx) error {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, total, err := tx.FindProjects(ctx, tt.f)
					if err != nil {
						t.Fatal(err)
					}
					wantIDs(t, "FindProjects", ids(got, projectID), tt.want)
					wantTotal(t, "FindProjects", total, tt.total)
				})
			}
			got, _, err := tx.FindProjects(ctx, botgate.ProjectFilter{IDs: id(2)})
			if err != nil || len(got) != 1 {
				t.Fatalf("FindProjects by ID: %v, %v", got, err)
			}
			same(t, "FindProjects row", got[0], ps[2], normProject)
			return nil
		})
	})
}

func testMembers(t *testing.T, open func(t *testing.T) botgate.Store) {
	s, ctx := open(t), t.Context()
	var g, g2 *botgate.Group
	var p *botgate.Project
	var u1, u2, u3 *botgate.User
	update(t, s, func(tx botgate.Tx) error {
		g = mustCreateGroup(ctx, t, tx, nil, "g")
		g2 = mustCreateGroup(ctx, t, tx, nil, "g2")
		p = mustCreateProject(ctx, t, tx, g, "p")
		u1 = mustCreateUser(ctx, t, tx, newUser("u1", botgate.HumanUser))
		u2 = mustCreateUser(ctx, t, tx, newUser("u2", botgate.HumanUser))
		u3 = mustCreateUser(ctx, t, tx, newUser("u3", botgate.ProjectBot))
		return nil
	})
	gr := botgate.Resource{Type: botgate.GroupResource, ID: g.ID}
	g2r := botgate.Resource{Type: botgate.GroupResource, ID: g2.ID}
	pr := botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}
	exp := day(30)
	ms := []*botgate.Member{
		{Resource: pr, UserID: u3.ID, AccessLevel: botgate.MaintainerAccess, ExpiresAt: &exp, CreatedByID: u1.ID, CreatedAt: base},
		{Resource: gr, UserID: u2.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: at(time.Second)},
		{Resource: pr, UserID: u1.ID, AccessLevel: botgate.OwnerAccess, CreatedAt: at(2 * time.Second)},
		{Resource: gr, UserID: u1.ID, AccessLevel: botgate.OwnerAccess, CreatedAt: at(3 * time.Second)},
		{Resource: g2r, UserID: u2.ID, AccessLevel: botgate.ReporterAccess, CreatedAt: at(4 * time.Second)},
	}
	update(t, s, func(tx botgate.Tx) error {
		for _, m := range ms {
			if err := tx.CreateMember(ctx, m); err != nil {
				t.Fatalf("CreateMember: %v", err)
			}
		}
		return nil
	})

	t.Run("Read", func(t *testing.T) {
		view(t, s, func(tx botgate.Tx) error {
			for _, w := range ms {
				got, err := tx.Member(ctx, w.Resource, w.UserID)
				if err != nil {
					t.Fatalf("Member(%v, %d): %v", w.Resource, w.UserID, err)
				}
				same(t, "Member", got, w, normMember)
				wantUTC(t, "Member times", &got.CreatedAt, got.ExpiresAt)
			}
			_, err := tx.Member(ctx, g2r, u1.ID)
			wantKind(t, "Member(not a member)", err, botgate.KindNotFound)
			_, err = tx.Member(ctx, botgate.Resource{Type: botgate.ProjectResource, ID: g.ID}, u2.ID)
			wantKind(t, "Member(group ID as project)", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("CreateErrors", func(t *testing.T) {
		tests := []struct {
			name string
			m    botgate.Member
			kind botgate.Kind
		}{
			{"already a member", botgate.Member{Resource: gr, UserID: u2.ID, AccessLevel: botgate.GuestAccess}, botgate.KindConflict},
			{"user missing", botgate.Member{Resource: gr, UserID: u3.ID + 1000, AccessLevel: botgate.GuestAccess}, botgate.KindInvalid},
			{"group missing", botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: g2.ID + 1000}, UserID: u1.ID, AccessLevel: botgate.GuestAccess}, botgate.KindInvalid},
			{"project missing", botgate.Member{Resource: botgate.Resource{Type: botgate.ProjectResource, ID: p.ID + 1000}, UserID: u1.ID, AccessLevel: botgate.GuestAccess}, botgate.KindInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := tt.m
				m.CreatedAt = base
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateMember(ctx, &m) })
				wantKind(t, "CreateMember", err, tt.kind)
			})
		}
	})

	t.Run("Find", func(t *testing.T) {
		// Groups before projects, each by resource ID, then by user ID.
		type key = [3]int64
		k := func(m *botgate.Member) key { return memberKey(m) }
		tests := []struct {
			name  string
			f     botgate.MemberFilter
			want  []*botgate.Member
			total int
		}{
			{"all", botgate.MemberFilter{}, []*botgate.Member{ms[3], ms[1], ms[4], ms[2], ms[0]}, 5},
			{"group", botgate.MemberFilter{Resource: &gr}, []*botgate.Member{ms[3], ms[1]}, 2},
			{"project", botgate.MemberFilter{Resource: &pr}, []*botgate.Member{ms[2], ms[0]}, 2},
			{"user", botgate.MemberFilter{UserID: u2.ID}, []*botgate.Member{ms[1], ms[4]}, 2},
			{"resource and user", botgate.MemberFilter{Resource: &pr, UserID: u1.ID}, []*botgate.Member{ms[2]}, 1},
			{"page", botgate.MemberFilter{Page: botgate.Page{Offset: 1, Limit: 3}}, []*botgate.Member{ms[1], ms[4], ms[2]}, 5},
			// ActiveAt keeps memberships without expiry or expiring after it:
			// ms[0] expires at day(30).
			{"ActiveAt before expiry", botgate.MemberFilter{Resource: &pr, ActiveAt: ptr(day(30).Add(-time.Microsecond))}, []*botgate.Member{ms[2], ms[0]}, 2},
			{"ActiveAt at expiry", botgate.MemberFilter{Resource: &pr, ActiveAt: ptr(day(30))}, []*botgate.Member{ms[2]}, 1},
			{"ActiveAt after expiry", botgate.MemberFilter{ActiveAt: ptr(day(31)), Page: botgate.Page{Limit: 10}}, []*botgate.Member{ms[3], ms[1], ms[4], ms[2]}, 4},
			// Inherited: one row per user, by user ID; u1 is Owner of both
			// p and g, and the nearer (p's) row wins; u2 comes from g, not
			// from the unrelated g2.
			{"inherited on a project", botgate.MemberFilter{Resource: &pr, Inherited: true}, []*botgate.Member{ms[2], ms[1], ms[0]}, 3},
			{"inherited on a group", botgate.MemberFilter{Resource: &gr, Inherited: true}, []*botgate.Member{ms[3], ms[1]}, 2},
			{"inherited, one user", botgate.MemberFilter{Resource: &pr, Inherited: true, UserID: u2.ID}, []*botgate.Member{ms[1]}, 1},
			{"inherited, paged", botgate.MemberFilter{Resource: &pr, Inherited: true, Page: botgate.Page{Offset: 1, Limit: 1}}, []*botgate.Member{ms[1]}, 3},
		}
		view(t, s, func(tx botgate.Tx) error {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, total, err := tx.FindMembers(ctx, tt.f)
					if err != nil {
						t.Fatal(err)
					}
					wantTotal(t, "FindMembers", total, tt.total)
					if len(got) != len(tt.want) {
						t.Fatalf("FindMembers: got %d members %s, want %d", len(got), dump(got), len(tt.want))
					}
					for i := range got {
						if k(got[i]) != k(tt.want[i]) {
							t.Errorf("FindMembers[%d]: got %v, want %v", i, k(got[i]), k(tt.want[i]))
						}
						same(t, "FindMembers row", got[i], tt.want[i], normMember)
					}
				})
			}
			return nil
		})
	})

	t.Run("Update", func(t *testing.T) {
		changed := *ms[1]
		changed.AccessLevel = botgate.MaintainerAccess
		changed.ExpiresAt = ptr(day(7))
		changed.CreatedAt = at(time.Hour) // ignored
		changed.CreatedByID = 12345       // ignored
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateMember(ctx, &changed) })
		want := *ms[1]
		want.AccessLevel, want.ExpiresAt = changed.AccessLevel, changed.ExpiresAt
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.Member(ctx, gr, u2.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "updated Member", got, &want, normMember)
			return nil
		})
		cleared := want
		cleared.ExpiresAt = nil
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateMember(ctx, &cleared) })
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.Member(ctx, gr, u2.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "Member with expiry cleared", got, &cleared, normMember)
			return nil
		})
		missing := changed
		missing.Resource = g2r
		missing.UserID = u3.ID
		err := s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateMember(ctx, &missing) })
		wantKind(t, "UpdateMember(missing)", err, botgate.KindNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		update(t, s, func(tx botgate.Tx) error { return tx.DeleteMember(ctx, g2r, u2.ID) })
		view(t, s, func(tx botgate.Tx) error {
			_, err := tx.Member(ctx, g2r, u2.ID)
			wantKind(t, "Member after delete", err, botgate.KindNotFound)
			got, total, err := tx.FindMembers(ctx, botgate.MemberFilter{UserID: u2.ID})
			if err != nil {
				t.Fatal(err)
			}
			wantTotal(t, "FindMembers after delete", total, 1)
			wantIDs(t, "FindMembers after delete", ids(got, memberUser), []int64{u2.ID})
			return nil
		})
		err := s.Update(ctx, func(tx botgate.Tx) error { return tx.DeleteMember(ctx, g2r, u2.ID) })
		wantKind(t, "DeleteMember twice", err, botgate.KindNotFound)
	})
}
