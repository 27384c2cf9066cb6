package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// TestAddSeveralMembersRefusedAsOne: a person who sees an internal project
// but holds no role on it may not add members; adding several at once
// (comma-separated user_id) must be refused as adding one is (404), not
// answered 201 with the refusal folded into a per-user message.
func TestAddSeveralMembersRefusedAsOne(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ru, err := e.auth.UserByRef(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	root := authority.Actor{User: ru}
	g, err := e.auth.CreateGroup(ctx, root, authority.NewGroup{Name: "Open", Path: "open", Visibility: botgate.Internal})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.auth.CreateProject(ctx, root, authority.NewProject{Name: "App", Path: "app", NamespaceID: g.ID, Visibility: botgate.Internal})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, n := range []string{"mallory", "dave", "erin"} {
		u, err := e.auth.CreateUser(ctx, root, authority.NewUser{Username: n, Name: n, Email: n + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	c, err := e.auth.CreatePersonalToken(ctx, root, ids[0], authority.NewToken{Name: "m", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	e.remember(c.Secret)
	for _, path := range []string{fmt.Sprintf("/api/v4/projects/%d/members", p.ID), fmt.Sprintf("/api/v4/groups/%d/members", g.ID)} {
		one := e.postJSON("POST", path, c.Secret, map[string]any{"user_id": ids[1], "access_level": 10})
		several := e.postJSON("POST", path, c.Secret, map[string]any{"user_id": fmt.Sprintf("%d,%d", ids[1], ids[2]), "access_level": 10})
		if one.status != http.StatusNotFound || several.status != one.status {
			t.Errorf("%s by a non-member: one user HTTP %d, several HTTP %d %s; want both 404", path, one.status, several.status, several.body)
		}
	}
}
