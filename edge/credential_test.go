package edge

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

const tok = "glpat-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.01.0w1b2c3d4"

func TestCredential(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	cases := []struct {
		name    string
		h       http.Header
		query   string
		query0  bool // query tokens allowed
		want    string
		wantErr string // substring of the refusal (ReasonTokenMalformed); "" for none
	}{
		{"PrivateToken", http.Header{"Private-Token": {tok}}, "", false, tok, ""},
		{"Bearer", http.Header{"Authorization": {"Bearer " + tok}}, "", false, tok, ""},
		{"BearerAnyCase", http.Header{"Authorization": {"bearer  " + tok}}, "", false, tok, ""},
		{"BasicPassword", http.Header{"Authorization": {basic("oauth2", tok)}}, "", false, tok, ""},
		{"JobToken", http.Header{"Job-Token": {tok}}, "", false, tok, ""},
		{"SameTokenTwice", http.Header{"Private-Token": {tok}, "Authorization": {"Bearer " + tok}}, "", false, tok, ""},
		{"QueryAllowed", nil, "private_token=" + url.QueryEscape(tok), true, tok, ""},
		{"QueryBracketsAllowed", nil, "private_token[]=" + url.QueryEscape(tok), true, tok, ""},
		{"TwoDifferent", http.Header{"Private-Token": {tok}, "Job-Token": {tok + "x"}}, "", false, "", "several different tokens"},
		{"TwoDifferentHeaderAndQuery", http.Header{"Private-Token": {tok}}, "access_token=other", true, "", "several different tokens"},
		{"TwoPrivateTokenValues", http.Header{"Private-Token": {tok, "other"}}, "", false, "", "several different tokens"},
		{"QueryRefused", nil, "private_token=" + tok, false, "", "tokens in the URL are refused"},
		{"QueryBracketsRefused", nil, "private_token[]=" + tok, false, "", "tokens in the URL are refused"},
		{"QueryEscapedNameRefused", nil, "private%5Ftoken=" + tok, false, "", "tokens in the URL are refused"},
		{"QueryUpperCaseRefused", nil, "ACCESS_TOKEN=" + tok, false, "", "tokens in the URL are refused"},
		{"QuerySemicolonRefused", nil, "a=1;job_token=" + tok, false, "", "tokens in the URL are refused"},
		{"Overlong", http.Header{"Private-Token": {strings.Repeat("a", 600)}}, "", false, "", "longer than"},
		{"UnknownScheme", http.Header{"Authorization": {"Token " + tok}}, "", false, "", "Bearer"},
		{"BasicWithoutColon", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(tok))}}, "", false, "", "Basic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Credential(tc.h, tc.query, CredentialOptions{AllowQuery: tc.query0})
			if tc.wantErr != "" {
				if !botgate.IsKind(err, botgate.KindUnauthenticated) || botgate.ReasonOf(err) != botgate.ReasonTokenMalformed ||
					!strings.Contains(botgate.MessageOf(err), tc.wantErr) {
					t.Fatalf("Credential = %q, %v; want unauthenticated, %s, saying %q", got, err, botgate.ReasonTokenMalformed, tc.wantErr)
				}
				if m := botgate.MessageOf(err); strings.HasPrefix(m, "401") {
					t.Fatalf("the refusal %q carries an HTTP status; the HTTP edge renders it", m)
				}
				if strings.Contains(err.Error(), tok) {
					t.Fatalf("the refusal %q shows the token", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Credential = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, q := range []string{"", "a=1"} {
		if _, err := Credential(nil, q, CredentialOptions{}); !errors.Is(err, ErrNoCredential) {
			t.Fatalf("no credential (query %q): %v, want ErrNoCredential", q, err)
		}
	}
	if !botgate.IsKind(ErrNoCredential, botgate.KindUnauthenticated) || botgate.MessageOf(ErrNoCredential) != "" {
		t.Fatalf("ErrNoCredential = %v, want unauthenticated with no message of its own", ErrNoCredential)
	}
}

func TestQueryTokens(t *testing.T) {
	cases := []struct {
		name, raw, stripped string
		has                 bool
	}{
		{"None", "a=1&b=2", "a=1&b=2", false},
		{"Empty", "", "", false},
		{"Private", "a=1&private_token=x&b=2", "a=1&b=2", true},
		{"Access", "access_token=x", "", true},
		{"Job", "job_token=x&b=2", "b=2", true},
		{"Escaped", "private%5Ftoken=x&b=2", "b=2", true},
		{"UpperCase", "PRIVATE_TOKEN=x", "", true},
		{"Brackets", "private_token[]=x&b=2", "b=2", true},
		{"EscapedBrackets", "private_token%5B%5D=x&b=2", "b=2", true},
		{"IndexedBrackets", "access_token[0]=x", "", true},
		{"NoValue", "private_token", "", true},
		{"Lookalike", "my_private_token=x&tokens=2", "my_private_token=x&tokens=2", false},
		{"Semicolon", "a=1;access_token=x", "a=1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasQueryToken(tc.raw); got != tc.has {
				t.Errorf("HasQueryToken = %v, want %v", got, tc.has)
			}
			if got := StripQueryTokens(tc.raw); got != tc.stripped {
				t.Errorf("StripQueryTokens = %q, want %q", got, tc.stripped)
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	cases := []struct{ name, raw, want string }{
		{"Plain", "a=1&b=2", "a=1&b=2"},
		{"Private", "private_token=" + tok + "&page=2", "private_token=[REDACTED]&page=2"},
		{"Brackets", "private_token[]=" + tok, "private_token[]=[REDACTED]"},
		{"EscapedName", "private%5ftoken=" + tok, "private%5ftoken=[REDACTED]"},
		{"AdminLookup", "token=" + tok, "token=[REDACTED]"},
		{"TokenInOtherParam", "search=" + url.QueryEscape(tok), "search=[REDACTED]"},
		{"UpperCaseTokenInOtherParam", "q=" + strings.ToUpper(tok), "q=[REDACTED]"},
		{"EscapedTokenInOtherParam", "q=%67lpat-abc", "q=[REDACTED]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactQuery(tc.raw); got != tc.want {
				t.Fatalf("RedactQuery(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzCredential checks the credential extractor on any header values and
// query: it never panics; a token it returns was presented (trimmed) in
// one of the places it reads; a refusal is KindUnauthenticated and never
// shows a presented value; with query tokens refused, a query token never
// comes back; and a query carrying a token parameter never survives
// StripQueryTokens or RedactQuery with its value.
func FuzzCredential(f *testing.F) {
	f.Add(tok, "", "", "", false)
	f.Add("", "Bearer "+tok, "", "private_token="+tok, true)
	f.Add("", "Basic b2F1dGgyOnNlY3JldA==", "", "", false)
	f.Add("a", "", "b", "", false)
	f.Add("", "", "", "private_token[]=x;access_token=y", true)
	f.Fuzz(func(t *testing.T, private, authz, job, query string, allowQuery bool) {
		h := http.Header{}
		if private != "" {
			h["Private-Token"] = []string{private}
		}
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		if job != "" {
			h["Job-Token"] = []string{job}
		}
		got, err := Credential(h, query, CredentialOptions{AllowQuery: allowQuery})
		if err != nil {
			if !botgate.IsKind(err, botgate.KindUnauthenticated) {
				t.Fatalf("refusal of kind %v: %v", botgate.KindOf(err), err)
			}
			for _, v := range []string{private, authz, job} {
				if len(strings.TrimSpace(v)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(v)) {
					t.Fatalf("the refusal %q shows a presented value", err)
				}
			}
		} else {
			presented := strings.TrimSpace(private) == got || strings.TrimSpace(job) == got ||
				strings.Contains(authz, got) || strings.Contains(decodeBasic(authz), got)
			if allowQuery {
				for v := range queryTokens(query) {
					presented = presented || strings.TrimSpace(v) == got
				}
			}
			if got == "" || !presented {
				t.Fatalf("Credential returned %q, which was not presented", got)
			}
		}
		stripped := StripQueryTokens(query)
		if HasQueryToken(stripped) {
			t.Fatalf("StripQueryTokens(%q) = %q still has a token parameter", query, stripped)
		}
		// Redaction keeps parameter names as they were and replaces
		// values, so the values it leaves are where a token could show:
		// a token that happens to spell part of a name ("s_token=" in
		// "access_token=") is not shown.
		redacted := RedactQuery(query)
		var values strings.Builder
		for rest := redacted; rest != ""; {
			var p string
			p, rest = cutParam(rest)
			if _, v, ok := strings.Cut(p, "="); ok {
				values.WriteString(v)
				values.WriteByte('&')
			}
		}
		for v := range queryTokens(query) {
			if len(v) >= 8 && strings.Contains(values.String(), v) {
				t.Fatalf("RedactQuery(%q) = %q shows token %q", query, redacted, v)
			}
		}
		for v := range queryTokens(redacted) {
			if v != "" && v != "[REDACTED]" {
				t.Fatalf("RedactQuery(%q) = %q leaves token parameter value %q", query, redacted, v)
			}
		}
	})
}

func decodeBasic(v string) string {
	_, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
	b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	return string(b)
}

func TestMethod(t *testing.T) {
	cases := []struct {
		name, method string
		h            http.Header
		query        string
		says         string // "" for accepted
	}{
		{"Get", "GET", nil, "", ""},
		{"Custom", "PROPFIND", nil, "", ""},
		{"LowerCase", "delete", nil, "", "upper-case"},
		{"MixedCase", "Delete", nil, "", "upper-case"},
		{"Empty", "", nil, "", "not a valid"},
		{"Space", "GET X", nil, "", "not a valid"},
		{"OverrideHeader", "POST", http.Header{"X-Http-Method-Override": {"DELETE"}}, "", "override"},
		{"OverrideHeaderOther", "POST", http.Header{"X-Method-Override": {"DELETE"}}, "", "override"},
		{"OverrideQuery", "POST", nil, "a=1&_method=DELETE", "_method"},
		{"OverrideQueryEscaped", "POST", nil, "%5Fmethod=DELETE", "_method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Method(tc.method, tc.h, tc.query)
			if tc.says == "" {
				if err != nil {
					t.Fatalf("Method(%q): %v", tc.method, err)
				}
				return
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || !strings.Contains(botgate.MessageOf(err), tc.says) {
				t.Fatalf("Method(%q) = %v, want a refusal saying %q", tc.method, err, tc.says)
			}
		})
	}
	if !FormMethodOverride("application/x-www-form-urlencoded; charset=utf-8", []byte("a=1&_method=delete")) ||
		FormMethodOverride("application/json", []byte(`{"_method":"DELETE"}`)) {
		t.Fatal("FormMethodOverride must find _method in a form body, and only there")
	}
}
