package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// testVisibleTo checks the VisibleTo filter of FindGroups and FindProjects:
// public ones for everyone, internal ones for signed-in viewers, private
// ones through a current membership of them or of a group above them (at
// most 32 groups up), with paging and totals counted after the filter.
func testVisibleTo(t *testing.T, open func(t *testing.T) botgate.Store) {
	s, ctx := open(t), t.Context()
	var (
		alice, bob                             *botgate.User
		team, sub, deep, other, old, pub, intl *botgate.Group
		app, solo, site, tool, stale           *botgate.Project
		tall                                   []*botgate.Group
	)
	member := func(tx botgate.Tx, r botgate.Resource, u *botgate.User, exp *time.Time) {
		t.Helper()
		m := &botgate.Member{Resource: r, UserID: u.ID, AccessLevel: botgate.DeveloperAccess, ExpiresAt: exp, CreatedAt: base}
		if err := tx.CreateMember(ctx, m); err != nil {
			t.Fatalf("CreateMember %s: %v", r, err)
		}
	}
	groupRes := func(g *botgate.Group) botgate.Resource {
		return botgate.Resource{Type: botgate.GroupResource, ID: g.ID}
	}
	update(t, s, func(tx botgate.Tx) error {
		alice = mustCreateUser(ctx, t, tx, newUser("alice", botgate.HumanUser))
		bob = mustCreateUser(ctx, t, tx, newUser("bob", botgate.HumanUser))
		team = mustCreateGroup(ctx, t, tx, nil, "team")
		sub = mustCreateGroup(ctx, t, tx, team, "sub")
		deep = mustCreateGroup(ctx, t, tx, sub, "deep")
		other = mustCreateGroup(ctx, t, tx, nil, "other")
		old = mustCreateGroup(ctx, t, tx, nil, "old")
		pub = mustCreateGroup(ctx, t, tx, nil, "pub")
		pub.Visibility = botgate.Public
		intl = mustCreateGroup(ctx, t, tx, nil, "intl")
		intl.Visibility = botgate.Internal
		for _, g := range []*botgate.Group{pub, intl} {
			if err := tx.UpdateGroup(ctx, g); err != nil {
				return err
			}
		}
		private := func(p *botgate.Project) *botgate.Project {
			p.Visibility = botgate.Private
			if err := tx.UpdateProject(ctx, p); err != nil {
				t.Fatalf("UpdateProject: %v", err)
			}
			return p
		}
		app = private(mustCreateProject(ctx, t, tx, deep, "app"))
		private(mustCreateProject(ctx, t, tx, other, "secret"))
		solo = private(mustCreateProject(ctx, t, tx, other, "solo"))
		stale = private(mustCreateProject(ctx, t, tx, old, "stale"))
		site = mustCreateProject(ctx, t, tx, pub, "site")
		site.Visibility = botgate.Public
		if err := tx.UpdateProject(ctx, site); err != nil {
			return err
		}
		tool = mustCreateProject(ctx, t, tx, intl, "tool") // internal
		member(tx, groupRes(team), alice, nil)
		member(tx, botgate.Resource{Type: botgate.ProjectResource, ID: solo.ID}, alice, nil)
		member(tx, groupRes(old), alice, ptr(day(1)))
		member(tx, groupRes(other), bob, ptr(day(-1)))
		// A chain 33 groups deep below tall, of which alice is a member:
		// the membership walk reaches tall from 31 levels down, not 32.
		g := mustCreateGroup(ctx, t, tx, nil, "tall")
		member(tx, groupRes(g), alice, nil)
		tall = append(tall, g)
		for i := 1; i <= 32; i++ {
			g = mustCreateGroup(ctx, t, tx, g, "l"+strconv.Itoa(i))
			tall = append(tall, g)
		}
		return nil
	})
	tallIDs := ids(tall[:32], groupID)
	now := day(0)
	aliceGroups := append([]int64{team.ID, sub.ID, deep.ID, old.ID, pub.ID, intl.ID}, tallIDs...)
	groupTests := []struct {
		name  string
		f     botgate.GroupFilter
		want  []int64
		total int
	}{
		{"member, through groups above", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}}, aliceGroups, len(aliceGroups)},
		{"membership expired at the time", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: day(1)}},
			append([]int64{team.ID, sub.ID, deep.ID, pub.ID, intl.ID}, tallIDs...), len(aliceGroups) - 1},
		{"expired membership only", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: bob.ID, At: now}}, []int64{pub.ID, intl.ID}, 2},
		{"anonymous", botgate.GroupFilter{VisibleTo: &botgate.Viewer{At: now}}, []int64{pub.ID}, 1},
		{"paged", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}, Page: botgate.Page{Offset: 1, Limit: 2}},
			[]int64{sub.ID, deep.ID}, len(aliceGroups)},
		{"with search", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}, Search: "d"}, []int64{deep.ID, old.ID}, 2},
		{"with parent", botgate.GroupFilter{VisibleTo: &botgate.Viewer{UserID: bob.ID, At: now}, ParentID: ptr(int64(0))}, []int64{pub.ID, intl.ID}, 2},
		{"no viewer", botgate.GroupFilter{ParentID: ptr(team.ID)}, []int64{sub.ID}, 1},
	}
	projectTests := []struct {
		name  string
		f     botgate.ProjectFilter
		want  []int64
		total int
	}{
		{"member of the project or a group above", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}},
			[]int64{app.ID, solo.ID, stale.ID, site.ID, tool.ID}, 5},
		{"membership expired at the time", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: day(1)}},
			[]int64{app.ID, solo.ID, site.ID, tool.ID}, 4},
		{"expired membership only", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{UserID: bob.ID, At: now}}, []int64{site.ID, tool.ID}, 2},
		{"anonymous", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{At: now}}, []int64{site.ID}, 1},
		{"paged", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}, Page: botgate.Page{Offset: 3, Limit: 3}},
			[]int64{site.ID, tool.ID}, 5},
		{"in a namespace", botgate.ProjectFilter{VisibleTo: &botgate.Viewer{UserID: alice.ID, At: now}, NamespaceID: other.ID}, []int64{solo.ID}, 1},
	}
	view(t, s, func(tx botgate.Tx) error {
		for _, tt := range groupTests {
			t.Run("Groups/"+tt.name, func(t *testing.T) {
				got, total, err := tx.FindGroups(ctx, tt.f)
				if err != nil {
					t.Fatalf("FindGroups: %v", err)
				}
				wantIDs(t, "FindGroups", ids(got, groupID), tt.want)
				wantTotal(t, "FindGroups", total, tt.total)
			})
		}
		for _, tt := range projectTests {
			t.Run("Projects/"+tt.name, func(t *testing.T) {
				got, total, err := tx.FindProjects(ctx, tt.f)
				if err != nil {
					t.Fatalf("FindProjects: %v", err)
				}
				wantIDs(t, "FindProjects", ids(got, projectID), tt.want)
				wantTotal(t, "FindProjects", total, tt.total)
			})
		}
		return nil
	})
}
