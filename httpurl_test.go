package botgate_test

import (
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

func TestParseHTTPURL(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		problem string // "" if valid
	}{
		{"https", "https://gitlab.example.com", ""},
		{"http with port and path", "http://127.0.0.1:8080/api/v4", ""},
		{"upper-case scheme", "HTTPS://gitlab.example.com", ""},
		{"IPv6 host", "http://[::1]:8080", ""},
		{"query kept", "https://hooks.example.com/x?channel=ops", ""},
		{"no scheme", "gitlab.example.com", "its scheme is not http or https"},
		{"other scheme", "ftp://gitlab.example.com", "its scheme is not http or https"},
		{"scheme-relative", "//gitlab.example.com", "its scheme is not http or https"},
		{"no host", "https:///path", "it has no host"},
		{"port without host", "https://:443", "it has no host"},
		{"opaque", "https:gitlab.example.com", "it has no host"},
		{"empty", "", "its scheme is not http or https"},
		{"user and token", "https://bot:glpat-SECRET@gitlab.example.com", "it carries credentials (user:password@)"},
		{"token as user", "https://glpat-SECRET@gitlab.example.com", "it carries credentials (user:password@)"},
		{"empty user", "https://@gitlab.example.com", "it carries credentials (user:password@)"},
		{"credentials without scheme", "bot:glpat-SECRET@gitlab.example.com", "its scheme is not http or https"},
		{"not a URL, with a token", "https://bot:glpat-SECRET@gitlab.example.com:port", "it is not a URL"},
		{"control character", "https://gitlab.example.com/\x7fglpat-SECRET", "it is not a URL"},
		{"token in the path, no scheme", "hooks.example.com/glpat-SECRET", "its scheme is not http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := botgate.ParseHTTPURL("upstream", tt.raw)
			if tt.problem == "" {
				if err != nil || u == nil {
					t.Fatalf("ParseHTTPURL(%q) = %v, %v; want the URL", tt.raw, u, err)
				}
				return
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || botgate.FieldOf(err) != "upstream" {
				t.Fatalf("ParseHTTPURL(%q) = %v (kind %v, field %q); want invalid upstream", tt.raw, err, botgate.KindOf(err), botgate.FieldOf(err))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "upstream must be an absolute http(s) URL without credentials") || !strings.HasSuffix(msg, tt.problem) {
				t.Fatalf("message %q, want the rule and %q", msg, tt.problem)
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "glpat") {
				t.Fatalf("message echoes the input: %q", msg)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/…"},
		{"https://chat.example.com/hook?token=abc", "https://chat.example.com/…"},
		{"https://chat.example.com", "https://chat.example.com"},
		{"https://user:pw@chat.example.com", "https://chat.example.com/…"},
		{"::not a url", "(hidden)"},
	} {
		if got := botgate.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(botgate.RedactURL(tc.in), "SECRET") || strings.Contains(botgate.RedactURL(tc.in), "abc") {
			t.Errorf("RedactURL(%q) leaks the secret", tc.in)
		}
	}
}
