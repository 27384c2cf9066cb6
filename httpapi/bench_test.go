package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/httpapi"
)

// The benchmarks call the handler directly (no network) to measure what
// botgate adds per request: authentication (cached), scope check, the
// store read and GitLab's JSON. Compare them with BenchmarkHealth, which
// does none of it.

func benchHandler(b *testing.B) (*fixture, http.Handler) {
	f := newFixture(b)
	srv := f.srv.Config.Handler.(*httpapi.Server)
	return f, srv
}

func serve(b *testing.B, h http.Handler, path, token string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("PRIVATE-TOKEN", token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func BenchmarkHealth(b *testing.B) {
	_, h := benchHandler(b)
	serve(b, h, "/-/health", "")
}

func BenchmarkCurrentUser(b *testing.B) {
	f, h := benchHandler(b)
	serve(b, h, "/api/v4/user", f.aliceTok)
}

func BenchmarkGetProjectAccessToken(b *testing.B) {
	f, h := benchHandler(b)
	tok, _, err := f.alice.ProjectAccessTokens.CreateProjectAccessToken(f.project.ID, &gitlab.CreateProjectAccessTokenOptions{
		Name: gitlab.Ptr("bench"), Scopes: &[]string{"read_api"},
	})
	if err != nil {
		b.Fatal(err)
	}
	f.remember(tok.Token)
	serve(b, h, "/api/v4/projects/platform%2Ftools%2Frelease-bot/access_tokens/"+strconv.FormatInt(tok.ID, 10), f.aliceTok)
}

func BenchmarkListPersonalAccessTokens(b *testing.B) {
	f, h := benchHandler(b)
	for i := range 100 {
		tok, _, err := f.admin.Users.CreatePersonalAccessToken(f.bobID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("bench-" + strconv.Itoa(i)), Scopes: &[]string{"read_api"},
		})
		if err != nil {
			b.Fatal(err)
		}
		f.remember(tok.Token)
	}
	serve(b, h, "/api/v4/personal_access_tokens?per_page=100", f.bobTok)
}
