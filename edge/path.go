// Package edge parses the parts of an HTTP request that botgate decides
// on — the credential, the client's address and the request path — once,
// the same way for the API (/api/v4, /api/botgate/v1) and the gateway
// (forward-auth and proxy). Every decision is taken on what this package
// returns, and the gateway's proxy forwards exactly the canonical path it
// decided on, so what is checked is what the upstream receives.
package edge

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/botgate/botgate"
)

// MaxPathLen is the longest request path accepted, in bytes.
const MaxPathLen = 8 << 10

// Path is a request path in canonical form.
type Path struct {
	// Canonical is the escaped canonical path: it starts with "/", has no
	// empty, "." or ".." segment, escapes exactly the bytes that are not
	// RFC 3986 unreserved characters or sub-delimiters (with upper-case
	// hex), and is what the gateway forwards.
	Canonical string
	// Segs are Canonical's segments, without the leading slash ("/" has
	// none).
	Segs []string
}

// encodedSlashWords are the route words after which GitLab's API takes a
// parameter that may hold an encoded slash: a URL-encoded project, group or
// namespace path, a file path, a branch, tag or wiki page name, a vault
// secret's owning group.
var encodedSlashWords = []string{
	"projects", "groups", "namespaces", "files", "branches", "tags",
	"protected_branches", "protected_tags", "commits", "wikis", "secrets",
}

// Word reports whether the path segment seg is the route word w. Route
// words compare without regard to ASCII case (one case rule for every
// decision), so that a decision about /api/v4/projects also covers
// /API/V4/Projects, whichever way the upstream reads it.
func Word(seg, w string) bool { return strings.EqualFold(seg, w) }

// CanonicalPath checks an escaped request path and returns its canonical
// form. Escapes of unreserved characters are decoded (%70rojects is
// projects), other escapes are upper-cased, characters a path may not hold
// are escaped, and repeated or trailing slashes are dropped. It refuses,
// with KindInvalid and the reason: a path that is not absolute or is too
// long; a broken escape; a NUL, control character or backslash, raw or
// escaped; a raw ';' (path parameters, which some servers strip); a "." or
// ".." segment, raw or escaped; a double-encoded escape (%25 followed by
// two hex digits); and an encoded slash (%2F) anywhere but in a parameter
// after one of GitLab's path-taking words (projects/:id, files/:path, …).
func CanonicalPath(escaped string) (Path, error) {
	if !strings.HasPrefix(escaped, "/") {
		return Path{}, pathErr("the request path must start with /")
	}
	if len(escaped) > MaxPathLen {
		return Path{}, pathErr("the request path is longer than %d bytes", MaxPathLen)
	}
	if isCanonical(escaped) {
		p := Path{Canonical: escaped, Segs: split(escaped)}
		if err := checkUTF8(p); err != nil {
			return Path{}, err
		}
		return p, nil
	}
	var b strings.Builder
	b.Grow(len(escaped))
	var segs []string
	rest := escaped[1:]
	for {
		raw, more, found := strings.Cut(rest, "/")
		seg, err := canonicalSegment(raw)
		if err != nil {
			return Path{}, err
		}
		if seg != "" {
			if seg == "." || seg == ".." {
				return Path{}, pathErr("path traversal (a %q segment) is not allowed", seg)
			}
			b.WriteByte('/')
			b.WriteString(seg)
			segs = append(segs, seg)
		}
		if !found {
			break
		}
		rest = more
	}
	if len(segs) == 0 {
		return Path{Canonical: "/"}, nil
	}
	canon := b.String()
	if len(canon) > MaxPathLen {
		return Path{}, pathErr("the request path is longer than %d bytes once escaped", MaxPathLen)
	}
	// Segments were appended as substrings of the builder's copies; cut
	// them again from the final string so that they share its memory.
	segs = split(canon)
	if err := checkEncodedSlashes(segs); err != nil {
		return Path{}, err
	}
	p := Path{Canonical: canon, Segs: segs}
	if err := checkUTF8(p); err != nil {
		return Path{}, err
	}
	return p, nil
}

// checkUTF8 refuses a path whose escapes decode to bytes that are not
// UTF-8: an overlong form such as %C0%AE is a dot to some decoders.
func checkUTF8(p Path) error {
	if !strings.Contains(p.Canonical, "%") {
		return nil
	}
	for _, s := range p.Segs {
		if !strings.Contains(s, "%") {
			continue
		}
		d, err := url.PathUnescape(s)
		if err != nil || !utf8.ValidString(d) {
			return pathErr("the request path's escapes do not decode to UTF-8")
		}
	}
	return nil
}

// split cuts a canonical path into its segments.
func split(canon string) []string {
	if canon == "/" {
		return nil
	}
	return strings.Split(canon[1:], "/")
}

// isCanonical reports whether escaped is already canonical, the common
// case, so that it costs one scan and no copy.
func isCanonical(escaped string) bool {
	if escaped == "/" {
		return true
	}
	segStart := 1
	hasSlashEscape := false
	for i := 1; i <= len(escaped); i++ {
		if i == len(escaped) || escaped[i] == '/' {
			seg := escaped[segStart:i]
			if seg == "" || seg == "." || seg == ".." {
				return false
			}
			segStart = i + 1
			continue
		}
		c := escaped[i]
		if c == '%' {
			if i+2 >= len(escaped) {
				return false
			}
			h, l := escaped[i+1], escaped[i+2]
			if !isUpperHex(h) || !isUpperHex(l) {
				return false
			}
			d := unhex(h)<<4 | unhex(l)
			if unreserved(d) || d < 0x20 || d == 0x7f || d == '\\' || d == '%' {
				return false
			}
			if d == '/' {
				hasSlashEscape = true
			}
			i += 2
			continue
		}
		if !pathChar(c) {
			return false
		}
	}
	return !hasSlashEscape
}

// canonicalSegment returns one segment's canonical form.
func canonicalSegment(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", pathErr("the request path is not validly escaped")
			}
			d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			switch {
			case d == 0 || d < 0x20 || d == 0x7f:
				return "", pathErr("the request path contains an escaped control character")
			case d == '\\':
				return "", pathErr("the request path contains an escaped backslash")
			case d == '%':
				b.WriteString("%25")
			case unreserved(d):
				b.WriteByte(d)
			default:
				writeEscape(&b, d)
			}
		case c < 0x20 || c == 0x7f:
			return "", pathErr("the request path contains a control character")
		case c == '\\':
			return "", pathErr("the request path contains a backslash")
		case c == ';':
			return "", pathErr("the request path contains ';' (path parameters are not accepted; escape it as %%3B)")
		case pathChar(c):
			b.WriteByte(c)
		default:
			writeEscape(&b, c)
		}
	}
	seg := b.String()
	// Judged on the output, not the input: "%25" followed by two hex
	// digits is double-encoded however the digits were spelled ("%2500"
	// from "%250%30" as much as from "%2500").
	if doubleEncoded(seg) {
		return "", pathErr("the request path is double-encoded (%%25 followed by an escape)")
	}
	return seg, nil
}

// doubleEncoded reports whether a canonical segment holds an escaped
// percent sign followed by two hex digits, which a second decoder would
// read as another escape.
func doubleEncoded(seg string) bool {
	for i := strings.Index(seg, "%25"); i >= 0; {
		if j := i + 3; j+1 < len(seg) && isHex(seg[j]) && isHex(seg[j+1]) {
			return true
		}
		next := strings.Index(seg[i+3:], "%25")
		if next < 0 {
			return false
		}
		i += 3 + next
	}
	return false
}

// checkEncodedSlashes refuses an encoded slash outside a parameter that
// GitLab reads as a path, and traversal hidden behind encoded slashes.
func checkEncodedSlashes(segs []string) error {
	for i, s := range segs {
		if !strings.Contains(s, "%2F") {
			continue
		}
		allowed := false
		if i > 0 {
			for _, w := range encodedSlashWords {
				if Word(segs[i-1], w) {
					allowed = true
					break
				}
			}
		}
		if !allowed {
			return pathErr("an encoded slash (%%2F) is accepted only in a parameter that GitLab reads as a path (a project, group or namespace path, a file path, a branch or tag name), not in segment %d", i+1)
		}
		for el := range strings.SplitSeq(s, "%2F") {
			if el == "" || el == "." || el == ".." {
				return pathErr("path traversal (an empty, \".\" or \"..\" element behind %%2F) is not allowed")
			}
		}
	}
	return nil
}

func pathErr(format string, args ...any) error {
	return botgate.Invalid("path", format, args...)
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// pathChar reports whether c may stand unescaped in a canonical path
// segment: unreserved, a sub-delimiter other than ';', ':' or '@'.
func pathChar(c byte) bool {
	if unreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', '=', ':', '@':
		return true
	}
	return false
}

const upperHex = "0123456789ABCDEF"

func writeEscape(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[c>>4])
	b.WriteByte(upperHex[c&15])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
