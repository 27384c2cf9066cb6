package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/internal/golden"
)

// compatCase is one request of a compatibility golden file.
type compatCase struct {
	name   string
	method string
	path   string
	token  string
	header map[string]string
	body   any // JSON, if not nil
}

// compatHeaders are the response headers a compatibility golden file
// records, when present: the ones GitLab clients read.
var compatHeaders = []string{
	"Link", "X-Next-Page", "X-Page", "X-Per-Page", "X-Prev-Page", "X-Total", "X-Total-Pages",
	"Www-Authenticate",
	"Ratelimit-Name", "Ratelimit-Limit", "Ratelimit-Observed", "Ratelimit-Remaining", "Ratelimit-Reset",
	"Ratelimit-Resettime", "Retry-After",
}

// compatLog records requests and their answers (status, the headers
// clients read, the body byte for byte) for a golden file.
type compatLog struct {
	e   *env
	out strings.Builder
}

// do sends c, records it, and returns the answer.
func (l *compatLog) do(t *testing.T, c compatCase) response {
	t.Helper()
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(c.method, l.e.srv.URL+c.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("PRIVATE-TOKEN", c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res := l.e.send(req)
	fmt.Fprintf(&l.out, "== %s\n%s %s\n%d\n", c.name, c.method, c.path, res.status)
	for _, h := range compatHeaders {
		if v, ok := res.header[h]; ok {
			fmt.Fprintf(&l.out, "%s: %s\n", h, strings.ReplaceAll(strings.Join(v, ", "), l.e.srv.URL, "http://botgate"))
		}
	}
	fmt.Fprintf(&l.out, "%s\n", strings.ReplaceAll(string(bytes.TrimSuffix(res.body, []byte("\n"))), l.e.srv.URL, "http://botgate"))
	return res
}

// golden compares what was recorded with testdata/name.
func (l *compatLog) golden(t *testing.T, name string) {
	t.Helper()
	golden.Check(t, name, []byte(l.out.String()))
}

// TestCompatRevokeTwice records that revoking an already revoked token
// answers 204, as GitLab's DELETE endpoints do (PersonalAccessToken#revoke!
// is idempotent), for every kind of token and /admin/token.
func TestCompatRevokeTwice(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	pid, gid := f.project.ID, f.group.ID
	pat := f.patFor(t, f.bobID, "bob-old", []string{"api"})
	prat := f.resourceToken(t, "projects", pid, "deploy")
	grat := f.resourceToken(t, "groups", gid, "triage")
	adm := f.patFor(t, f.bobID, "bob-leaked", []string{"api"})
	for _, c := range []compatCase{
		{name: "revoke a personal access token", method: "DELETE", path: fmt.Sprintf("/api/v4/personal_access_tokens/%d", pat.id), token: f.bobTok},
		{name: "revoke it again", method: "DELETE", path: fmt.Sprintf("/api/v4/personal_access_tokens/%d", pat.id), token: f.bobTok},
		{name: "revoke a project access token", method: "DELETE", path: fmt.Sprintf("/api/v4/projects/%d/access_tokens/%d", pid, prat.id), token: f.aliceTok},
		{name: "revoke it again", method: "DELETE", path: fmt.Sprintf("/api/v4/projects/%d/access_tokens/%d", pid, prat.id), token: f.aliceTok},
		{name: "revoke a group access token", method: "DELETE", path: fmt.Sprintf("/api/v4/groups/%d/access_tokens/%d", gid, grat.id), token: f.aliceTok},
		{name: "revoke it again", method: "DELETE", path: fmt.Sprintf("/api/v4/groups/%d/access_tokens/%d", gid, grat.id), token: f.aliceTok},
		{name: "revoke by secret", method: "DELETE", path: "/api/v4/admin/token", token: f.root, body: map[string]string{"token": adm.secret}},
		{name: "revoke by secret again", method: "DELETE", path: "/api/v4/admin/token", token: f.root, body: map[string]string{"token": adm.secret}},
		{name: "look the revoked token up", method: "POST", path: "/api/v4/admin/token", token: f.root, body: map[string]string{"token": adm.secret}},
		{name: "a missing token is still 404", method: "DELETE", path: "/api/v4/personal_access_tokens/9999", token: f.root},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_revoke.golden")
}

// issued is a token a compatibility test created: its id and secret.
type issued struct {
	id     int64
	secret string
}

// patFor creates a personal access token for a user, as the administrator.
func (f *fixture) patFor(t *testing.T, userID int64, name string, scopes []string) issued {
	t.Helper()
	res := f.postJSON("POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", userID), f.root,
		map[string]any{"name": name, "scopes": scopes})
	return f.issued(t, res)
}

// resourceToken creates a project or group access token as alice, the
// group's Owner.
func (f *fixture) resourceToken(t *testing.T, res string, id int64, name string) issued {
	t.Helper()
	r := f.postJSON("POST", fmt.Sprintf("/api/v4/%s/%d/access_tokens", res, id), f.aliceTok,
		map[string]any{"name": name, "scopes": []string{"api"}, "access_level": 30})
	return f.issued(t, r)
}

func (f *fixture) issued(t *testing.T, res response) issued {
	t.Helper()
	if res.status != http.StatusCreated {
		t.Fatalf("creating a token: %d %s", res.status, res.body)
	}
	var v struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatal(err)
	}
	f.remember(v.Token)
	return issued{id: v.ID, secret: v.Token}
}

// TestCompatStatusCodes records the answers whose status GitLab words
// per endpoint: 422 for a broken rule when creating a personal access
// token (render_api_error!(message, :unprocessable_entity)), 400 for the
// same rule on a project access token (bad_request!), 400 for parameter
// errors (Grape), and /admin/token's 422 for a token type it does not
// handle and its own 404 body.
func TestCompatStatusCodes(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	far := f.clock.Now().AddDate(3, 0, 0).Format("2006-01-02")
	past := f.clock.Now().AddDate(0, 0, -3).Format("2006-01-02")
	sa := f.postJSON("POST", fmt.Sprintf("/api/v4/groups/%d/service_accounts", f.group.ID), f.aliceTok, map[string]any{"name": "ci"}).json(t)
	saTokens := fmt.Sprintf("/api/v4/groups/%d/service_accounts/%v/personal_access_tokens", f.group.ID, sa["id"])
	for _, c := range []compatCase{
		{name: "PAT beyond the maximum lifetime", method: "POST", path: fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", f.bobID), token: f.root,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": far}},
		{name: "PAT expiring in the past", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": past}},
		{name: "PAT with a name too long", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": strings.Repeat("n", 300), "scopes": []string{"api"}}},
		{name: "PAT with a scope the user may not hold", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"sudo"}}},
		{name: "service account PAT beyond the maximum lifetime", method: "POST", path: saTokens, token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": far}},
		{name: "PAT without scopes is a parameter error", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": "x"}},
		{name: "PAT with an unknown scope is a parameter error", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"everything"}}},
		{name: "PAT with a malformed date is a parameter error", method: "POST", path: "/api/v4/user/personal_access_tokens", token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": "soon"}},
		{name: "project access token beyond the maximum lifetime", method: "POST", path: fmt.Sprintf("/api/v4/projects/%d/access_tokens", f.project.ID), token: f.aliceTok,
			body: map[string]any{"name": "x", "scopes": []string{"api"}, "expires_at": far}},
		{name: "admin token of a type botgate does not issue", method: "POST", path: "/api/v4/admin/token", token: f.root,
			body: map[string]string{"token": "gldt-0123456789abcdefghij"}},
		{name: "admin token revoke of a type botgate does not issue", method: "DELETE", path: "/api/v4/admin/token", token: f.root,
			body: map[string]string{"token": "glrt-0123456789abcdefghij"}},
		{name: "admin token unknown", method: "POST", path: "/api/v4/admin/token", token: f.root,
			body: map[string]string{"token": "glpat-0123456789abcdefghij"}},
		{name: "admin token without a token", method: "POST", path: "/api/v4/admin/token", token: f.root, body: map[string]string{}},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_status.golden")
}

// TestCompatInvalidTokenChallenge records the WWW-Authenticate header
// GitLab sends with an invalid_token 401 (rack-oauth2's Bearer
// challenge), and that other 401s carry none.
func TestCompatInvalidTokenChallenge(t *testing.T) {
	f := newErrorsEnv(t).fixture
	l := &compatLog{e: f.env}
	revoked := f.patFor(t, f.bobID, "revoked", []string{"api"})
	f.postJSON("DELETE", fmt.Sprintf("/api/v4/personal_access_tokens/%d", revoked.id), f.root, nil)
	tomorrow := f.clock.Now().AddDate(0, 0, 1).Format("2006-01-02")
	exp := f.issued(t, f.postJSON("POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", f.bobID), f.root,
		map[string]any{"name": "expiring", "scopes": []string{"api"}, "expires_at": tomorrow}))
	f.clock.Advance(48 * time.Hour)
	for _, c := range []compatCase{
		{name: "revoked token", method: "GET", path: "/api/v4/user", token: revoked.secret},
		{name: "expired token", method: "GET", path: "/api/v4/user", token: exp.secret},
		{name: "revoked token as Bearer", method: "GET", path: "/api/v4/projects", header: map[string]string{"Authorization": "Bearer " + revoked.secret}},
		{name: "no token", method: "GET", path: "/api/v4/user"},
		{name: "revoked token at the gateway's forward-auth", method: "GET", path: "/-/auth", token: revoked.secret,
			header: map[string]string{"X-Original-Method": "GET", "X-Original-URI": fmt.Sprintf("/api/v4/projects/%d/issues", f.project.ID)}},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_challenge.golden")
}

// TestCompatVersionMetadataNamespaces records GET /version, GET /metadata
// and GET /namespaces (list, by id, by URL-encoded path) in GitLab's
// shapes, with GitLab's visibility: an administrator sees every
// namespace, anyone else the groups they are a direct member of.
func TestCompatVersionMetadataNamespaces(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	other := f.postJSON("POST", "/api/v4/groups", f.root, map[string]any{"name": "Secret", "path": "secret", "visibility": "private"})
	if other.status != http.StatusCreated {
		t.Fatalf("creating a group: %d %s", other.status, other.body)
	}
	for _, c := range []compatCase{
		{name: "version", method: "GET", path: "/api/v4/version", token: f.bobTok},
		{name: "metadata", method: "GET", path: "/api/v4/metadata", token: f.bobTok},
		{name: "metadata needs a token", method: "GET", path: "/api/v4/metadata"},
		{name: "namespaces of an administrator", method: "GET", path: "/api/v4/namespaces", token: f.root},
		{name: "namespaces of a group owner", method: "GET", path: "/api/v4/namespaces", token: f.aliceTok},
		{name: "namespaces of a project member", method: "GET", path: "/api/v4/namespaces", token: f.bobTok},
		{name: "top-level namespaces", method: "GET", path: "/api/v4/namespaces?top_level_only=true", token: f.root},
		{name: "namespaces searched", method: "GET", path: "/api/v4/namespaces?search=too", token: f.root},
		{name: "namespace by id", method: "GET", path: fmt.Sprintf("/api/v4/namespaces/%d", f.subgroup.ID), token: f.aliceTok},
		{name: "namespace by path", method: "GET", path: "/api/v4/namespaces/platform%2Ftools", token: f.aliceTok},
		{name: "a private namespace one cannot see", method: "GET", path: "/api/v4/namespaces/secret", token: f.bobTok},
		{name: "a missing namespace", method: "GET", path: "/api/v4/namespaces/9999", token: f.root},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_version.golden")
	// client-go reads them.
	v := must[*gitlab.Version](t)(f.bob.Version.GetVersion())
	if !strings.HasPrefix(v.Version, "18.") {
		t.Errorf("client-go version = %+v", v)
	}
	m := must[*gitlab.Metadata](t)(f.bob.Metadata.GetMetadata())
	if m.Version != v.Version || m.KAS.Enabled || m.Enterprise {
		t.Errorf("client-go metadata = %+v", m)
	}
	ns := must[*gitlab.Namespace](t)(f.alice.Namespaces.GetNamespace("platform/tools"))
	if ns.ID != f.subgroup.ID || ns.Kind != "group" || ns.FullPath != "platform/tools" {
		t.Errorf("client-go namespace = %+v", ns)
	}
}

// TestCompatAddMembersByIDs records POST /:res/:id/members with a
// comma-separated user_id, which GitLab accepts (Members::CreateService).
func TestCompatAddMembersByIDs(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	var ids []string
	for _, n := range []string{"dave", "erin"} {
		u := must[*gitlab.User](t)(f.admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Username: gitlab.Ptr(n), Name: gitlab.Ptr(n), Email: gitlab.Ptr(n + "@example.com")}))
		ids = append(ids, fmt.Sprint(u.ID))
	}
	members := fmt.Sprintf("/api/v4/projects/%d/members", f.project.ID)
	for _, c := range []compatCase{
		{name: "two users at once", method: "POST", path: members, token: f.aliceTok,
			body: map[string]any{"user_id": strings.Join(ids, ","), "access_level": 20}},
		{name: "one already a member, one missing", method: "POST", path: fmt.Sprintf("/api/v4/groups/%d/members", f.group.ID), token: f.aliceTok,
			body: map[string]any{"user_id": ids[0] + "," + fmt.Sprint(f.aliceID) + ",9999", "access_level": 20}},
		{name: "without the role to add members", method: "POST", path: members, token: f.bobTok,
			body: map[string]any{"user_id": strings.Join(ids, ","), "access_level": 10}},
		{name: "the members", method: "GET", path: members, token: f.aliceTok},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_add_members.golden")
}

// TestCompatIncludeSubgroups records GET /groups/:id/projects with and
// without include_subgroups=true (GitLab's GroupProjectsFinder).
func TestCompatIncludeSubgroups(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	for _, c := range []compatCase{
		{name: "the top group's own projects", method: "GET", path: fmt.Sprintf("/api/v4/groups/%d/projects", f.group.ID), token: f.aliceTok},
		{name: "with its subgroups' projects", method: "GET", path: fmt.Sprintf("/api/v4/groups/%d/projects?include_subgroups=true", f.group.ID), token: f.aliceTok},
		{name: "include_subgroups must be a boolean", method: "GET", path: fmt.Sprintf("/api/v4/groups/%d/projects?include_subgroups=maybe", f.group.ID), token: f.aliceTok},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_include_subgroups.golden")
	ps := must[[]*gitlab.Project](t)(f.alice.Groups.ListGroupProjects(f.group.ID, &gitlab.ListGroupProjectsOptions{IncludeSubGroups: gitlab.Ptr(true)}))
	if len(ps) != 1 || ps[0].ID != f.project.ID {
		t.Errorf("client-go, include_subgroups: %d projects, want the subgroup's one", len(ps))
	}
}

// TestCompatInheritedMembers records /members/all and /members/all/:user_id
// on a project and a group: the direct members and those of the groups
// above, one per user at the highest level, as GitLab's MembersFinder with
// inherited relations.
func TestCompatInheritedMembers(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	pid, sub, top := f.project.ID, f.subgroup.ID, f.group.ID
	// Bob is Developer of the project and Maintainer of the top group: his
	// inherited level is Maintainer. Carol is Reporter of the subgroup and
	// Maintainer of the project: the project's row wins.
	for _, m := range []struct {
		path  string
		user  int64
		level int
	}{
		{fmt.Sprintf("/api/v4/groups/%d/members", top), f.bobID, 40},
		{fmt.Sprintf("/api/v4/groups/%d/members", sub), f.carolID, 20},
	} {
		if res := f.postJSON("POST", m.path, f.aliceTok, map[string]any{"user_id": m.user, "access_level": m.level}); res.status != http.StatusCreated {
			t.Fatalf("adding a member: %d %s", res.status, res.body)
		}
	}
	for _, c := range []compatCase{
		{name: "a project's direct members", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members", pid), token: f.bobTok},
		{name: "a project's members, inherited included", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members/all", pid), token: f.bobTok},
		{name: "one inherited member", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members/all/%d", pid, f.bobID), token: f.bobTok},
		{name: "a direct member through members/all", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members/all/%d", pid, f.carolID), token: f.bobTok},
		{name: "not a member, directly or not", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members/all/%d", pid, f.rootID+999), token: f.bobTok},
		{name: "a subgroup's members, inherited included", method: "GET", path: fmt.Sprintf("/api/v4/groups/%d/members/all", sub), token: f.aliceTok},
		{name: "by path", method: "GET", path: "/api/v4/groups/platform%2Ftools/members/all?per_page=1", token: f.aliceTok},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_members_all.golden")
	all := must[[]*gitlab.ProjectMember](t)(f.bob.ProjectMembers.ListAllProjectMembers(pid, nil))
	levels := map[int64]gitlab.AccessLevelValue{}
	for _, m := range all {
		levels[m.ID] = m.AccessLevel
	}
	if levels[f.bobID] != gitlab.MaintainerPermissions || levels[f.carolID] != gitlab.MaintainerPermissions || levels[f.aliceID] != gitlab.OwnerPermissions {
		t.Errorf("client-go ListAllProjectMembers levels = %v", levels)
	}
	one := must[*gitlab.ProjectMember](t)(f.bob.ProjectMembers.GetInheritedProjectMember(pid, f.bobID))
	if one.AccessLevel != gitlab.MaintainerPermissions {
		t.Errorf("client-go GetInheritedProjectMember = %+v", one)
	}
}

// TestCompatObjects records the user, project and member objects with the
// fields GitLab documents that botgate fills (last_activity_on,
// http_url_to_repo, membership_state, created_by, …); docs/api.md lists
// the fields left out.
func TestCompatObjects(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	f.clock.Advance(26 * time.Hour)
	// A day later alice uses her token; bob never uses his again.
	for _, c := range []compatCase{
		{name: "oneself, after using a token today", method: "GET", path: "/api/v4/user", token: f.aliceTok},
		{name: "another user, as an administrator", method: "GET", path: fmt.Sprintf("/api/v4/users/%d", f.aliceID), token: f.root},
		{name: "another user, as anyone", method: "GET", path: fmt.Sprintf("/api/v4/users/%d", f.aliceID), token: f.bobTok},
		{name: "a project", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d", f.project.ID), token: f.bobTok},
		{name: "a member added by alice", method: "GET", path: fmt.Sprintf("/api/v4/projects/%d/members/%d", f.project.ID, f.bobID), token: f.bobTok},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_objects.golden")
	p := must[*gitlab.Project](t)(f.bob.Projects.GetProject(f.project.ID, nil))
	if p.HTTPURLToRepo != f.srv.URL+"/platform/tools/release-bot.git" || p.PathWithNamespace != p.Namespace.FullPath+"/"+p.Path {
		t.Errorf("client-go project: http_url_to_repo %q, path_with_namespace %q, namespace %q", p.HTTPURLToRepo, p.PathWithNamespace, p.Namespace.FullPath)
	}
	m := must[*gitlab.ProjectMember](t)(f.bob.ProjectMembers.GetProjectMember(f.project.ID, f.bobID))
	if m.CreatedBy == nil || m.CreatedBy.ID != f.aliceID {
		t.Errorf("client-go member: created by %+v, want alice", m.CreatedBy)
	}
}

// TestCompatOrderingAndKeyset records order_by and sort on /users and
// /projects (GitLab's values and defaults: users by id, projects by
// created_at, both descending), their refusal of other values, and keyset
// pagination on /projects (pagination=keyset, order_by=id, id_after,
// Link rel="next").
func TestCompatOrderingAndKeyset(t *testing.T) {
	f := newFixture(t)
	l := &compatLog{e: f.env}
	for _, n := range []string{"zeta", "alpha", "mid"} {
		if res := f.postJSON("POST", "/api/v4/projects", f.aliceTok, map[string]any{"path": n, "namespace_id": f.group.ID}); res.status != http.StatusCreated {
			t.Fatalf("creating project %s: %d %s", n, res.status, res.body)
		}
		f.clock.Advance(time.Minute)
	}
	ids := func(res response) string {
		var v []struct {
			ID       int64  `json:"id"`
			Path     string `json:"path"`
			Username string `json:"username"`
		}
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Fatalf("%s: %v", res.body, err)
		}
		var b strings.Builder
		for _, x := range v {
			fmt.Fprintf(&b, "%d:%s ", x.ID, x.Path+x.Username)
		}
		return b.String()
	}
	// Only ids and paths are recorded: the objects are in other golden files.
	for _, c := range []compatCase{
		{name: "users, GitLab's default order (id, descending)", method: "GET", path: "/api/v4/users", token: f.root},
		{name: "users by username, ascending", method: "GET", path: "/api/v4/users?order_by=username&sort=asc", token: f.root},
		{name: "projects, GitLab's default order (created_at, descending)", method: "GET", path: "/api/v4/projects", token: f.aliceTok},
		{name: "projects by path", method: "GET", path: "/api/v4/projects?order_by=path&sort=asc", token: f.aliceTok},
		{name: "keyset, first page", method: "GET", path: "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=2", token: f.aliceTok},
		{name: "keyset, next page", method: "GET", path: "/api/v4/projects?id_after=2&order_by=id&pagination=keyset&per_page=2&sort=asc", token: f.aliceTok},
		{name: "keyset, descending", method: "GET", path: "/api/v4/projects?pagination=keyset&order_by=id&sort=desc&per_page=3", token: f.aliceTok},
	} {
		l.do2(t, c, ids)
	}
	for _, c := range []compatCase{
		{name: "users ordered by an unknown field", method: "GET", path: "/api/v4/users?order_by=email", token: f.root},
		{name: "projects sorted sideways", method: "GET", path: "/api/v4/projects?sort=up", token: f.aliceTok},
		{name: "keyset ordered by name", method: "GET", path: "/api/v4/projects?pagination=keyset&order_by=name", token: f.aliceTok},
	} {
		l.do(t, c)
	}
	l.golden(t, "compat_ordering.golden")

	// client-go follows the keyset Link to the end.
	opt := &gitlab.ListProjectsOptions{ListOptions: gitlab.ListOptions{Pagination: "keyset", PerPage: 2, OrderBy: "id", Sort: "asc"}}
	var seen []int64
	options := []gitlab.RequestOptionFunc{}
	for range 10 {
		ps, resp, err := f.alice.Projects.ListProjects(opt, options...)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			seen = append(seen, p.ID)
		}
		if resp.NextLink == "" {
			break
		}
		options = []gitlab.RequestOptionFunc{gitlab.WithKeysetPaginationParameters(resp.NextLink)}
	}
	if fmt.Sprint(seen) != "[1 2 3 4]" {
		t.Errorf("client-go keyset pages = %v, want [1 2 3 4]", seen)
	}
}

// do2 is do, recording the body through summary.
func (l *compatLog) do2(t *testing.T, c compatCase, summary func(response) string) response {
	t.Helper()
	sub := &compatLog{e: l.e}
	res := sub.do(t, c)
	out := sub.out.String()
	body := strings.ReplaceAll(string(bytes.TrimSuffix(res.body, []byte("\n"))), l.e.srv.URL, "http://botgate")
	l.out.WriteString(strings.Replace(out, body+"\n", summary(res)+"\n", 1))
	return res
}
