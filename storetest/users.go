package storetest

import (
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func testUsers(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("CreateAndRead", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		zone := time.FixedZone("UTC+5", 5*3600)
		want := &botgate.User{
			Username: "Ann.Admin", Name: "Ann Ädmin", Email: "ann@example.com", Kind: botgate.HumanUser,
			Admin: true, State: botgate.UserActive, CreatedByID: 7, CreatedAt: base.In(zone),
		}
		bot := &botgate.User{
			Username: "project_3_bot_x1", Name: "deploy bot", Kind: botgate.ProjectBot, State: botgate.UserBlocked,
			Owner: botgate.Resource{Type: botgate.ProjectResource, ID: 3}, CreatedAt: at(time.Hour),
		}
		update(t, s, func(tx botgate.Tx) error {
			mustCreateUser(ctx, t, tx, want)
			mustCreateUser(ctx, t, tx, bot)
			return nil
		})
		distinctPositive(t, "CreateUser", want.ID, bot.ID)
		view(t, s, func(tx botgate.Tx) error {
			for _, w := range []*botgate.User{want, bot} {
				got, err := tx.User(ctx, w.ID)
				if err != nil {
					t.Fatalf("User(%d): %v", w.ID, err)
				}
				same(t, "User", got, w, normUser)
				wantUTC(t, "User.CreatedAt", &got.CreatedAt)
			}
			for _, name := range []string{"Ann.Admin", "ann.admin", "ANN.ADMIN"} {
				got, err := tx.UserByUsername(ctx, name)
				if err != nil {
					t.Fatalf("UserByUsername(%q): %v", name, err)
				}
				same(t, "UserByUsername "+name, got, want, normUser)
			}
			return nil
		})
	})

	t.Run("NotFound", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var u *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			u = mustCreateUser(ctx, t, tx, newUser("someone", botgate.HumanUser))
			return nil
		})
		view(t, s, func(tx botgate.Tx) error {
			_, err := tx.User(ctx, u.ID+1000)
			wantKind(t, "User(missing)", err, botgate.KindNotFound)
			_, err = tx.UserByUsername(ctx, "nobody")
			wantKind(t, "UserByUsername(missing)", err, botgate.KindNotFound)
			_, err = tx.UserByUsername(ctx, "someon")
			wantKind(t, "UserByUsername(prefix)", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("CreateConflicts", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		update(t, s, func(tx botgate.Tx) error {
			mustCreateUser(ctx, t, tx, newUser("taken", botgate.HumanUser))
			return nil
		})
		tests := []struct {
			name     string
			username string
			email    string
			kind     botgate.Kind
		}{
			{"same username", "taken", "other1@example.com", botgate.KindConflict},
			{"username in other case", "TAKEN", "other2@example.com", botgate.KindConflict},
			{"same email", "fresh1", "taken@example.com", botgate.KindConflict},
			{"email in other case", "fresh2", "Taken@Example.COM", botgate.KindConflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := newUser(tt.username, botgate.HumanUser)
				u.Email = tt.email
				err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, u) })
				wantKind(t, "CreateUser", err, tt.kind)
			})
		}
		t.Run("empty emails never clash", func(t *testing.T) {
			a, b := newUser("bot-a", botgate.ServiceAccount), newUser("bot-b", botgate.ServiceAccount)
			a.Email, b.Email = "", ""
			update(t, s, func(tx botgate.Tx) error {
				mustCreateUser(ctx, t, tx, a)
				mustCreateUser(ctx, t, tx, b)
				return nil
			})
			view(t, s, func(tx botgate.Tx) error {
				got, err := tx.User(ctx, b.ID)
				if err != nil {
					t.Fatal(err)
				}
				same(t, "User with no email", got, b, normUser)
				return nil
			})
		})
	})

	t.Run("Update", func(t *testing.T) {
		s, ctx := open(t), t.Context()
		var u, other *botgate.User
		update(t, s, func(tx botgate.Tx) error {
			u = mustCreateUser(ctx, t, tx, newUser("before", botgate.HumanUser))
			other = mustCreateUser(ctx, t, tx, newUser("other", botgate.HumanUser))
			return nil
		})
		changed := *u
		changed.Username = "after"
		changed.Name = "After"
		changed.Email = "after@example.com"
		changed.Kind = botgate.ServiceAccount
		changed.Admin = true
		changed.State = botgate.UserDeactivated
		changed.Owner = botgate.Resource{Type: botgate.GroupResource, ID: 42}
		changed.CreatedByID = other.ID
		changed.CreatedAt = at(1000 * time.Hour) // ignored
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateUser(ctx, &changed) })
		want := changed
		want.CreatedAt = u.CreatedAt
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "updated User", got, &want, normUser)
			_, err = tx.UserByUsername(ctx, "before")
			wantKind(t, "old username", err, botgate.KindNotFound)
			return nil
		})

		missing := changed
		missing.ID = other.ID + 1000
		missing.Username = "ghost"
		missing.Email = "ghost@example.com"
		err := s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateUser(ctx, &missing) })
		wantKind(t, "UpdateUser(missing)", err, botgate.KindNotFound)

		clash := *other
		clash.Username = "AFTER"
		err = s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateUser(ctx, &clash) })
		wantKind(t, "UpdateUser(taken username)", err, botgate.KindConflict)
		clash = *other
		clash.Email = "after@example.com"
		err = s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateUser(ctx, &clash) })
		wantKind(t, "UpdateUser(taken email)", err, botgate.KindConflict)
	})

	t.Run("Find", func(t *testing.T) { testFindUsers(t, open(t)) })
}

func testFindUsers(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	proj := botgate.Resource{Type: botgate.ProjectResource, ID: 9}
	grp := botgate.Resource{Type: botgate.GroupResource, ID: 9}
	us := []*botgate.User{
		{Username: "alice", Name: "Alice Liddell", Email: "alice@wonder.land", Kind: botgate.HumanUser, Admin: true, State: botgate.UserActive},
		{Username: "bob", Name: "Bob Builder", Email: "bob@example.com", Kind: botgate.HumanUser, State: botgate.UserBlocked},
		{Username: "project_9_bot_a", Name: "deploy", Email: "", Kind: botgate.ProjectBot, State: botgate.UserActive, Owner: proj},
		{Username: "group_9_bot_b", Name: "triage", Email: "", Kind: botgate.GroupBot, State: botgate.UserDeactivated, Owner: grp},
		{Username: "svc-release", Name: "Release 100%", Email: "rel@example.com", Kind: botgate.ServiceAccount, State: botgate.UserActive, Owner: grp},
	}
	update(t, s, func(tx botgate.Tx) error {
		for _, u := range us {
			u.CreatedAt = base
			mustCreateUser(ctx, t, tx, u)
		}
		return nil
	})
	id := func(i ...int) []int64 {
		out := []int64{}
		for _, n := range i {
			out = append(out, us[n].ID)
		}
		return out
	}
	tests := []struct {
		name  string
		f     botgate.UserFilter
		want  []int64
		total int
	}{
		{"all", botgate.UserFilter{}, id(0, 1, 2, 3, 4), 5},
		{"IDs", botgate.UserFilter{IDs: id(3, 0)}, id(0, 3), 2},
		{"IDs, a long list", botgate.UserFilter{IDs: longIDs(id(3, 0)...)}, id(0, 3), 2},
		{"IDs with unknown", botgate.UserFilter{IDs: []int64{us[4].ID + 1000}}, nil, 0},
		{"Username any case", botgate.UserFilter{Username: "BOB"}, id(1), 1},
		{"Username is exact", botgate.UserFilter{Username: "bo"}, nil, 0},
		{"Search username", botgate.UserFilter{Search: "BOT_"}, id(2, 3), 2},
		{"Search name", botgate.UserFilter{Search: "liddell"}, id(0), 1},
		{"Search email", botgate.UserFilter{Search: "wonder.LAND"}, id(0), 1},
		{"NameSearch username", botgate.UserFilter{NameSearch: "BOT_"}, id(2, 3), 2},
		{"NameSearch name", botgate.UserFilter{NameSearch: "liddell"}, id(0), 1},
		{"NameSearch not email", botgate.UserFilter{NameSearch: "wonder.LAND"}, nil, 0},
		{"Search literal percent", botgate.UserFilter{Search: "100%"}, id(4), 1},
		{"Search literal underscore", botgate.UserFilter{Search: "_"}, id(2, 3), 2},
		{"Search literal percent only", botgate.UserFilter{Search: "%"}, id(4), 1},
		{"Kinds", botgate.UserFilter{Kinds: []botgate.UserKind{botgate.ProjectBot, botgate.GroupBot}}, id(2, 3), 2},
		{"Owner group", botgate.UserFilter{Owner: &grp}, id(3, 4), 2},
		{"Owner project", botgate.UserFilter{Owner: &proj}, id(2), 1},
		{"Admin true", botgate.UserFilter{Admin: ptr(true)}, id(0), 1},
		{"Admin false", botgate.UserFilter{Admin: ptr(false)}, id(1, 2, 3, 4), 4},
		{"State", botgate.UserFilter{State: botgate.UserActive}, id(0, 2, 4), 3},
		{"combined", botgate.UserFilter{Kinds: []botgate.UserKind{botgate.HumanUser, botgate.ServiceAccount}, State: botgate.UserActive}, id(0, 4), 2},
		{"page", botgate.UserFilter{Page: botgate.Page{Offset: 1, Limit: 2}}, id(1, 2), 5},
		{"page past end", botgate.UserFilter{Page: botgate.Page{Offset: 4, Limit: 2}}, id(4), 5},
		{"offset only", botgate.UserFilter{Page: botgate.Page{Offset: 3}}, id(3, 4), 5},
		{"offset beyond", botgate.UserFilter{Page: botgate.Page{Offset: 10, Limit: 2}}, nil, 5},
		{"filter and page", botgate.UserFilter{State: botgate.UserActive, Page: botgate.Page{Limit: 1, Offset: 1}}, id(2), 3},
		{"order by id, descending", botgate.UserFilter{Order: botgate.OrderBy{Field: "id", Desc: true}}, id(4, 3, 2, 1, 0), 5},
		{"order by username", botgate.UserFilter{Order: botgate.OrderBy{Field: "username"}}, id(0, 1, 3, 2, 4), 5},
		{"order by username, descending, paged", botgate.UserFilter{Order: botgate.OrderBy{Field: "username", Desc: true}, Page: botgate.Page{Offset: 1, Limit: 2}}, id(2, 3), 5},
		{"order by created_at: ties by id in the same direction", botgate.UserFilter{Order: botgate.OrderBy{Field: "created_at", Desc: true}}, id(4, 3, 2, 1, 0), 5},
		{"order by username, descending, filter and page", botgate.UserFilter{Owner: &grp, Order: botgate.OrderBy{Field: "username", Desc: true}, Page: botgate.Page{Limit: 1}}, id(4), 2},
	}
	view(t, s, func(tx botgate.Tx) error {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := tx.FindUsers(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				wantIDs(t, "FindUsers", ids(got, func(u *botgate.User) int64 { return u.ID }), tt.want)
				wantTotal(t, "FindUsers", total, tt.total)
			})
		}
		_, _, err := tx.FindUsers(ctx, botgate.UserFilter{Order: botgate.OrderBy{Field: "email"}})
		wantKind(t, "FindUsers(unknown order)", err, botgate.KindInvalid)
		got, _, err := tx.FindUsers(ctx, botgate.UserFilter{IDs: id(4)})
		if err != nil || len(got) != 1 {
			t.Fatalf("FindUsers by ID: %v, %v", got, err)
		}
		same(t, "FindUsers row", got[0], us[4], normUser)
		_, _, err = tx.FindUsers(ctx, botgate.UserFilter{Order: botgate.OrderBy{Field: "email"}})
		if !botgate.IsKind(err, botgate.KindInvalid) {
			t.Fatalf("FindUsers ordered by an unknown field: %v, want KindInvalid", err)
		}
		return nil
	})
}
