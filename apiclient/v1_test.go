package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
)

// TestV1Errors checks how V1 turns each answer of /api/botgate/v1 into a
// kind and a message: the table the CLI's exit statuses follow.
func TestV1Errors(t *testing.T) {
	const token = "glpat-v1-test-token"
	tests := []struct {
		name     string
		status   int
		body     string
		wantKind botgate.Kind
		wantMsg  string
	}{
		{"400 is invalid, with the server's message", 400, `{"message":"400 Bad request - token 3 is revoked or expired"}`,
			botgate.KindInvalid, "400 Bad request - token 3 is revoked or expired (HTTP 400)"},
		{"409 is invalid", 409, `{"message":"taken"}`, botgate.KindInvalid, "taken (HTTP 409)"},
		{"error field when no message", 422, `{"error":"value is missing"}`, botgate.KindInvalid, "value is missing (HTTP 422)"},
		{"401", 401, `{"message":"401 Unauthorized"}`, botgate.KindUnauthenticated, "401 Unauthorized (HTTP 401)"},
		{"403", 403, `{"message":"403 Forbidden"}`, botgate.KindForbidden, "403 Forbidden (HTTP 403)"},
		{"404 names what", 404, `{"message":"404 Not Found"}`, botgate.KindNotFound, "secret team/x not found (or not visible to you) (HTTP 404)"},
		{"429", 429, `{"message":"slow down"}`, botgate.KindRateLimited, "slow down (HTTP 429)"},
		{"500", 500, `{"message":"500 Internal Server Error"}`, botgate.KindInternal, "500 Internal Server Error (HTTP 500)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("PRIVATE-TOKEN") != token || r.URL.Path != "/api/botgate/v1/secrets/team/x/value" {
					t.Errorf("request %s with token %q", r.URL.Path, r.Header.Get("PRIVATE-TOKEN"))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := NewV1(Resolved{URL: srv.URL, Token: token}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SecretValue(context.Background(), "team", "x")
			if botgate.KindOf(err) != tt.wantKind || botgate.MessageOf(err) != tt.wantMsg {
				t.Errorf("err = %v (kind %v), want kind %v, message %q", err, botgate.KindOf(err), tt.wantKind, tt.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// TestV1Unreachable checks that a server that cannot be reached is
// reported as the GitLab client's errors are, naming the URL to check.
func TestV1Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := NewV1(Resolved{URL: url, Token: "glpat-x"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.TokenUsage(context.Background(), 1)
	if botgate.KindOf(err) != botgate.KindInternal || !strings.Contains(botgate.MessageOf(err), "cannot reach botgate at "+url) ||
		!strings.Contains(botgate.MessageOf(err), "is 'botgate serve' running") {
		t.Errorf("err = %v", err)
	}
}

// TestV1ReportLeaksCountsAnswers checks that an answer that does not match
// the items one to one is refused rather than misattributed.
func TestV1ReportLeaksCountsAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"type":"gitlab_personal_access_token","status":"revoked"}]`))
	}))
	defer srv.Close()
	c, err := NewV1(Resolved{URL: srv.URL, Token: "glpat-x"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := []apiwire.LeakItem{{Type: apiwire.LeakTokenType, Token: "a"}, {Type: apiwire.LeakTokenType, Token: "b"}}
	if _, err := c.ReportLeaks(context.Background(), items); botgate.KindOf(err) != botgate.KindInternal ||
		!strings.Contains(err.Error(), "answered 1 items for 2 tokens") {
		t.Errorf("err = %v", err)
	}
}
