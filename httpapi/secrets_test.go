package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/vault"
)

// vaultEnv is a running API with the vault enabled, a team and people at
// each role with an api-scoped personal token.
type vaultEnv struct {
	*env
	v      *authority.Vault
	group  *botgate.Group
	tokens map[string]string // role -> token
}

func newVaultEnv(t *testing.T) *vaultEnv { return newVaultEnvWith(t, false) }

// newVaultEnvWith is newVaultEnv with the upstream broker's routes too when
// withBroker.
func newVaultEnvWith(t *testing.T, withBroker bool) *vaultEnv {
	t.Helper()
	ctx := context.Background()
	mk, err := vault.NewMasterKey(bytes.Repeat([]byte{5}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := vault.NewKeyring(rand.Reader, mk)
	if err != nil {
		t.Fatal(err)
	}
	var v *authority.Vault
	e := newEnvWith(t, func(cfg *httpapi.Config) {
		v = cfg.Authority.Vault(kr)
		cfg.Vault = v
		if withBroker {
			b, err := broker.New(broker.Config{Store: cfg.Store, Vault: v, Clock: cfg.Clock})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Broker = b
		}
	})
	ve := &vaultEnv{env: e, v: v, tokens: map[string]string{"admin": e.root}}
	sys := authority.SystemActor()
	people := map[string]botgate.AccessLevel{"owner": botgate.OwnerAccess, "maintainer": botgate.MaintainerAccess,
		"developer": botgate.DeveloperAccess, "reporter": botgate.ReporterAccess, "guest": botgate.GuestAccess, "outsider": 0}
	users := map[string]*botgate.User{}
	for role := range people {
		u, err := e.auth.CreateUser(ctx, sys, authority.NewUser{Username: role, Email: role + "@botgate.test"})
		if err != nil {
			t.Fatal(err)
		}
		users[role] = u
		c, err := e.auth.CreatePersonalToken(ctx, sys, u.ID, authority.NewToken{Name: "cli", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		ve.tokens[role] = c.Secret
		e.remember(c.Secret)
	}
	owner := authority.Actor{User: users["owner"]}
	ve.group, err = e.auth.CreateGroup(ctx, owner, authority.NewGroup{Name: "Platform", Path: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	for role, level := range people {
		if role == "owner" || level == 0 {
			continue
		}
		if _, err := e.auth.AddMember(ctx, owner, botgate.Resource{Type: botgate.GroupResource, ID: ve.group.ID}, users[role].ID, level, nil); err != nil {
			t.Fatal(err)
		}
	}
	return ve
}

func (ve *vaultEnv) send(method, path, role string, body any) response {
	ve.t.Helper()
	var b bytes.Buffer
	if body != nil {
		json.NewEncoder(&b).Encode(body)
	}
	tok := ve.tokens[role]
	if tok == "" {
		tok = role // a raw token
	}
	return ve.do(method, path, tok, "application/json", &b)
}

func TestSecretsAPI(t *testing.T) {
	ve := newVaultEnv(t)
	const value = "upstream-admin-token-value-1f9e"
	ve.remember(value)
	base := "/api/botgate/v1/secrets/"
	path := base + url.PathEscape("platform") + "/gitlab-admin"

	steps := []struct {
		name   string
		method string
		path   string
		role   string
		body   any
		status int
	}{
		{"developer cannot create", "PUT", path, "developer", map[string]string{"value": value}, http.StatusForbidden},
		{"outsider cannot see the group", "PUT", path, "outsider", map[string]string{"value": value}, http.StatusNotFound},
		{"value is required", "PUT", path, "maintainer", map[string]string{"description": "x"}, http.StatusBadRequest},
		{"maintainer creates", "PUT", path, "maintainer", map[string]string{"value": value, "description": "upstream admin"}, http.StatusCreated},
		{"owner replaces", "PUT", base + fmt.Sprint(ve.group.ID) + "/gitlab-admin", "owner", map[string]string{"value": value}, http.StatusOK},
		{"bad name", "PUT", base + "platform/.hidden", "owner", map[string]string{"value": "x"}, http.StatusBadRequest},
		{"reporter lists", "GET", "/api/botgate/v1/secrets?group=platform", "reporter", nil, http.StatusOK},
		{"guest cannot list", "GET", "/api/botgate/v1/secrets?group=platform", "guest", nil, http.StatusForbidden},
		{"reporter sees metadata", "GET", path, "reporter", nil, http.StatusOK},
		{"reporter cannot read the value", "GET", path + "/value", "reporter", nil, http.StatusForbidden},
		{"developer cannot read the value", "GET", path + "/value", "developer", nil, http.StatusForbidden},
		{"outsider cannot read the value", "GET", path + "/value", "outsider", nil, http.StatusNotFound},
		{"maintainer reads the value", "GET", path + "/value", "maintainer", nil, http.StatusOK},
		{"admin reads the value", "GET", path + "/value", "admin", nil, http.StatusOK},
		{"unknown secret", "GET", path + "-nope/value", "maintainer", nil, http.StatusNotFound},
		{"no token", "GET", path + "/value", "glpat-nonsense", nil, http.StatusUnauthorized},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := ve.send(st.method, st.path, st.role, st.body)
			if res.status != st.status {
				t.Fatalf("%s %s as %s = %d %s, want %d", st.method, st.path, st.role, res.status, res.body, st.status)
			}
			hasValue := bytes.Contains(res.body, []byte(value))
			if wantValue := strings.HasSuffix(st.path, "/value") && st.status == http.StatusOK; hasValue != wantValue {
				t.Fatalf("response holds the value: %v, want %v (%s)", hasValue, wantValue, res.body)
			}
		})
	}

	t.Run("bound automation token", func(t *testing.T) {
		ctx := context.Background()
		p, err := ve.auth.CreateProject(ctx, authority.SystemActor(), authority.NewProject{Name: "Triage", Path: "triage", NamespaceID: ve.group.ID})
		if err != nil {
			t.Fatal(err)
		}
		res := botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}
		bot, err := ve.auth.CreateResourceToken(ctx, authority.SystemActor(), res, authority.NewToken{Name: "triage", Scopes: []string{"read_secret"}, Automation: "triage"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := ve.auth.CreateResourceToken(ctx, authority.SystemActor(), res, authority.NewToken{Name: "other", Scopes: []string{"read_secret"}})
		if err != nil {
			t.Fatal(err)
		}
		ve.remember(bot.Secret, other.Secret)
		if r := ve.send("GET", path+"/value", bot.Secret, nil); r.status != http.StatusNotFound {
			t.Fatalf("unbound bot read = %d %s", r.status, r.body)
		}
		if r := ve.send("PUT", path+"/binding", "developer", map[string]any{"token_id": bot.Token.ID}); r.status != http.StatusForbidden {
			t.Fatalf("developer binding = %d %s", r.status, r.body)
		}
		r := ve.send("PUT", path+"/binding", "maintainer", map[string]any{"token_id": bot.Token.ID})
		if r.status != http.StatusOK || r.json(t)["bound_automation"] != "triage" {
			t.Fatalf("binding = %d %s", r.status, r.body)
		}
		if r := ve.send("GET", path+"/value", bot.Secret, nil); r.status != http.StatusOK || r.json(t)["value"] != value {
			t.Fatalf("bound bot read = %d", r.status)
		}
		if r := ve.send("GET", path+"/value", other.Secret, nil); r.status != http.StatusNotFound {
			t.Fatalf("other bot read = %d %s", r.status, r.body)
		}
		if r := ve.send("DELETE", path+"/binding", "maintainer", nil); r.status != http.StatusOK {
			t.Fatalf("unbind = %d %s", r.status, r.body)
		}
		if r := ve.send("GET", path+"/value", bot.Secret, nil); r.status != http.StatusNotFound {
			t.Fatalf("read after unbind = %d", r.status)
		}
	})

	t.Run("list shows metadata only", func(t *testing.T) {
		r := ve.send("GET", "/api/botgate/v1/secrets?group="+fmt.Sprint(ve.group.ID), "maintainer", nil)
		var list []map[string]any
		if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 1 {
			t.Fatalf("list = %s (%v)", r.body, err)
		}
		if _, ok := list[0]["value"]; ok || list[0]["name"] != "gitlab-admin" || r.header.Get("X-Total") != "1" {
			t.Fatalf("list entry = %v", list[0])
		}
	})

	t.Run("delete", func(t *testing.T) {
		if r := ve.send("DELETE", path, "developer", nil); r.status != http.StatusForbidden {
			t.Fatalf("developer delete = %d", r.status)
		}
		if r := ve.send("DELETE", path, "owner", nil); r.status != http.StatusNoContent {
			t.Fatalf("owner delete = %d %s", r.status, r.body)
		}
		if r := ve.send("GET", path, "owner", nil); r.status != http.StatusNotFound {
			t.Fatalf("get after delete = %d", r.status)
		}
	})

	t.Run("every read and denial is audited", func(t *testing.T) {
		r := ve.send("GET", "/api/botgate/v1/audit/events?action=secret.read_denied", "admin", nil)
		var events []map[string]any
		if err := json.Unmarshal(r.body, &events); err != nil {
			t.Fatalf("audit events: %s", r.body)
		}
		// reporter, developer, outsider, unknown secret, unbound bot twice.
		if len(events) < 6 {
			t.Fatalf("%d read denials audited, want at least 6: %s", len(events), r.body)
		}
		r = ve.send("GET", "/api/botgate/v1/audit/events?action=secret.read", "admin", nil)
		if err := json.Unmarshal(r.body, &events); err != nil || len(events) != 3 {
			t.Fatalf("secret.read events: %s", r.body)
		}
		if bytes.Contains(r.body, []byte(value)) {
			t.Fatal("the audit log holds the value")
		}
	})
}

func TestUpstreamCredentialsAPI(t *testing.T) {
	ve := newVaultEnvWith(t, true)
	const admin = "glpat-upstream-admin-never-shown"
	ve.remember(admin)
	if r := ve.send("PUT", "/api/botgate/v1/secrets/platform/gitlab-admin", "maintainer", map[string]string{"value": admin}); r.status != http.StatusCreated {
		t.Fatalf("put admin secret = %d %s", r.status, r.body)
	}
	// An upstream that is not there: the credential is registered, pending.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	body := map[string]any{"group": "platform", "automation": "triage", "upstream_url": deadURL, "admin_secret": "gitlab-admin",
		"kind": "project_access", "target": "acme/app", "scopes": []string{"read_api"}, "lifetime_days": 10, "rotate_before_days": 2}
	steps := []struct {
		name   string
		method string
		path   string
		role   string
		body   any
		status int
	}{
		{"developer cannot register", "POST", "/api/botgate/v1/upstream_credentials", "developer", body, http.StatusForbidden},
		{"outsider cannot register", "POST", "/api/botgate/v1/upstream_credentials", "outsider", body, http.StatusNotFound},
		{"missing scopes", "POST", "/api/botgate/v1/upstream_credentials", "maintainer", map[string]any{"group": "platform"}, http.StatusBadRequest},
		{"maintainer registers; the mint fails", "POST", "/api/botgate/v1/upstream_credentials", "maintainer", body, http.StatusAccepted},
		{"duplicate automation", "POST", "/api/botgate/v1/upstream_credentials", "owner", body, http.StatusConflict},
		{"developer cannot list", "GET", "/api/botgate/v1/upstream_credentials?group=platform", "developer", nil, http.StatusForbidden},
		{"owner lists", "GET", "/api/botgate/v1/upstream_credentials?group=platform", "owner", nil, http.StatusOK},
		{"outsider cannot see it", "GET", "/api/botgate/v1/upstream_credentials/1", "outsider", nil, http.StatusNotFound},
		{"maintainer sees it", "GET", "/api/botgate/v1/upstream_credentials/1", "maintainer", nil, http.StatusOK},
		{"a pending credential does not rotate", "POST", "/api/botgate/v1/upstream_credentials/1/rotate", "maintainer", nil, http.StatusConflict},
		{"developer cannot remove", "DELETE", "/api/botgate/v1/upstream_credentials/1", "developer", nil, http.StatusForbidden},
		{"maintainer removes", "DELETE", "/api/botgate/v1/upstream_credentials/1", "maintainer", nil, http.StatusNoContent},
		{"gone", "GET", "/api/botgate/v1/upstream_credentials/1", "maintainer", nil, http.StatusNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := ve.send(st.method, st.path, st.role, st.body)
			if r.status != st.status {
				t.Fatalf("%s %s as %s = %d %s, want %d", st.method, st.path, st.role, r.status, r.body, st.status)
			}
			if bytes.Contains(r.body, []byte(admin)) {
				t.Fatal("the answer holds the upstream admin credential")
			}
			if st.status == http.StatusAccepted {
				j := r.json(t)
				if j["state"] != "pending" || j["last_error"] == "" || j["secret_name"] != "upstream-triage" {
					t.Fatalf("pending credential = %v", j)
				}
			}
		})
	}
}
