package apiclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "plain", in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "trailing slash", in: "https://botgate.example.com/", want: "https://botgate.example.com"},
		{name: "api suffix", in: "https://botgate.example.com/api/v4/", want: "https://botgate.example.com"},
		{name: "sub path kept", in: "https://example.com/botgate/api/v4", want: "https://example.com/botgate"},
		{name: "spaces trimmed", in: "  http://h:1  ", want: "http://h:1"},
		{name: "no scheme", in: "127.0.0.1:8080", wantErr: true},
		{name: "ftp", in: "ftp://h", wantErr: true},
		{name: "no host", in: "http://", wantErr: true},
		{name: "credentials in URL", in: "http://u:p@h", wantErr: true},
		{name: "query", in: "http://h/?private_token=x", wantErr: true},
		{name: "credentials without a scheme", in: "u:glpat-secret@h", wantErr: true},
		{name: "credentials without a host", in: "https://u:glpat-secret@", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NormalizeURL(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "glpat-secret") {
				t.Fatalf("NormalizeURL(%q) error shows the credential: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	path, err := CredentialsPath(envMap(map[string]string{"XDG_CONFIG_HOME": dir, "HOME": "/nonexistent"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "botgate", "credentials.json"); path != want {
		t.Fatalf("CredentialsPath = %q, want %q", path, want)
	}
	c := Credentials{URL: "http://127.0.0.1:8080", Token: "glpat-secret"}
	if err := SaveCredentials(path, c); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}} {
		fi, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != p.mode {
			t.Errorf("%s has mode %v, want %v", p.path, fi.Mode().Perm(), p.mode)
		}
	}
	got, err := LoadCredentials(path)
	if err != nil || got != c {
		t.Fatalf("LoadCredentials = %+v, %v; want %+v", got, err, c)
	}
	// Saving again replaces the file and keeps its mode.
	c2 := Credentials{URL: "http://127.0.0.1:9090", Token: "glpat-other"}
	if err := SaveCredentials(path, c2); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadCredentials(path); got != c2 {
		t.Fatalf("after second save: %+v, want %+v", got, c2)
	}
	// A file others can read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredentials(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadCredentials of a 0644 file: err = %v, want a chmod hint", err)
	}
	os.Chmod(path, 0o600)
	had, err := RemoveCredentials(path)
	if err != nil || !had {
		t.Fatalf("RemoveCredentials = %v, %v", had, err)
	}
	if had, err := RemoveCredentials(path); err != nil || had {
		t.Fatalf("second RemoveCredentials = %v, %v; want false, nil", had, err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	base := map[string]string{"XDG_CONFIG_HOME": dir}
	path, _ := CredentialsPath(envMap(base))
	if err := SaveCredentials(path, Credentials{URL: "http://stored:1/", Token: "glpat-stored"}); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name      string
		env       map[string]string
		flag      string
		wantURL   string
		wantToken string
		wantKind  botgate.Kind // 0: no error
		wantMsg   string
	}{
		{name: "stored", env: base, wantURL: "http://stored:1", wantToken: "glpat-stored"},
		{name: "env overrides both", env: map[string]string{"XDG_CONFIG_HOME": dir, EnvURL: "http://env:2", EnvToken: "glpat-env"},
			wantURL: "http://env:2", wantToken: "glpat-env"},
		{name: "flag beats env URL", env: map[string]string{"XDG_CONFIG_HOME": dir, EnvURL: "http://env:2", EnvToken: "glpat-env"},
			flag: "http://flag:3", wantURL: "http://flag:3", wantToken: "glpat-env"},
		{name: "env token with stored URL", env: map[string]string{"XDG_CONFIG_HOME": dir, EnvToken: "glpat-env"},
			wantURL: "http://stored:1", wantToken: "glpat-env"},
		{name: "same URL by flag keeps stored token", env: base, flag: "http://stored:1/api/v4",
			wantURL: "http://stored:1", wantToken: "glpat-stored"},
		{name: "stored token never goes to another URL", env: base, flag: "http://evil:4",
			wantKind: botgate.KindInvalid, wantMsg: "belongs to http://stored:1"},
		{name: "not logged in", env: map[string]string{"XDG_CONFIG_HOME": empty},
			wantKind: botgate.KindUnauthenticated, wantMsg: "botgate login"},
		{name: "env only, no file needed", env: map[string]string{"XDG_CONFIG_HOME": empty, EnvURL: "http://env:2", EnvToken: "glpat-env"},
			wantURL: "http://env:2", wantToken: "glpat-env"},
		{name: "bad env URL", env: map[string]string{"XDG_CONFIG_HOME": empty, EnvURL: "env:2", EnvToken: "glpat-env"},
			wantKind: botgate.KindInvalid, wantMsg: "not a server URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Resolve(envMap(tt.env), tt.flag)
			if tt.wantKind != 0 {
				if !botgate.IsKind(err, tt.wantKind) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("Resolve error = %v (kind %v), want kind %v containing %q", err, botgate.KindOf(err), tt.wantKind, tt.wantMsg)
				}
				if strings.Contains(err.Error(), "glpat-") {
					t.Errorf("error shows a token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.URL != tt.wantURL || r.Token != tt.wantToken {
				t.Errorf("Resolve = %q %q, want %q %q", r.URL, r.Token, tt.wantURL, tt.wantToken)
			}
		})
	}
}

// TestExplain drives the real GitLab client against a server answering with
// GitLab's documented error bodies, and checks the kinds and messages.
func TestExplain(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		header   map[string]string
		what     string
		wantKind botgate.Kind
		wantMsg  []string
	}{
		{name: "401 plain", status: 401, body: `{"message":"401 Unauthorized"}`,
			wantKind: botgate.KindUnauthenticated, wantMsg: []string{"the token was rejected (expired or revoked?): run botgate login"}},
		{name: "401 revoked", status: 401, body: `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`,
			wantKind: botgate.KindUnauthenticated, wantMsg: []string{"revoked", "botgate login"}},
		{name: "401 expired", status: 401, body: `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`,
			wantKind: botgate.KindUnauthenticated, wantMsg: []string{"expired", "botgate login"}},
		{name: "403 insufficient scope", status: 403,
			body:     `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`,
			wantKind: botgate.KindForbidden, wantMsg: []string{"needs the api scope", "--scopes api"}},
		{name: "403 insufficient scope, two choices", status: 403,
			body:     `{"error":"insufficient_scope","error_description":"x","scope":"api read_api"}`,
			wantKind: botgate.KindForbidden, wantMsg: []string{"needs the api or read_api scope"}},
		{name: "403 forbidden", status: 403, body: `{"message":"403 Forbidden"}`,
			wantKind: botgate.KindForbidden, wantMsg: []string{"not allowed: 403 Forbidden"}},
		{name: "404 names the thing and the server's words", status: 404, body: `{"message":"404 Project Not Found"}`, what: `project "team/app"`,
			wantKind: botgate.KindNotFound, wantMsg: []string{`project "team/app" not found`, "404 Project Not Found"}},
		{name: "400 bad request", status: 400, body: `{"message":"400 Bad request - Access level of the token contains permissions not held by the creating user"}`,
			wantKind: botgate.KindInvalid, wantMsg: []string{"refused the request: 400 Bad request - Access level"}},
		{name: "400 grape validation", status: 400, body: `{"error":"name is missing"}`,
			wantKind: botgate.KindInvalid, wantMsg: []string{"name is missing"}},
		{name: "400 model validation", status: 400, body: `{"message":{"path":["has already been taken"]}}`,
			wantKind: botgate.KindInvalid, wantMsg: []string{"path has already been taken"}},
		{name: "500 with request id", status: 500, body: `{"message":"500 Internal Server Error"}`, header: map[string]string{"X-Request-Id": "abc123"},
			wantKind: botgate.KindInternal, wantMsg: []string{"server failed (HTTP 500)", "request_id=abc123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(Resolved{URL: srv.URL, Token: "glpat-test-secret"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// POST is never retried, so even the 500 case makes one request.
			_, resp, err := c.ProjectAccessTokens.CreateProjectAccessToken("team/app", &gitlab.CreateProjectAccessTokenOptions{Name: gitlab.Ptr("x")})
			got := Explain(err, resp, tt.what)
			if !botgate.IsKind(got, tt.wantKind) {
				t.Fatalf("kind = %v (%v), want %v", botgate.KindOf(got), got, tt.wantKind)
			}
			msg := botgate.MessageOf(got)
			for _, w := range tt.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(got.Error(), "glpat-test-secret") {
				t.Errorf("error shows the token: %v", got)
			}
			if !errors.Is(got, err) {
				t.Errorf("the client's error is not in the chain")
			}
		})
	}
}

func TestExplainUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, err := New(Resolved{URL: url, Token: "glpat-x"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.Users.CurrentUser()
	got := Explain(err, resp, "")
	if !botgate.IsKind(got, botgate.KindInternal) || !strings.Contains(botgate.MessageOf(got), "cannot reach botgate at "+url) {
		t.Fatalf("Explain = %v, want a cannot-reach message naming %s", got, url)
	}
	if Explain(nil, nil, "x") != nil {
		t.Error("Explain(nil) != nil")
	}
}
