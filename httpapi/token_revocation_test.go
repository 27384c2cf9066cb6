package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/httpapi"
)

// revocationSecret is the pre-shared token configured on botgate and in
// GitLab's secret_detection_token_revocation_token.
const revocationSecret = "srs-3c4b1f0e9a8d7c6b5a4f3e2d1c0b9a8f"

// gitlabRevocationCall sends a request exactly as GitLab's
// Security::TokenRevocationService does: Content-Type application/json and
// the pre-shared token as the whole Authorization header; a GET for the
// token types, a POST of a JSON array for the revocation.
func gitlabRevocationCall(t *testing.T, e *env, method, path, authorization string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	req.Header.Set("User-Agent", "GitLab/18.6.0")
	return e.send(req)
}

// revocationBody is the JSON GitLab posts: an array of {type, token, location}.
func revocationBody(t *testing.T, items ...map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const routableType = "gitleaks_rule_id_gitlab_personal_access_token_routable"

func newRevocationFixture(t *testing.T) *leakFixture {
	return newLeakFixtureWith(t, func(cfg *httpapi.Config) { cfg.TokenRevocationToken = revocationSecret })
}

// stillWorks fails the test unless the token still authenticates.
func stillWorks(t *testing.T, f *leakFixture, token string) {
	t.Helper()
	if _, _, err := f.client(token).Users.CurrentUser(); err != nil {
		t.Fatalf("the token no longer works: %v", err)
	}
}

func TestTokenRevocationTypes(t *testing.T) {
	f := newRevocationFixture(t)
	r := gitlabRevocationCall(t, f.env, http.MethodGet, "/v1/revocable_token_types", revocationSecret, nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP %d %s %q", r.status, r.body, r.header.Get("Content-Type"))
	}
	// GitLab reads response.body['types'] and keeps the findings whose type is listed.
	var got struct{ Types []string }
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gitleaks_rule_id_gitlab_personal_access_token", routableType, routableType + "_versioned"} {
		if !slices.Contains(got.Types, want) {
			t.Errorf("types %v lack %s", got.Types, want)
		}
	}
}

func TestTokenRevocationRevokesLeakedToken(t *testing.T) {
	f := newRevocationFixture(t)
	ghost := unissued(t)
	f.remember(ghost)
	loc := "https://gitlab.example.com/platform/tools/release-bot/-/blob/abc123/ci.yml#L3"
	body := revocationBody(t,
		map[string]string{"type": routableType, "token": f.botToken, "location": loc},
		map[string]string{"type": routableType, "token": f.botToken, "location": loc + "7"},
		map[string]string{"type": routableType, "token": ghost, "location": "https://gitlab.example.com/a/-/blob/x/b#L1"},
		map[string]string{"type": "gitleaks_rule_id_gitlab_personal_access_token", "token": "glpat-" + strings.Repeat("A", 20), "location": "https://gitlab.example.com/c#L2"},
	)
	r := gitlabRevocationCall(t, f.env, http.MethodPost, "/v1/revoke_tokens", revocationSecret, body)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("HTTP %d %q, want 204 and no body", r.status, r.body)
	}

	t.Run("the token no longer works", func(t *testing.T) {
		_, resp, err := f.client(f.botToken).Users.CurrentUser()
		wantStatus(t, "GET /user with the leaked token", resp, err, http.StatusUnauthorized)
	})
	t.Run("audited once as reported by GitLab's secret detection, with the location", func(t *testing.T) {
		evs, err := f.auth.AuditEvents(context.Background(), authority.SystemActor(), botgate.AuditFilter{Action: authority.ActionTokenLeaked})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("token.leaked events %d, want 1 (the duplicate is reported once, the others are not this instance's)", len(evs))
		}
		e := evs[0]
		if e.TargetID != int64(f.botTok.ID) || e.ActorName != "gitlab-secret-detection" || e.Details["location"] != loc ||
			e.Details["was_active"] != "true" || e.UserAgent != "GitLab/18.6.0" {
			t.Errorf("event %+v", e)
		}
	})
	t.Run("the owning team's webhook is told", func(t *testing.T) {
		select {
		case <-f.hook.got:
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook")
		}
		var ev gateway.LeakEvent
		event, raw, _ := strings.Cut(f.hook.all()[0], " ")
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		if event != "token.leaked" || ev.TokenID != int64(f.botTok.ID) || ev.Team != "platform/tools" || ev.Location != loc {
			t.Errorf("webhook %s %+v", event, ev)
		}
	})
	t.Run("idempotent, and the same answer for every outcome", func(t *testing.T) {
		for _, tok := range []string{f.botToken, ghost, "glpat-" + strings.Repeat("B", 20), "not a token at all"} {
			r := gitlabRevocationCall(t, f.env, http.MethodPost, "/v1/revoke_tokens", revocationSecret,
				revocationBody(t, map[string]string{"type": routableType, "token": tok, "location": loc}))
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Errorf("HTTP %d %q, want 204 and no body", r.status, r.body)
			}
		}
		select {
		case <-f.hook.got:
			t.Error("a second webhook for an already revoked token")
		case <-time.After(200 * time.Millisecond):
		}
	})
}

func TestTokenRevocationRefusals(t *testing.T) {
	f := newRevocationFixture(t)
	good := revocationBody(t, map[string]string{"type": routableType, "token": f.botToken, "location": "https://x/y#L1"})
	for _, tt := range []struct {
		name, method, path, auth string
		body                     []byte
		status                   int
		message                  string
	}{
		{"no Authorization", http.MethodPost, "/v1/revoke_tokens", "", good, 401, "401 Unauthorized"},
		{"wrong token", http.MethodPost, "/v1/revoke_tokens", revocationSecret + "x", good, 401, "401 Unauthorized"},
		{"wrong bearer token", http.MethodPost, "/v1/revoke_tokens", "Bearer " + revocationSecret[1:], good, 401, "401 Unauthorized"},
		{"a botgate admin token is not the pre-shared token", http.MethodPost, "/v1/revoke_tokens", f.root, good, 401, "401 Unauthorized"},
		{"types without Authorization", http.MethodGet, "/v1/revocable_token_types", "", nil, 401, "401 Unauthorized"},
		{"not JSON", http.MethodPost, "/v1/revoke_tokens", revocationSecret, []byte("type=x"), 400,
			"400 Bad request - the body must be a JSON array of {type, token, location}: it is not valid JSON"},
		{"an object, not an array", http.MethodPost, "/v1/revoke_tokens", revocationSecret,
			[]byte(`{"type":"` + routableType + `","token":"` + f.botToken + `"}`), 400,
			"400 Bad request - the body must be a JSON array of {type, token, location}: a value has the wrong type"},
		{"empty body", http.MethodPost, "/v1/revoke_tokens", revocationSecret, nil, 400,
			"400 Bad request - the body must be a JSON array of {type, token, location}"},
		{"an unsupported type refuses the whole batch", http.MethodPost, "/v1/revoke_tokens", revocationSecret,
			revocationBody(t, map[string]string{"type": routableType, "token": f.botToken, "location": "l"},
				map[string]string{"type": "gitleaks_rule_id_aws_access_token", "token": "AKIAIOSFODNN7EXAMPLE", "location": "l"}), 400,
			"400 Bad request - item 1: the token type is not supported; GET /v1/revocable_token_types lists the supported ones"},
		{"a missing token", http.MethodPost, "/v1/revoke_tokens", revocationSecret,
			revocationBody(t, map[string]string{"type": routableType, "location": "l"}), 400, "400 Bad request - item 0: token is missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gitlabRevocationCall(t, f.env, tt.method, tt.path, tt.auth, tt.body)
			if r.status != tt.status {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, tt.status)
			}
			if got := r.json(t)["message"]; got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			stillWorks(t, f, f.botToken)
		})
	}
	t.Run("another method is 405", func(t *testing.T) {
		r := gitlabRevocationCall(t, f.env, http.MethodDelete, "/v1/revoke_tokens", revocationSecret, good)
		if r.status != http.StatusMethodNotAllowed {
			t.Fatalf("HTTP %d %s, want 405", r.status, r.body)
		}
	})
	t.Run("nothing was audited as leaked", func(t *testing.T) {
		evs, err := f.auth.AuditEvents(context.Background(), authority.SystemActor(), botgate.AuditFilter{Action: authority.ActionTokenLeaked})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Errorf("token.leaked events %+v", evs)
		}
	})
}

func TestTokenRevocationUnconfiguredFailsClosed(t *testing.T) {
	f := newLeakFixture(t)
	for _, auth := range []string{"", "Bearer ", revocationSecret, f.root} {
		for _, c := range []struct{ method, path string }{{http.MethodGet, "/v1/revocable_token_types"}, {http.MethodPost, "/v1/revoke_tokens"}} {
			r := gitlabRevocationCall(t, f.env, c.method, c.path, auth,
				revocationBody(t, map[string]string{"type": routableType, "token": f.botToken, "location": "l"}))
			want := "401 Unauthorized - the token revocation API is not configured on this botgate (set its pre-shared token)"
			if r.status != http.StatusUnauthorized || r.json(t)["message"] != want {
				t.Errorf("%s %s: HTTP %d %s, want 401 %q", c.method, c.path, r.status, r.body, want)
			}
		}
	}
	stillWorks(t, f, f.botToken)
}
