package edge

import (
	"net/url"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

func TestCanonicalPath(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"Root", "/", "/"},
		{"AlreadyCanonical", "/api/v4/projects/42/issues", "/api/v4/projects/42/issues"},
		{"EscapedUnreservedDecoded", "/api/v4/%70rojects/42", "/api/v4/projects/42"},
		{"EscapedWordDecoded", "/api/v4/%61%64%6D%69%6E/token", "/api/v4/admin/token"},
		{"EscapedDigitsDecoded", "/api/v4/projects/%34%32", "/api/v4/projects/42"},
		{"LowerHexUpperCased", "/api/v4/projects/team%2fapp", "/api/v4/projects/team%2Fapp"},
		{"EncodedSlashInProjectPath", "/api/v4/projects/team%2Fapp/issues", "/api/v4/projects/team%2Fapp/issues"},
		{"EncodedSlashInFilePath", "/api/v4/projects/1/repository/files/lib%2Fmain.go/raw", "/api/v4/projects/1/repository/files/lib%2Fmain.go/raw"},
		{"DoubledSlashesCollapsed", "//api//v4///projects/42", "/api/v4/projects/42"},
		{"TrailingSlashDropped", "/api/v4/projects/42/", "/api/v4/projects/42"},
		{"OnlySlashes", "///", "/"},
		{"RawSpecialEscaped", "/a/b\"c<d>", "/a/b%22c%3Cd%3E"},
		{"RawNonASCIIEscaped", "/a/\xc3\xa9", "/a/%C3%A9"},
		{"SubDelimsKept", "/a/b!$&'()*+,=:@c", "/a/b!$&'()*+,=:@c"},
		{"EscapedSemicolonKept", "/a/b%3bc", "/a/b%3Bc"},
		{"EscapedQuestionKept", "/a/b%3Fc", "/a/b%3Fc"},
		{"PercentLiteral", "/a/100%25", "/a/100%25"},
		{"DotsInName", "/a/v1.2.3/file..txt", "/a/v1.2.3/file..txt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := CanonicalPath(tc.in)
			if err != nil {
				t.Fatalf("CanonicalPath(%q): %v", tc.in, err)
			}
			if p.Canonical != tc.want {
				t.Fatalf("CanonicalPath(%q) = %q, want %q", tc.in, p.Canonical, tc.want)
			}
			if got := "/" + strings.Join(p.Segs, "/"); got != p.Canonical {
				t.Fatalf("segments %q do not join to %q", p.Segs, p.Canonical)
			}
			again, err := CanonicalPath(p.Canonical)
			if err != nil || again.Canonical != p.Canonical {
				t.Fatalf("not idempotent: %q -> %q, %v", p.Canonical, again.Canonical, err)
			}
		})
	}
}

func TestCanonicalPathRefuses(t *testing.T) {
	cases := []struct{ name, in, reason string }{
		{"Relative", "api/v4", "must start with /"},
		{"Empty", "", "must start with /"},
		{"DotDot", "/a/../b", "traversal"},
		{"Dot", "/a/./b", "traversal"},
		{"TrailingDotDot", "/a/..", "traversal"},
		{"EncodedDotDot", "/a/%2e%2E/b", "traversal"},
		{"HalfEncodedDotDot", "/a/.%2e/b", "traversal"},
		{"EncodedSlashDotDot", "/api/v4/projects/x%2F..%2Fy", "traversal"},
		{"EncodedSlashEmpty", "/api/v4/projects/x%2F%2Fy", "traversal"},
		{"DoubleEncoded", "/a/%252e%252e/b", "double-encoded"},
		{"DoubleEncodedSlash", "/api/v4/projects%252F5", "double-encoded"},
		{"DoubleEncodedSpelledApart", "/a/%250%30", "double-encoded"},
		{"DoubleEncodedEscapedPercent", "/a/%25%34%31", "double-encoded"},
		{"Backslash", "/a\\b", "backslash"},
		{"EncodedBackslash", "/a/%5C..%5Cb", "backslash"},
		{"EncodedNUL", "/a/%00", "control"},
		{"RawNUL", "/a/\x00", "control"},
		{"EncodedNewline", "/a/%0d%0aX-Injected:%201", "control"},
		{"RawTab", "/a/\tb", "control"},
		{"BadEscape", "/a/%zz", "not validly escaped"},
		{"TruncatedEscape", "/a/%2", "not validly escaped"},
		{"PathParameter", "/api/v4/projects;x=1/5", "';'"},
		{"EncodedSlashInRouteWord", "/api/v4/projects%2F5/access_tokens", "encoded slash"},
		{"EncodedSlashAfterPrefix", "/api%2Fv4/projects/5", "encoded slash"},
		{"EncodedSlashFirst", "/%2Fapi/v4", "encoded slash"},
		{"TooLong", "/" + strings.Repeat("a", MaxPathLen), "longer than"},
		{"OverlongDot", "/a/%C0%AE%C0%AE/b", "UTF-8"},
		{"InvalidUTF8", "/a/%FF", "UTF-8"},
		{"RawInvalidUTF8", "/a/\xff", "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := CanonicalPath(tc.in)
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Fatalf("CanonicalPath(%q) = %q, %v; want KindInvalid", tc.in, p.Canonical, err)
			}
			if !strings.Contains(botgate.MessageOf(err), tc.reason) {
				t.Fatalf("refusal %q does not say %q", botgate.MessageOf(err), tc.reason)
			}
		})
	}
}

func TestWordIgnoresCase(t *testing.T) {
	if !Word("PROJECTS", "projects") || !Word("Projects", "projects") || Word("project", "projects") {
		t.Fatal("Word must compare route words without regard to ASCII case, and nothing else")
	}
}

// checkCanonical asserts the properties every canonical path has.
func checkCanonical(t *testing.T, in string, p Path) {
	t.Helper()
	c := p.Canonical
	if !strings.HasPrefix(c, "/") || (c != "/" && strings.HasSuffix(c, "/")) || strings.Contains(c, "//") {
		t.Fatalf("CanonicalPath(%q) = %q: not absolute, or has an empty segment", in, c)
	}
	for _, s := range p.Segs {
		if s == "" || s == "." || s == ".." {
			t.Fatalf("CanonicalPath(%q) = %q: has segment %q", in, c, s)
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			t.Fatalf("CanonicalPath(%q) = %q: segment %q does not unescape: %v", in, c, s, err)
		}
		for el := range strings.SplitSeq(d, "/") {
			if el == "." || el == ".." || strings.ContainsAny(el, "\\\x00") {
				t.Fatalf("CanonicalPath(%q) = %q: segment %q hides %q", in, c, s, el)
			}
		}
		for i := 0; i+2 < len(d); i++ {
			if d[i] == '%' && isHex(d[i+1]) && isHex(d[i+2]) {
				t.Fatalf("CanonicalPath(%q) = %q: double-encoded segment %q", in, c, s)
			}
		}
	}
	for i := 0; i < len(c); i++ {
		if c[i] == '%' {
			d := unhex(c[i+1])<<4 | unhex(c[i+2])
			if unreserved(d) || !isUpperHex(c[i+1]) || !isUpperHex(c[i+2]) {
				t.Fatalf("CanonicalPath(%q) = %q: escape %q is not canonical", in, c, c[i:i+3])
			}
			i += 2
			continue
		}
		if c[i] != '/' && !pathChar(c[i]) {
			t.Fatalf("CanonicalPath(%q) = %q: unescaped byte %q", in, c, c[i])
		}
	}
	// Escaped the way net/url escapes a path, it is unchanged: what the
	// proxy forwards is byte for byte what was decided on.
	u := &url.URL{}
	if d, err := url.PathUnescape(c); err == nil {
		u.Path, u.RawPath = d, c
	}
	if u.EscapedPath() != c {
		t.Fatalf("CanonicalPath(%q) = %q, but net/url forwards it as %q", in, c, u.EscapedPath())
	}
	again, err := CanonicalPath(c)
	if err != nil || again.Canonical != c {
		t.Fatalf("CanonicalPath is not idempotent on %q: %q, %v", c, again.Canonical, err)
	}
}

// FuzzCanonicalPath checks, for any input, that CanonicalPath either
// refuses it with KindInvalid or returns a path with every canonical
// property (no empty, dot or hidden traversal segment; canonical escapes;
// forwarded by net/url unchanged; idempotent), and that decoding the
// unreserved escapes of the input never changes the answer.
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{
		"/", "/api/v4/projects/42", "/api/v4/%70rojects/42/access_tokens", "/api/v4//projects/42/",
		"/api/v4/projects/a%2Fb", "/api/v4/projects%2F5", "/a/%2e%2e/b", "/a/%252e", "/A/B/%7e",
		"/api/v4/projects/1/repository/files/lib%2Fmain.go/raw", "/x;y", "/a\\b", "/%00", "/a/%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := CanonicalPath(in)
		if err != nil {
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Fatalf("CanonicalPath(%q): %v, want KindInvalid", in, err)
			}
			return
		}
		checkCanonical(t, in, p)
	})
}
