package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/notify"
)

// TestPostJSON checks what PostJSON sends (the headers and the JSON body
// every webhook of botgate gets), the status it returns, and that none of
// its errors names the URL, which for incoming webhooks is a credential.
func TestPostJSON(t *testing.T) {
	type seen struct {
		header http.Header
		body   string
	}
	got := make(chan seen, 1)
	status := http.StatusNoContent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), string(b)}
		w.WriteHeader(status)
	}))
	defer hook.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	const secret = "hook-secret-T0B0"
	body := map[string]any{"event": "test", "n": 1}
	cases := []struct {
		name, url, ua string
		status        int // the webhook's answer; 0 for none
		wantUA        string
		wantErr       string // "" for success
	}{
		{"a 2xx answer", hook.URL + "/services/" + secret, "", http.StatusNoContent, "botgate/" + botgate.Version, ""},
		{"another User-Agent", hook.URL + "/services/" + secret, "botgate-gateway", http.StatusOK, "botgate-gateway", ""},
		{"an answer that is not 2xx", hook.URL + "/services/" + secret, "", http.StatusInternalServerError, "botgate/" + botgate.Version, "the webhook answered HTTP 500"},
		{"nothing listening", gone.URL + "/services/" + secret, "", 0, "", "posting the webhook: "},
		{"nothing listening, the secret in the query", gone.URL + "/hook?token=" + secret, "", 0, "", "posting the webhook: "},
		{"an unusable URL", "http://hooks.example.com/" + secret + "\x7f", "", 0, "", notify.ErrUnusableURL.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status = c.status
			code, err := notify.PostJSON(context.Background(), http.DefaultClient, notify.Webhook{URL: c.url, Event: "test.event", UserAgent: c.ua}, body)
			if code != c.status {
				t.Errorf("status %d, want %d", code, c.status)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, c.wantErr)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Fatalf("the error names the URL: %v", err)
			}
			if c.name == "an unusable URL" && !errors.Is(err, notify.ErrUnusableURL) {
				t.Errorf("error %v is not ErrUnusableURL", err)
			}
			if c.status == 0 {
				return
			}
			s := <-got
			if s.header.Get("Content-Type") != "application/json" || s.header.Get("User-Agent") != c.wantUA || s.header.Get("X-Botgate-Event") != "test.event" {
				t.Errorf("headers %v", s.header)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(s.body), &m); err != nil || m["event"] != "test" || m["n"] != 1.0 {
				t.Errorf("body %q", s.body)
			}
		})
	}
}
