package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
)

// decode parses a command's JSON output into v, failing on invalid JSON.
func decode[T any](t *testing.T, r cliResult) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%v", err, r)
	}
	if dec.More() {
		t.Fatalf("trailing output after the JSON value:\n%v", r)
	}
	return v
}

// noSecretKey checks that a JSON output has no "token" key anywhere.
func noSecretKey(t *testing.T, r cliResult) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%v", err, r)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["token"]; ok {
				t.Errorf("JSON output carries a token:\n%v", r)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestCLIEndToEnd drives a real botgate server through the CLI, which uses
// the GitLab Go client: the typical session of docs/cli.md and more.
func TestCLIEndToEnd(t *testing.T) {
	srv := startServer(t)
	adminFile := filepath.Join(srv.dir, "admin.token")
	expires := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	admin := newSession(t, nil)
	var secrets []struct {
		name, secret string
		printed      int // how many outputs may show it
	}
	remember := func(name, secret string, printed int) {
		if !strings.HasPrefix(secret, "glpat-") {
			t.Fatalf("%s: %q is not a glpat- token", name, secret)
		}
		secrets = append(secrets, struct {
			name, secret string
			printed      int
		}{name, secret, printed})
	}
	var sessions []*session
	sessions = append(sessions, admin)

	t.Run("login", func(t *testing.T) {
		admin := admin.in(t)
		r := admin.ok("login", "--url", srv.url+"/", "--token-file", adminFile)
		if !strings.Contains(r.stdout, "Logged in to "+srv.url+" as root") {
			t.Errorf("login output:\n%v", r)
		}
		cred := filepath.Join(admin.env["XDG_CONFIG_HOME"], "botgate", "credentials.json")
		if m := fileMode(t, cred); m != 0o600 {
			t.Errorf("credentials file mode %v, want 0600", m)
		}
		me := decode[apiclient.User](t, admin.ok("user", "whoami", "--output", "json"))
		if me.Username != "root" || !me.IsAdmin || me.Bot {
			t.Errorf("whoami = %+v, want the admin root", me)
		}
	})

	var projectID int64
	t.Run("groups and projects", func(t *testing.T) {
		admin := admin.in(t)
		g := decode[apiclient.Group](t, admin.ok("group", "create", "--name", "Team A", "--path", "team-a", "-o", "json"))
		if g.FullPath != "team-a" || g.Name != "Team A" || g.ID == 0 {
			t.Errorf("group = %+v", g)
		}
		sub := decode[apiclient.Group](t, admin.ok("group", "create", "--name", "Platform", "--parent", "team-a", "-o", "json"))
		if sub.FullPath != "team-a/platform" || sub.ParentID != g.ID {
			t.Errorf("subgroup = %+v, want team-a/platform under %d", sub, g.ID)
		}
		p := decode[apiclient.Project](t, admin.ok("project", "create", "--namespace", "team-a", "--name", "App", "-o", "json"))
		if p.PathWithNamespace != "team-a/app" || p.NamespaceID != g.ID {
			t.Errorf("project = %+v", p)
		}
		projectID = p.ID
		shown := decode[apiclient.Project](t, admin.ok("project", "show", "team-a/app", "-o", "json"))
		if shown.ID != p.ID {
			t.Errorf("project show by path: %+v, want id %d", shown, p.ID)
		}
		golden(t, "group_show.txt", admin.ok("group", "show", "team-a/platform").stdout)
		subs := decode[[]apiclient.Group](t, admin.ok("group", "list", "--parent", "team-a", "-o", "json"))
		if len(subs) != 1 || subs[0].ID != sub.ID {
			t.Errorf("subgroups of team-a = %+v, want just %d", subs, sub.ID)
		}
		inGroup := decode[[]apiclient.Project](t, admin.ok("project", "list", "--group", "team-a", "-o", "json"))
		if len(inGroup) != 1 || inGroup[0].ID != p.ID {
			t.Errorf("projects of team-a = %+v, want just %d", inGroup, p.ID)
		}
		if none := decode[[]apiclient.Project](t, admin.ok("project", "list", "--group", "team-a/platform", "-o", "json")); len(none) != 0 {
			t.Errorf("projects of team-a/platform = %+v, want none", none)
		}
		up := decode[apiclient.Group](t, admin.ok("group", "update", "team-a/platform", "--description", "platform tooling", "-o", "json"))
		if up.Description != "platform tooling" || up.Name != "Platform" {
			t.Errorf("group update = %+v", up)
		}
		pu := decode[apiclient.Project](t, admin.ok("project", "update", "team-a/app", "--description", "the app", "-o", "json"))
		if pu.Description != "the app" || pu.Name != "App" {
			t.Errorf("project update = %+v", pu)
		}
		admin.fail(exitUsage, []string{"nothing to change"}, "project", "update", "team-a/app")
		list := decode[[]apiclient.Group](t, admin.ok("group", "list", "--all", "-o", "json"))
		if len(list) < 2 {
			t.Errorf("group list has %d groups, want at least 2", len(list))
		}
	})

	var deploy apiclient.Token
	t.Run("project access token", func(t *testing.T) {
		admin := admin.in(t)
		r := admin.ok("token", "create", "--project", "team-a/app", "--name", "ci-deploy", "--scopes", "api",
			"--access-level", "developer", "--expires-at", expires, "--description", "deploys app", "-o", "json")
		deploy = decode[apiclient.Token](t, r)
		if deploy.Kind != "project" || deploy.AccessLevel != 30 || deploy.Name != "ci-deploy" || !deploy.Active ||
			deploy.ExpiresAt == nil || *deploy.ExpiresAt != expires || deploy.Description != "deploys app" {
			t.Errorf("created token = %+v", deploy)
		}
		remember("ci-deploy", deploy.Token, 1)

		file := filepath.Join(t.TempDir(), "reader.token")
		r = admin.ok("token", "create", "--project", fmt.Sprint(projectID), "--name", "ci-reader", "--scopes", "read_api",
			"--access-level", "reporter", "--token-file", file)
		if m := fileMode(t, file); m != 0o600 {
			t.Errorf("--token-file mode %v, want 0600", m)
		}
		b, _ := os.ReadFile(file)
		remember("ci-reader", strings.TrimSpace(string(b)), 0)
		golden(t, "token_create_file.txt", strings.ReplaceAll(r.stdout, file, "<FILE>"))
		// An existing --token-file is refused before any token is made.
		admin.fail(exitUsage, []string{"already exists; refusing to overwrite it"}, "token", "create", "--project", "team-a/app",
			"--name", "ci-reader-2", "--scopes", "read_api", "--access-level", "reporter", "--token-file", file)
		if b2, _ := os.ReadFile(file); string(b2) != string(b) {
			t.Errorf("the existing token file was changed")
		}
		for _, v := range decode[[]apiclient.Token](t, admin.ok("token", "list", "--project", "team-a/app", "-o", "json")) {
			if v.Name == "ci-reader-2" {
				t.Errorf("a token was created although its --token-file was refused")
			}
		}

		// The bot uses its own token.
		bot := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": deploy.Token})
		sessions = append(sessions, bot)
		me := decode[apiclient.User](t, bot.ok("user", "whoami", "-o", "json"))
		if !me.Bot || me.Name != "ci-deploy" || me.ID != deploy.UserID {
			t.Errorf("the bot's whoami = %+v, want bot %d named ci-deploy", me, deploy.UserID)
		}
		self := bot.ok("token", "show", "self", "-o", "json")
		noSecretKey(t, self)
		if v := decode[apiclient.Token](t, self); v.ID != deploy.ID {
			t.Errorf("token show self = %+v, want id %d", v, deploy.ID)
		}

		list := admin.ok("token", "list", "--project", "team-a/app", "-o", "json")
		noSecretKey(t, list)
		views := decode[[]apiclient.Token](t, list)
		if len(views) != 2 {
			t.Fatalf("project token list has %d tokens, want 2:\n%v", len(views), list)
		}
		golden(t, "token_list_project.txt", admin.ok("token", "list", "--project", "team-a/app").stdout)
		// --search is applied by the server, across pages.
		searched := decode[[]apiclient.Token](t, admin.ok("token", "list", "--project", "team-a/app", "--search", "deploy", "--per-page", "1", "-o", "json"))
		if len(searched) != 1 || searched[0].Name != "ci-deploy" {
			t.Errorf("token list --search deploy --per-page 1 = %+v, want ci-deploy", searched)
		}
		golden(t, "token_show_project.json", admin.ok("token", "show", fmt.Sprint(deploy.ID), "--project", "team-a/app", "-o", "json").stdout)

		members := decode[[]apiclient.Member](t, admin.ok("member", "list", "--project", "team-a/app", "-o", "json"))
		found := false
		for _, m := range members {
			if m.ID == deploy.UserID {
				found = m.AccessLevel == 30 && m.Role == "developer"
			}
		}
		if !found {
			t.Errorf("the bot %d is not a developer member of team-a/app: %+v", deploy.UserID, members)
		}
	})

	t.Run("rotate and revoke", func(t *testing.T) {
		admin := admin.in(t)
		r := admin.ok("token", "rotate", fmt.Sprint(deploy.ID), "--project", "team-a/app", "--expires-at", expires, "-o", "json")
		rotated := decode[apiclient.Token](t, r)
		if rotated.ID == deploy.ID || rotated.Name != "ci-deploy" || rotated.UserID != deploy.UserID || rotated.Token == deploy.Token {
			t.Errorf("rotated = %+v, want a new id and secret for the same bot", rotated)
		}
		remember("ci-deploy rotated", rotated.Token, 1)

		old := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": deploy.Token})
		sessions = append(sessions, old)
		old.fail(exitAuth, []string{"botgate login"}, "user", "whoami")

		cur := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": rotated.Token})
		sessions = append(sessions, cur)
		cur.ok("user", "whoami")

		r = admin.ok("token", "revoke", fmt.Sprint(rotated.ID), "--project", "team-a/app")
		if !strings.Contains(r.stdout, fmt.Sprintf("Revoked project access token %d", rotated.ID)) {
			t.Errorf("revoke output:\n%v", r)
		}
		cur.fail(exitAuth, []string{"botgate login"}, "user", "whoami")
		gone := decode[[]apiclient.Token](t, admin.ok("token", "list", "--project", "team-a/app", "--state", "active", "-o", "json"))
		for _, v := range gone {
			if v.ID == rotated.ID || v.ID == deploy.ID {
				t.Errorf("revoked token %d still listed as active", v.ID)
			}
		}
	})

	// A token named without its owner (self, /admin/token, an
	// administrator's list of a bot's tokens) shows the kind the server
	// says it is, not the kind of the route that served it.
	t.Run("the kind of a token named without its owner", func(t *testing.T) {
		admin := admin.in(t)
		admin.ok("group", "create", "--name", "Kinds", "--path", "kinds")
		admin.ok("project", "create", "--namespace", "kinds", "--name", "app")
		for _, tt := range []struct{ flag, owner, kind string }{{"--project", "kinds/app", "project"}, {"--group", "kinds", "group"}} {
			v := decode[apiclient.Token](t, admin.ok("token", "create", tt.flag, tt.owner, "--name", "kind-"+tt.kind, "--scopes", "api,self_rotate",
				"--access-level", "reporter", "--expires-at", expires, "-o", "json"))
			remember("kind-"+tt.kind, v.Token, 1)
			bot := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v.Token})
			sessions = append(sessions, bot)
			if got := decode[apiclient.Token](t, bot.ok("token", "show", "self", "-o", "json")); got.Kind != tt.kind || got.AccessLevel != 20 {
				t.Errorf("token show self of a %s token: kind %q, access level %d", tt.kind, got.Kind, got.AccessLevel)
			}
			if r := bot.ok("token", "show", "self"); !strings.Contains(r.stdout, "Kind:        "+tt.kind+"\n") || !strings.Contains(r.stdout, "Role:        reporter (20)") {
				t.Errorf("token show self of a %s token:\n%s", tt.kind, r.stdout)
			}
			if got := decode[apiclient.Token](t, admin.runIn(v.Token+"\n", "token", "lookup", "-o", "json")); got.Kind != tt.kind || got.ID != v.ID {
				t.Errorf("token lookup of a %s token: %+v", tt.kind, got)
			}
			listed := decode[[]apiclient.Token](t, admin.ok("token", "list", "--user", fmt.Sprint(v.UserID), "-o", "json"))
			if len(listed) != 1 || listed[0].Kind != tt.kind {
				t.Errorf("token list --user of a %s token's bot: %+v", tt.kind, listed)
			}
			next := decode[apiclient.Token](t, bot.ok("token", "rotate", "self", "-o", "json"))
			remember("kind-"+tt.kind+" rotated", next.Token, 1)
			if next.Kind != tt.kind || next.AccessLevel != 20 {
				t.Errorf("token rotate self of a %s token: kind %q, access level %d", tt.kind, next.Kind, next.AccessLevel)
			}
		}
	})

	t.Run("self show and self rotation of a project token", func(t *testing.T) {
		admin := admin.in(t)
		v := decode[apiclient.Token](t, admin.ok("token", "create", "--project", "team-a/app", "--name", "self-rotator", "--scopes", "api,self_rotate",
			"--access-level", "reporter", "--expires-at", expires, "-o", "json"))
		remember("self-rotator", v.Token, 1)
		bot := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v.Token})
		sessions = append(sessions, bot)
		if got := decode[apiclient.Token](t, bot.ok("token", "show", "self", "--project", "team-a/app", "-o", "json")); got.ID != v.ID || got.AccessLevel != 20 {
			t.Errorf("token show self --project = %+v, want %d at reporter", got, v.ID)
		}
		r := bot.ok("token", "rotate", "self", "--project", "team-a/app", "-o", "json")
		next := decode[apiclient.Token](t, r)
		remember("self-rotator rotated", next.Token, 1)
		if next.ID == v.ID || next.UserID != v.UserID {
			t.Errorf("self rotation = %+v", next)
		}
		if !strings.Contains(r.stderr, "BOTGATE_TOKEN still holds the old, now revoked token") {
			t.Errorf("self rotation with BOTGATE_TOKEN does not warn:\n%v", r)
		}
		bot.fail(exitAuth, []string{"botgate login"}, "user", "whoami")
		bot.env["BOTGATE_TOKEN"] = next.Token
		bot.ok("user", "whoami")
		bot.ok("token", "revoke", "self")
		bot.fail(exitAuth, []string{"botgate login"}, "user", "whoami")
	})

	t.Run("group access token", func(t *testing.T) {
		admin := admin.in(t)
		v := decode[apiclient.Token](t, admin.ok("token", "create", "--group", "team-a", "--name", "triage", "--scopes", "read_api",
			"--access-level", "reporter", "--expires-at", expires, "-o", "json"))
		if v.Kind != "group" || v.AccessLevel != 20 {
			t.Errorf("group token = %+v", v)
		}
		remember("triage", v.Token, 1)
		list := decode[[]apiclient.Token](t, admin.ok("token", "list", "--group", "team-a", "-o", "json"))
		if len(list) != 1 || list[0].ID != v.ID {
			t.Errorf("group token list = %+v, want just %d", list, v.ID)
		}

		// Rotate, then present the rotated-out token to rotate again: the
		// whole family is revoked, as someone holds a stolen copy.
		v2 := decode[apiclient.Token](t, admin.ok("token", "rotate", fmt.Sprint(v.ID), "--group", "team-a", "-o", "json"))
		remember("triage rotated", v2.Token, 1)
		thief := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v.Token})
		owner := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v2.Token})
		sessions = append(sessions, thief, owner)
		owner.ok("user", "whoami")
		thief.fail(exitAuth, []string{"botgate login"}, "token", "rotate", "self", "--group", "team-a")
		owner.fail(exitAuth, []string{"botgate login"}, "user", "whoami")
		active := decode[[]apiclient.Token](t, admin.ok("token", "list", "--group", "team-a", "--state", "active", "-o", "json"))
		if len(active) != 0 {
			t.Errorf("active group tokens after family revocation: %+v", active)
		}
	})

	t.Run("service account", func(t *testing.T) {
		admin := admin.in(t)
		sa := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--group", "team-a", "--name", "release-bot", "-o", "json"))
		if sa.ID == 0 || sa.Name != "release-bot" {
			t.Fatalf("service account = %+v", sa)
		}
		// A project's own service account and its token.
		psa := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--project", "team-a/app", "--name", "mirror-bot", "-o", "json"))
		if got := decode[[]apiclient.ServiceAccount](t, admin.ok("sa", "list", "--project", "team-a/app", "-o", "json")); len(got) != 1 || got[0].ID != psa.ID {
			t.Errorf("project service accounts = %+v, want just %d", got, psa.ID)
		}
		pt := decode[apiclient.Token](t, admin.ok("token", "create", "--service-account", fmt.Sprint(psa.ID), "--project", "team-a/app",
			"--name", "mirror", "--scopes", "read_api", "-o", "json"))
		remember("mirror", pt.Token, 1)
		if pt.UserID != psa.ID {
			t.Errorf("project service account token = %+v, want user %d", pt, psa.ID)
		}
		admin.ok("token", "revoke", fmt.Sprint(pt.ID), "--service-account", fmt.Sprint(psa.ID), "--project", "team-a/app")

		// An instance service account (admin) and its token.
		isa := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--name", "tooling-bot", "-o", "json"))
		found := false
		for _, x := range decode[[]apiclient.ServiceAccount](t, admin.ok("sa", "list", "--all", "-o", "json")) {
			found = found || x.ID == isa.ID
		}
		if !found {
			t.Errorf("instance service account %d not listed", isa.ID)
		}
		it := decode[apiclient.Token](t, admin.ok("token", "create", "--service-account", fmt.Sprint(isa.ID), "--name", "tooling",
			"--scopes", "read_api", "--expires-at", expires, "-o", "json"))
		remember("tooling", it.Token, 1)
		if got := decode[apiclient.Token](t, admin.ok("token", "show", fmt.Sprint(it.ID), "--service-account", fmt.Sprint(isa.ID), "-o", "json")); got.UserID != isa.ID {
			t.Errorf("instance service account token = %+v, want user %d", got, isa.ID)
		}
		admin.ok("token", "revoke", fmt.Sprint(it.ID), "--service-account", fmt.Sprint(isa.ID))

		if up := decode[apiclient.ServiceAccount](t, admin.ok("sa", "update", fmt.Sprint(sa.ID), "--group", "team-a", "--name", "release-bot-2", "-o", "json")); up.Name != "release-bot-2" || up.ID != sa.ID {
			t.Errorf("service account update = %+v", up)
		}
		list := decode[[]apiclient.ServiceAccount](t, admin.ok("sa", "list", "--group", "team-a", "-o", "json"))
		if len(list) != 1 || list[0].ID != sa.ID {
			t.Errorf("service accounts = %+v, want just %d", list, sa.ID)
		}
		id := fmt.Sprint(sa.ID)
		v := decode[apiclient.Token](t, admin.ok("service-account", "token", "create", id, "--group", "team-a", "--name", "release",
			"--scopes", "api", "--expires-at", expires, "-o", "json"))
		if v.UserID != sa.ID || v.Kind != "service_account" {
			t.Errorf("service account token = %+v", v)
		}
		remember("release", v.Token, 1)
		toks := decode[[]apiclient.Token](t, admin.ok("token", "list", "--service-account", id, "--group", "team-a", "-o", "json"))
		if len(toks) != 1 || toks[0].ID != v.ID {
			t.Errorf("service account tokens = %+v, want just %d", toks, v.ID)
		}
		shown := decode[apiclient.Token](t, admin.ok("token", "show", fmt.Sprint(v.ID), "--service-account", id, "--group", "team-a", "-o", "json"))
		if shown.ID != v.ID {
			t.Errorf("token show = %+v", shown)
		}
		rot := decode[apiclient.Token](t, admin.ok("service-account", "token", "rotate", id, fmt.Sprint(v.ID), "--group", "team-a", "-o", "json"))
		remember("release rotated", rot.Token, 1)
		admin.ok("service-account", "token", "revoke", id, fmt.Sprint(rot.ID), "--group", "team-a")
		active := decode[[]apiclient.Token](t, admin.ok("service-account", "token", "list", id, "--group", "team-a", "--state", "active", "-o", "json"))
		if len(active) != 0 {
			t.Errorf("active tokens after revoke: %+v", active)
		}
	})

	t.Run("users and members", func(t *testing.T) {
		admin := admin.in(t)
		u := decode[apiclient.User](t, admin.ok("user", "create", "--username", "alice", "--name", "Alice", "--email", "alice@example.com", "-o", "json"))
		if u.Username != "alice" || u.Bot || u.IsAdmin {
			t.Errorf("user = %+v", u)
		}
		if got := decode[apiclient.User](t, admin.ok("user", "show", "alice", "-o", "json")); got.ID != u.ID {
			t.Errorf("user show alice = %+v, want id %d", got, u.ID)
		}
		admin.ok("member", "add", "alice", "--project", "team-a/app", "--access-level", "developer")
		members := decode[[]apiclient.Member](t, admin.ok("member", "list", "--project", "team-a/app", "-o", "json"))
		if !hasMember(members, u.ID, 30) {
			t.Errorf("alice is not a developer of team-a/app: %+v", members)
		}
		if m := decode[apiclient.Member](t, admin.ok("member", "update", "alice", "--project", "team-a/app", "--access-level", "reporter", "-o", "json")); m.AccessLevel != 20 || m.Role != "reporter" {
			t.Errorf("member update = %+v, want reporter", m)
		}
		admin.ok("member", "remove", "alice", "--project", "team-a/app")
		members = decode[[]apiclient.Member](t, admin.ok("member", "list", "--project", "team-a/app", "-o", "json"))
		if hasMember(members, u.ID, 0) {
			t.Errorf("alice is still a member: %+v", members)
		}

		// A personal token for alice, made by the admin, then alice's own.
		pat := decode[apiclient.Token](t, admin.ok("token", "create", "--user", fmt.Sprint(u.ID), "--name", "laptop", "--scopes", "api",
			"--expires-at", expires, "-o", "json"))
		remember("alice laptop", pat.Token, 1)
		list := decode[[]apiclient.Token](t, admin.ok("token", "list", "--user", fmt.Sprint(u.ID), "--search", "lap", "-o", "json"))
		if len(list) != 1 || list[0].ID != pat.ID {
			t.Errorf("alice's tokens = %+v, want %d", list, pat.ID)
		}

		// alice logs in from stdin, rotates her own token: the stored
		// credentials follow and the new secret is not printed.
		alice := newSession(t, nil)
		sessions = append(sessions, alice)
		if r := alice.runIn(pat.Token+"\n", "login", "--url", srv.url); r.err != nil {
			t.Fatalf("login from stdin:\n%v", r)
		}
		r := alice.ok("token", "rotate", "self")
		if !strings.Contains(r.stdout, "stored credentials now hold the new token") || strings.Contains(r.stdout, "glpat-") {
			t.Errorf("self rotation output:\n%v", r)
		}
		if me := decode[apiclient.User](t, alice.ok("user", "whoami", "-o", "json")); me.ID != u.ID {
			t.Errorf("after self rotation whoami = %+v", me)
		}
		alice.ok("logout", "--revoke")
		alice.fail(exitAuth, []string{"not logged in"}, "user", "whoami")
	})

	t.Run("text output of a new secret", func(t *testing.T) {
		admin := admin.in(t)
		r := admin.ok("token", "create", "--name", "shown-once", "--scopes", "read_api", "--description", "printed to the terminal",
			"--expires-at", expires)
		m := regexp.MustCompile(`(?m)^Token \(shown once, store it now\):\n(glpat-\S+)\n\z`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("the secret is not the last line, after its notice:\n%v", r)
		}
		remember("shown-once", m[1], 1)
		out := regexp.MustCompile(`(?m)^(ID:\s+|Created personal token )\d+`).ReplaceAllString(r.stdout, "${1}<ID>")
		golden(t, "token_create_text.txt", out)
	})

	t.Run("admin lookup and revoke by secret", func(t *testing.T) {
		admin := admin.in(t)
		v := decode[apiclient.Token](t, admin.ok("token", "create", "--name", "leaky", "--scopes", "read_api", "-o", "json"))
		remember("leaky", v.Token, 1)
		r := admin.runIn(v.Token+"\n", "token", "lookup", "-o", "json")
		if r.err != nil {
			t.Fatalf("lookup:\n%v", r)
		}
		noSecretKey(t, r)
		if got := decode[apiclient.Token](t, r); got.ID != v.ID || got.Name != "leaky" || !got.Active || got.Revoked {
			t.Errorf("lookup = %+v, want active token %d", got, v.ID)
		}
		file := filepath.Join(t.TempDir(), "leaked.txt")
		if err := os.WriteFile(file, []byte(v.Token+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		admin.ok("token", "revoke", "--secret-file", file)
		leaky := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v.Token})
		sessions = append(sessions, leaky)
		leaky.fail(exitAuth, []string{"botgate login"}, "user", "whoami")
		if got := decode[apiclient.Token](t, admin.ok("token", "lookup", "--secret-file", file, "-o", "json")); got.Active || !got.Revoked {
			t.Errorf("after revoke, lookup = %+v", got)
		}
		admin.fail(exitUsage, []string{"--secret-file takes no token ID"}, "token", "revoke", "5", "--secret-file", file)
	})

	t.Run("delete", func(t *testing.T) {
		admin := admin.in(t)
		admin.ok("group", "create", "--name", "Tmp")
		admin.ok("project", "create", "--namespace", "tmp", "--name", "x")
		v := decode[apiclient.Token](t, admin.ok("token", "create", "--project", "tmp/x", "--name", "doomed", "--scopes", "read_api",
			"--access-level", "guest", "-o", "json"))
		remember("doomed", v.Token, 1)
		doomed := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": v.Token})
		sessions = append(sessions, doomed)
		doomed.ok("user", "whoami")

		admin.fail(exitUsage, []string{"add --yes"}, "project", "delete", "tmp/x")
		admin.ok("project", "show", "tmp/x")
		admin.ok("project", "delete", "tmp/x", "--yes")
		admin.fail(exitNotFound, []string{`project "tmp/x" not found`}, "project", "show", "tmp/x")
		doomed.fail(exitAuth, []string{"botgate login"}, "user", "whoami")

		admin.ok("group", "delete", "tmp", "--yes")
		admin.fail(exitNotFound, []string{`group "tmp" not found`}, "group", "show", "tmp")

		sa := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--group", "team-a", "--name", "temp-bot", "-o", "json"))
		admin.fail(exitUsage, []string{"exactly one of --group or --project"}, "service-account", "delete", fmt.Sprint(sa.ID), "--yes")
		sat := decode[apiclient.Token](t, admin.ok("service-account", "token", "create", fmt.Sprint(sa.ID), "--group", "team-a",
			"--name", "temp", "--scopes", "read_api", "-o", "json"))
		remember("temp", sat.Token, 1)
		admin.ok("service-account", "delete", fmt.Sprint(sa.ID), "--group", "team-a", "--yes")
		// botgate keeps a deleted account, deactivated, for the audit
		// trail (GitLab removes it); either way its tokens must stop working.
		gone := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": sat.Token})
		sessions = append(sessions, gone)
		gone.fail(exitAuth, []string{"botgate login"}, "user", "whoami")

		admin.ok("user", "create", "--username", "carol", "--email", "carol@example.com")
		admin.ok("user", "delete", "carol", "--yes")
		if r := admin.run("user", "show", "carol", "-o", "json"); r.err == nil {
			if u := decode[apiclient.User](t, r); u.State == "active" {
				t.Errorf("deleted user still active: %+v", u)
			}
		} else if r.code() != exitNotFound {
			t.Errorf("user show after delete:\n%v", r)
		}
	})

	t.Run("secrets are shown only where they are created", func(t *testing.T) {
		for _, s := range secrets {
			n := 0
			for _, sess := range sessions {
				for _, r := range *sess.seen {
					if strings.Contains(r.all(), s.secret) {
						n++
						if !isSecretOutput(r.args) {
							t.Errorf("%s's secret shown by: botgate %s", s.name, strings.Join(r.args, " "))
						}
					}
				}
			}
			if n != s.printed {
				t.Errorf("%s's secret shown %d times, want %d", s.name, n, s.printed)
			}
		}
		if strings.Contains(srv.log.String(), "glpat-") {
			t.Errorf("the server log shows a token")
		}
	})
}

// isSecretOutput reports whether a command is one that may print a secret.
func isSecretOutput(args []string) bool {
	for _, a := range args {
		if a == "create" || a == "rotate" {
			return true
		}
	}
	return false
}

func hasMember(ms []apiclient.Member, id, level int64) bool {
	for _, m := range ms {
		if m.ID == id && (level == 0 || m.AccessLevel == level) {
			return true
		}
	}
	return false
}

// TestCLIErrors checks that failures say what to do and exit with the
// right status.
func TestCLIErrors(t *testing.T) {
	srv := startServer(t)
	admin := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": srv.adminToken})
	admin.ok("group", "create", "--name", "Team B", "--path", "team-b")
	admin.ok("project", "create", "--namespace", "team-b", "--name", "svc")
	reader := decode[apiclient.Token](t, admin.ok("token", "create", "--project", "team-b/svc", "--name", "reader", "--scopes", "read_api",
		"--access-level", "reporter", "-o", "json"))

	bob := decode[apiclient.User](t, admin.ok("user", "create", "--username", "bob", "--email", "bob@example.com", "-o", "json"))
	bobPAT := decode[apiclient.Token](t, admin.ok("token", "create", "--user", fmt.Sprint(bob.ID), "--name", "bob", "--scopes", "api", "-o", "json"))
	bobEnv := map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": bobPAT.Token}
	repoOnly := decode[apiclient.Token](t, admin.ok("token", "create", "--user", fmt.Sprint(bob.ID), "--name", "git", "--scopes", "read_repository", "-o", "json"))
	admin.ok("member", "add", "bob", "--project", "team-b/svc", "--access-level", "maintainer")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		// GitLab answers 401 when a non-admin asks for someone else's
		// token: the CLI checks the token still works and says so.
		{name: "someone else's token", env: bobEnv, args: []string{"token", "show", "1"}, code: exitAuth,
			want: []string{"refused this for bob (HTTP 401): the token works"}},
		{name: "maintainer cannot create an owner token", env: bobEnv,
			args: []string{"token", "create", "--project", "team-b/svc", "--name", "x", "--scopes", "api", "--access-level", "owner"},
			code: 1, want: []string{"the server refused the request: 400 Bad request - Access level of the token contains permissions not held by the creating user"}},
		{name: "someone else's tokens", env: bobEnv, args: []string{"token", "list", "--user", "1"}, code: exitAuth,
			want: []string{"refused this for bob"}},
		{name: "not logged in", args: []string{"user", "whoami"}, code: exitAuth,
			want: []string{"not logged in", "botgate login"}},
		{name: "rejected token", env: map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": "glpat-not-a-real-token"},
			args: []string{"user", "whoami"}, code: exitAuth,
			want: []string{"the token was rejected (expired or revoked?): run botgate login"}},
		{name: "unknown project", env: admin.env, args: []string{"project", "show", "nope/nope"}, code: exitNotFound,
			want: []string{`project "nope/nope" not found`}},
		{name: "unknown group for a token", env: admin.env,
			args: []string{"token", "create", "--group", "nope", "--name", "x", "--scopes", "api", "--access-level", "guest"},
			code: exitNotFound, want: []string{`group "nope"`, "not found"}},
		{name: "unknown token", env: admin.env, args: []string{"token", "show", "999999"}, code: exitNotFound,
			want: []string{"token 999999 not found"}},
		{name: "read_api token cannot write", env: map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": reader.Token},
			args: []string{"group", "create", "--name", "x"}, code: exitAuth, want: []string{"needs the api scope"}},
		{name: "username lookup refused", env: map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": repoOnly.Token},
			args: []string{"member", "add", "bob", "--project", "team-b/svc", "--access-level", "guest"}, code: exitAuth,
			want: []string{`cannot look up the username "bob"`, "give the numeric user ID instead"}},
		{name: "access level required", env: admin.env,
			args: []string{"token", "create", "--project", "team-b/svc", "--name", "x", "--scopes", "api"}, code: exitUsage,
			want: []string{"--access-level is required"}},
		{name: "bad access level", env: admin.env,
			args: []string{"token", "create", "--project", "team-b/svc", "--name", "x", "--scopes", "api", "--access-level", "boss"},
			code: exitUsage, want: []string{"--access-level must be"}},
		{name: "bad date", env: admin.env,
			args: []string{"token", "create", "--name", "x", "--scopes", "api", "--expires-at", "31/12/2026"}, code: exitUsage,
			want: []string{"--expires-at must be a date like"}},
		{name: "no scopes", env: admin.env, args: []string{"token", "create", "--name", "x"}, code: exitUsage,
			want: []string{"--scopes is required"}},
		{name: "bad output", env: admin.env, args: []string{"user", "whoami", "--output", "yaml"}, code: exitUsage,
			want: []string{"--output must be text or json"}},
		{name: "non-numeric token id", env: admin.env, args: []string{"token", "revoke", "abc"}, code: exitUsage,
			want: []string{"must be a positive number"}},
		{name: "unknown flag", env: admin.env, args: []string{"token", "list", "--frob"}, code: exitUsage,
			want: []string{"unknown flag: --frob", "botgate token list --help"}},
		{name: "unknown subcommand", env: admin.env, args: []string{"token", "frob"}, code: exitUsage,
			want: []string{`unknown command "frob" for "botgate token"`}},
		{name: "project and group", env: admin.env, args: []string{"token", "list", "--project", "a", "--group", "b"}, code: exitUsage,
			want: []string{"not both"}},
		{name: "server down", env: map[string]string{"BOTGATE_URL": "http://127.0.0.1:1", "BOTGATE_TOKEN": "glpat-x"},
			args: []string{"user", "whoami"}, code: exitServer, want: []string{"cannot reach botgate at http://127.0.0.1:1"}},
		{name: "login without token", env: map[string]string{"BOTGATE_URL": srv.url}, args: []string{"login"}, code: exitUsage,
			want: []string{"no token given"}},
		{name: "login rejects a bad token", args: []string{"login", "--url", srv.url, "--token-file", "-"}, code: exitAuth,
			want: []string{"the server rejected this token", "nothing was stored"}},
	}
	var messages strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, tt.env)
			stdin := ""
			if tt.name == "login rejects a bad token" {
				stdin = "glpat-not-a-real-token\n"
			}
			r := s.runIn(stdin, tt.args...)
			if r.err == nil {
				t.Fatalf("succeeded, want exit %d:\n%v", tt.code, r)
			}
			if r.code() != tt.code {
				t.Errorf("exit %d, want %d:\n%v", r.code(), tt.code, r)
			}
			fmt.Fprintf(&messages, "%s (exit %d):\n  botgate: %s\n", tt.name, r.code(), r.err)
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q lacks %q", r.err.Error(), w)
				}
			}
			for _, secret := range []string{srv.adminToken, reader.Token, bobPAT.Token, repoOnly.Token, "glpat-not-a-real-token"} {
				if strings.Contains(r.all(), secret) {
					t.Errorf("output shows a token:\n%v", r)
				}
			}
			if tt.name == "login rejects a bad token" {
				if _, err := os.Stat(filepath.Join(s.env["XDG_CONFIG_HOME"], "botgate", "credentials.json")); err == nil {
					t.Errorf("a rejected token was stored")
				}
			}
		})
	}
	golden(t, "errors.txt", messages.String())
}

// TestCLIHelp checks that every API command documents itself with an
// example and accepts --output where it prints data.
func TestCLIHelp(t *testing.T) {
	root := newRootCmd(&env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}})
	groups := map[string]bool{"login": true, "logout": true, "token": true, "user": true, "group": true, "project": true, "member": true, "service-account": true}
	var visit func(c *cobra.Command)
	n := 0
	visit = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			visit(sub)
		}
		if !c.Runnable() || c.HasSubCommands() {
			return
		}
		n++
		t.Run(c.CommandPath(), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s has no Example", c.CommandPath())
			}
			if c.Name() != "logout" && c.Flags().Lookup("output") == nil {
				t.Errorf("%s has no --output", c.CommandPath())
			}
			s := newSession(t, nil)
			args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "botgate ")), "--help")
			r := s.run(args...)
			if r.err != nil || !strings.Contains(r.stdout, "Examples:") {
				t.Errorf("--help output lacks Examples:\n%v", r)
			}
		})
	}
	for _, c := range root.Commands() {
		if groups[c.Name()] {
			visit(c)
		}
	}
	if n < 25 {
		t.Errorf("visited %d commands, want every API command (25+)", n)
	}
}

// TestCLIPagination checks that list commands fetch one page, a chosen page,
// or every page with --all.
func TestCLIPagination(t *testing.T) {
	srv := startServer(t)
	admin := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": srv.adminToken})
	const n = 23
	for i := range n {
		admin.ok("group", "create", "--name", fmt.Sprintf("g%02d", i))
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "default page", args: nil, want: 20},
		{name: "per page", args: []string{"--per-page", "10"}, want: 10},
		{name: "last page", args: []string{"--per-page", "10", "--page", "3"}, want: 3},
		{name: "all pages", args: []string{"--per-page", "10", "--all"}, want: n},
		{name: "all pages ignore --page", args: []string{"--per-page", "7", "--page", "3", "--all"}, want: n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs := decode[[]apiclient.Group](t, admin.ok(append([]string{"group", "list", "-o", "json"}, tt.args...)...))
			seen := map[int64]bool{}
			for _, g := range gs {
				if seen[g.ID] {
					t.Errorf("group %d listed twice", g.ID)
				}
				seen[g.ID] = true
			}
			if len(gs) != tt.want {
				t.Errorf("listed %d groups, want %d", len(gs), tt.want)
			}
		})
	}
	admin.fail(exitUsage, []string{"--per-page must be between 1 and 100"}, "group", "list", "--per-page", "101")
}
