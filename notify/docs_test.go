package notify_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/botgate/botgate/config"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/notify"
)

// TestDocsExpiry checks docs/expiry.md: its manifest parses, its
// configuration passes config check (with the password file made), and
// its webhook example is exactly the shape the job posts.
func TestDocsExpiry(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "expiry.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(yaml|json)\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	var manifests, configs, jsons int
	for _, b := range blocks {
		lang, body := b[1], b[2]
		switch {
		case lang == "json":
			jsons++
			dec := json.NewDecoder(strings.NewReader(body))
			dec.DisallowUnknownFields()
			var n notify.ExpiryWebhook
			if err := dec.Decode(&n); err != nil {
				t.Errorf("the webhook example is not an ExpiryWebhook: %v", err)
			}
			out, _ := json.Marshal(n)
			var a, b map[string]any
			json.Unmarshal(out, &a)
			json.Unmarshal([]byte(body), &b)
			if len(a) != len(b) {
				t.Errorf("the webhook example has %d fields, the job posts %d", len(b), len(a))
			}
		case strings.HasPrefix(body, "version: 1"):
			manifests++
			m, err := manifest.ParseNamed("docs/expiry.md", strings.NewReader(body))
			if err != nil {
				t.Errorf("the manifest example: %v", err)
				continue
			}
			if m.Teams[0].Notify == nil || len(m.Teams[0].Notify.Email) != 2 {
				t.Errorf("the manifest example declares no notify: %+v", m.Teams[0])
			}
		case strings.HasPrefix(body, "notifications:"):
			configs++
			pw := filepath.Join(t.TempDir(), "smtp-password")
			os.WriteFile(pw, []byte("x\n"), 0o600)
			src := strings.ReplaceAll(body, "/etc/botgate/smtp-password", pw)
			f, err := config.Parse("docs/expiry.md", []byte(src))
			if err != nil {
				t.Errorf("the configuration example: %v", err)
				continue
			}
			s, err := f.ExpiryNotices(func(string) string { return "" })
			if err != nil || s.SMTP == nil || !s.SMTP.RequireTLS || s.SMTP.Password != "x" {
				t.Errorf("the configuration example reads as %+v, %v", s, err)
			}
		}
	}
	if manifests != 1 || configs != 1 || jsons != 1 {
		t.Errorf("docs/expiry.md has %d manifests, %d configurations and %d webhook examples; want one each", manifests, configs, jsons)
	}
}
