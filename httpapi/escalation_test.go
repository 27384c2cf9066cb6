package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// TestEscalationPathsAreClosed drives, through the real API, the ways a
// caller could get more than it holds: rotating a token above its role,
// a service account minting for itself, a token shedding its automation
// label, and a 403 that tells a token id exists.
func TestEscalationPathsAreClosed(t *testing.T) {
	f := newFixture(t)
	pid := strconv.FormatInt(f.project.ID, 10)
	gid := strconv.FormatInt(f.group.ID, 10)

	// An Owner-level project token made by the Owner (alice).
	ownerBot := must[*gitlab.ProjectAccessToken](t)(f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("release"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions),
	}))
	f.remember(ownerBot.Token)
	// A Maintainer-level project token, labelled with its automation.
	labelled := must[*gitlab.ProjectAccessToken](t)(f.carol.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("hygiene"), Scopes: &[]string{"api"}, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions),
	}))
	f.remember(labelled.Token)
	labelledID := strconv.FormatInt(labelled.ID, 10)
	if r := f.form("PUT", "/api/botgate/v1/tokens/"+labelledID+"/automation", f.carolTok, url.Values{"automation": {"mr-hygiene"}}); r.status != http.StatusOK {
		t.Fatalf("labelling by the maintainer: HTTP %d %s", r.status, r.body)
	}
	// A service account of alice's team, with a token the team issued.
	sa := must[*gitlab.GroupServiceAccount](t)(f.alice.Groups.CreateServiceAccount(f.group.ID, &gitlab.CreateServiceAccountOptions{Name: gitlab.Ptr("mirror")}))
	saTok := must[*gitlab.PersonalAccessToken](t)(f.alice.Groups.CreateServiceAccountPersonalAccessToken(f.group.ID, sa.ID,
		&gitlab.CreateServiceAccountPersonalAccessTokenOptions{Name: gitlab.Ptr("mirror"), Scopes: &[]string{"api"}}))
	f.remember(saTok.Token)
	saID := strconv.FormatInt(sa.ID, 10)
	// Carol's own personal token, which bob may not see.
	carolPAT := must[*gitlab.PersonalAccessToken](t)(f.carol.PersonalAccessTokens.GetSinglePersonalAccessToken())
	carolPATID := strconv.FormatInt(carolPAT.ID, 10)

	tests := []struct {
		name    string
		call    func() response
		status  int
		message string // a part of the body
	}{
		{"maintainer rotates an Owner-level project token", func() response {
			return f.form("POST", "/api/v4/projects/"+pid+"/access_tokens/"+strconv.FormatInt(ownerBot.ID, 10)+"/rotate", f.carolTok, nil)
		}, http.StatusForbidden, "exceeds your own role"},
		{"service account creates a token for the current user", func() response {
			return f.form("POST", "/api/v4/user/personal_access_tokens", saTok.Token, url.Values{"name": {"forever"}, "scopes[]": {"api"}})
		}, http.StatusForbidden, "cannot create tokens for itself"},
		{"service account creates a token for itself by id", func() response {
			return f.form("POST", "/api/v4/users/"+saID+"/personal_access_tokens", saTok.Token, url.Values{"name": {"forever"}, "scopes[]": {"api"}})
		}, http.StatusForbidden, "cannot create tokens for itself"},
		{"project token creates a personal token for itself", func() response {
			return f.form("POST", "/api/v4/user/personal_access_tokens", labelled.Token, url.Values{"name": {"forever"}, "scopes[]": {"api"}})
		}, http.StatusUnprocessableEntity, "project access token"},
		{"token clears its own automation label", func() response {
			return f.form("PUT", "/api/botgate/v1/tokens/"+labelledID+"/automation", labelled.Token, url.Values{"automation": {""}})
		}, http.StatusForbidden, "own automation label"},
		{"developer revokes another person's token", func() response {
			return f.do("DELETE", "/api/v4/personal_access_tokens/"+carolPATID, f.bobTok, "", nil)
		}, http.StatusNotFound, "404 Not found"},
		{"developer revokes a missing token", func() response {
			return f.do("DELETE", "/api/v4/personal_access_tokens/987654", f.bobTok, "", nil)
		}, http.StatusNotFound, "404 Not found"},
		{"developer revokes a project token", func() response {
			return f.do("DELETE", "/api/v4/personal_access_tokens/"+labelledID, f.bobTok, "", nil)
		}, http.StatusNotFound, "404 Not found"},
		{"developer rotates another person's token", func() response {
			return f.form("POST", "/api/v4/personal_access_tokens/"+carolPATID+"/rotate", f.bobTok, nil)
		}, http.StatusUnauthorized, "401 Unauthorized"},
		{"developer rotates a missing token", func() response {
			return f.form("POST", "/api/v4/personal_access_tokens/987654/rotate", f.bobTok, nil)
		}, http.StatusUnauthorized, "401 Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.call()
			if r.status != tt.status || !strings.Contains(string(r.body), tt.message) {
				t.Fatalf("HTTP %d %s, want %d containing %q", r.status, r.body, tt.status, tt.message)
			}
		})
	}

	// Nothing was changed by the refused calls: the Owner-level token and
	// carol's token still work, the label is still there, and the service
	// account holds only the token its team issued.
	for _, tok := range []string{ownerBot.Token, f.carolTok} {
		if r := f.do("GET", "/api/v4/personal_access_tokens/self", tok, "", nil); r.status != http.StatusOK {
			t.Fatalf("token refused after the refused calls: HTTP %d %s", r.status, r.body)
		}
	}
	if got := f.do("GET", "/api/botgate/v1/tokens/"+labelledID, f.carolTok, "", nil).json(t)["automation"]; got != "mr-hygiene" {
		t.Fatalf("automation = %v, want mr-hygiene", got)
	}
	toks := f.do("GET", "/api/v4/groups/"+gid+"/service_accounts/"+saID+"/personal_access_tokens", f.aliceTok, "", nil)
	if n := strings.Count(string(toks.body), `"name":`); toks.status != http.StatusOK || n != 1 {
		t.Fatalf("service account tokens: HTTP %d, %d tokens (%s), want 1", toks.status, n, toks.body)
	}
}
