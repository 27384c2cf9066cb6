package scan_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/scan"
)

// TestRevoke checks that each distinct routable token is reported once,
// legacy tokens never, and that every finding gets its token's outcome.
func TestRevoke(t *testing.T) {
	tok, tok2 := newToken(t, 1, "glpat-"), newToken(t, 2, "glpat-")
	legacy := "glpat-" + "aB3dE5fG7hI9jK1lM3nO"
	text := tok + "\n" + tok2 + "\n" + tok + "\n" + legacy + "\n"
	s := newScanner(t, scan.Config{})

	res := scanString(t, s, text)
	var sent []apiwire.LeakItem
	err := res.Revoke(context.Background(), func(_ context.Context, items []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
		sent = append(sent, items...)
		out := make([]apiwire.LeakAnswer, len(items))
		for i, it := range items {
			out[i].Status = map[bool]string{true: "revoked", false: "unknown"}[it.Token == tok]
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0].Token != tok || sent[1].Token != tok2 || sent[0].URL != "-#L1" {
		t.Errorf("sent %+v, want tok (at -#L1) and tok2 once each", sent)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Revocation)
	}
	if want := "revoked|unknown to this instance|revoked|not sent (legacy format)"; strings.Join(got, "|") != want {
		t.Errorf("outcomes %q, want %q", strings.Join(got, "|"), want)
	}

	// A failed report leaves the findings "not revoked" and says why.
	res = scanString(t, s, text)
	boom := errors.New("unreachable")
	if err := res.Revoke(context.Background(), func(context.Context, []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
		return nil, boom
	}); !errors.Is(err, boom) || res.Findings[0].Revocation != "not revoked" {
		t.Errorf("Revoke = %v, first finding %q", err, res.Findings[0].Revocation)
	}
}
