package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/apiwire"
)

// TestBrokerCLIAgainstSecondBotgate runs two botgate servers: one is the
// upstream GitLab, the other brokers tokens on it for its automations.
func TestBrokerCLIAgainstSecondBotgate(t *testing.T) {
	start := func(name string) (string, string) {
		dir := filepath.Join(t.TempDir(), name)
		tokenFile := filepath.Join(t.TempDir(), name+".token")
		// No grace: a rotated-out token is revoked at once.
		base, _, _ := serveWith(t, nil, "--data-dir", dir, "--admin-token-file", tokenFile, "--upstream-revoke-grace", "0s")
		if base == "" {
			t.Fatalf("%s did not start", name)
		}
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		return base, strings.TrimSpace(string(tok))
	}
	upURL, upAdmin := start("upstream")
	localURL, localAdmin := start("local")

	up, err := gitlab.NewClient(upAdmin, gitlab.WithBaseURL(upURL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := up.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := up.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("App"), Path: gitlab.Ptr("app"), NamespaceID: gitlab.Ptr(g.ID)}); err != nil {
		t.Fatal(err)
	}
	local, err := gitlab.NewClient(localAdmin, gitlab.WithBaseURL(localURL+"/api/v4"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := local.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Platform"), Path: gitlab.Ptr("platform")}); err != nil {
		t.Fatal(err)
	}
	cli := map[string]string{"BOTGATE_URL": localURL, "BOTGATE_TOKEN": localAdmin, "HOME": t.TempDir()}
	botgate := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := runWith(t, cli, stdin, args...)
		if err != nil {
			t.Fatalf("botgate %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		if strings.Contains(out+errOut, upAdmin) {
			t.Fatalf("botgate %s printed the upstream admin token", strings.Join(args, " "))
		}
		return out
	}
	// works reports whether a token authenticates on the upstream.
	works := func(token string) bool {
		c, err := gitlab.NewClient(token, gitlab.WithBaseURL(upURL+"/api/v4"), gitlab.WithoutRetries())
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Users.CurrentUser()
		return err == nil
	}

	botgate(upAdmin+"\n", "secret", "put", "platform", "gitlab-admin")
	var cred apiwire.UpstreamCredential
	out := botgate("", "broker", "add", "platform", "triage", "--upstream-url", upURL, "--admin-secret", "gitlab-admin",
		"--kind", "project_access", "--target", "acme/app", "--scopes", "read_api,read_repository", "--access-level", "20",
		"--auto-rotate", "--output", "json")
	if err := json.Unmarshal([]byte(out), &cred); err != nil || cred.State != "active" || cred.UpstreamTokenID == 0 {
		t.Fatalf("broker add: %s (%v)", out, err)
	}
	first := strings.TrimSpace(botgate("", "secret", "get", "platform", "upstream-triage"))
	if !works(first) {
		t.Fatal("the minted token does not work upstream")
	}
	// The upstream sees a real project access token with the asked scopes.
	toks, _, err := up.ProjectAccessTokens.ListProjectAccessTokens("acme/app", &gitlab.ListProjectAccessTokensOptions{})
	if err != nil || len(toks) != 1 || toks[0].ID != cred.UpstreamTokenID || strings.Join(toks[0].Scopes, ",") != "read_api,read_repository" || toks[0].AccessLevel != 20 {
		t.Fatalf("upstream tokens = %+v, %v", toks, err)
	}
	idStr := jsonID(t, out)
	botgate("", "broker", "rotate", idStr)
	second := strings.TrimSpace(botgate("", "secret", "get", "platform", "upstream-triage"))
	if second == first || !works(second) || works(first) {
		t.Fatalf("after rotate: new works=%v old works=%v", works(second), works(first))
	}
	list := botgate("", "broker", "list", "platform")
	if !strings.Contains(list, "triage") || strings.Contains(list, second) {
		t.Fatalf("broker list: %s", list)
	}
	botgate("", "broker", "rm", idStr)
	if works(second) {
		t.Fatal("the token still works upstream after broker rm")
	}
	if _, _, err := runWith(t, cli, "", "secret", "get", "platform", "upstream-triage"); err == nil {
		t.Fatal("the minted token is still in the vault after broker rm")
	}
	// A Developer of the team may not register one.
	u, _, err := local.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("dana"), Email: gitlab.Ptr("dana@example.com"), Name: gitlab.Ptr("Dana")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := local.GroupMembers.AddGroupMember("platform", &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(u.ID), AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}); err != nil {
		t.Fatal(err)
	}
	pat, _, err := local.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("cli"), Scopes: &[]string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	dev := map[string]string{"BOTGATE_URL": localURL, "BOTGATE_TOKEN": pat.Token, "HOME": t.TempDir()}
	_, errOut, err := runWith(t, dev, "", "broker", "add", "platform", "sneaky", "--upstream-url", upURL, "--admin-secret", "gitlab-admin",
		"--target", "acme/app", "--scopes", "api")
	if exitCode(err) != exitAuth || !strings.Contains(errOut+errString(err), "Maintainer") {
		t.Fatalf("developer broker add: exit %d, %v %s", exitCode(err), err, errOut)
	}
}

func jsonID(t *testing.T, out string) string {
	t.Helper()
	var m struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	return m.ID.String()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
