package identity

import (
	"strings"
	"testing"
)

// FuzzPeek feeds arbitrary subject tokens to the unverified first look and
// the request check: they never panic, an accepted token always names an
// issuer, and no refusal repeats the token (refusals are shown and logged).
func FuzzPeek(f *testing.F) {
	for _, s := range []string{
		"", "a.b.c", "glpat-0123456789abcdefghij",
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2dpdGxhYi5leGFtcGxlLmNvbSJ9.",
		"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOjF9.c2ln",
		"eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIn0.eyJpc3MiOiJodHRwczovL3guZXhhbXBsZSJ9.AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		req := Request{GrantType: GrantTypeTokenExchange, SubjectToken: token, SubjectTokenType: TokenTypeJWT, Audience: "triage"}
		_, err := checkRequest(req)
		if err == nil {
			var alg, iss string
			alg, iss, err = peek(token)
			if err == nil {
				if iss == "" {
					t.Fatal("peek accepted a token without an issuer")
				}
				if e := checkAlg(alg); e != nil {
					err = e
				}
			}
		}
		if e, ok := err.(*Error); ok && len(token) >= 8 && strings.Contains(e.Description, token) {
			t.Fatalf("the refusal repeats the token: %q", e.Description)
		}
	})
}
