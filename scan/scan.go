// Package scan finds leaked botgate and GitLab personal access tokens in
// files, directory trees, standard input and git history.
//
// A candidate is found by its prefix ("glpat-" and any configured custom
// prefixes), matched against the routable token layout by a regular
// expression, and validated with tokenfmt.Check: a look-alike whose checksum
// does not match is not a finding. GitLab's legacy 20-character "glpat-"
// tokens carry no checksum; they are reported at a lower severity as an
// unverifiable legacy format.
//
// Scanning streams: input is read in fixed-size chunks that overlap by the
// longest possible token, so memory stays bounded whatever the size of a
// file or the length of its lines. Findings never hold the secret in any
// exported or encoded form: they show a redacted form (prefix, first four,
// "…", last four) and a fingerprint (a SHA-256 prefix); the secret itself is
// reachable only through Finding.Secret, for revocation.
package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// Rule IDs of findings. They are stable: SARIF consumers and suppressions
// rely on them.
const (
	// RuleToken is a checksum-validated token in the routable layout.
	RuleToken = "BGL001"
	// RuleLegacyToken is a 20-character legacy "glpat-" token, which has
	// no checksum and cannot be verified offline.
	RuleLegacyToken = "BGL002"
)

// Format says which token layout a finding has.
type Format string

// The formats.
const (
	FormatRoutable Format = "routable"
	FormatLegacy   Format = "legacy"
)

// Severity ranks findings, with SARIF's level names.
type Severity string

// The severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one token found. It never holds the secret in an exported
// field: see Secret.
type Finding struct {
	RuleID   string   `json:"rule_id"`
	Severity Severity `json:"severity"`
	Format   Format   `json:"format"`
	// Source is "file", "stdin" or "git".
	Source string `json:"source"`
	// Path is the file (relative to the scanned root for directories, as
	// recorded for git history, "-" for standard input).
	Path string `json:"path"`
	// Line and Column are 1-based; Column counts bytes.
	Line   int `json:"line"`
	Column int `json:"column"`
	// Commit is the commit that added the line, for git history.
	Commit string `json:"commit,omitempty"`
	// Redacted is the token shown safely: prefix, first 4, "…", last 4.
	Redacted string `json:"redacted"`
	// Fingerprint is "sha256:" and the first 16 hex digits of the token's
	// SHA-256; the same token has the same fingerprint everywhere.
	Fingerprint string `json:"fingerprint"`
	// Revocation is the outcome of revoking the token, when asked.
	Revocation string `json:"revocation,omitempty"`

	secret string
}

// Secret returns the token found, for revocation. Never print it.
func (f *Finding) Secret() string { return f.secret }

// String describes the finding without its secret, so that printing or
// logging a Finding with any verb never shows the token.
func (f Finding) String() string {
	return f.where() + ": " + string(f.Severity) + " " + f.RuleID + " " + f.Redacted + " (" + f.Fingerprint + ")"
}

// GoString is String, for %#v.
func (f Finding) GoString() string { return "scan.Finding{" + f.String() + "}" }

// Message says what the finding is and what to do.
func (f *Finding) Message() string {
	if f.Format == FormatLegacy {
		return "A GitLab personal access token in the unverifiable legacy format (no checksum): it may be a live token of a GitLab instance. Revoke it there and remove it from history."
	}
	return "A checksum-valid botgate/GitLab access token: treat it as leaked. Revoke it (botgate scan --revoke, or token revoke) and remove it from history."
}

// Config configures a Scanner. The zero Config scans for "glpat-" tokens.
type Config struct {
	// Prefixes are the token prefixes to look for, besides "glpat-", for
	// instances that issue tokens with a custom prefix.
	Prefixes []string
	// MaxFileSize skips files found by walking a directory that are larger
	// (default 100 MiB; negative for no limit). Files named explicitly are
	// always scanned.
	MaxFileSize int64
	// Ignore lists patterns of paths not to scan (see Scanner.ignored).
	Ignore []string
	// ChunkSize is the read buffer size (default 256 KiB).
	ChunkSize int
}

// Scanner finds tokens. It is safe for concurrent use.
type Scanner struct {
	// anchors are the prefixes searched for; a prefix that ends with
	// another (a GitLab custom prefix "acme-glpat-" ends with "glpat-") is
	// not searched on its own but checked where its suffix is found, so
	// that adding it costs almost nothing.
	anchors []anchor
	maxFile int64
	ignore  []string
	chunk   int
}

// anchor is a searched prefix and the longer prefixes that end with it.
type anchor struct {
	prefix []byte
	longer [][]byte // longest first
}

// maxToken is the longest token tokenfmt accepts; chunks overlap by it.
const maxToken = 512

// maxPrefix is the longest prefix accepted; chunks keep this much context
// before the first anchor they search.
const maxPrefix = 64

// legacyLen is the length of a legacy token's body.
const legacyLen = 20

// routableRE matches the routable layout after the prefix: base64url body,
// ".01.", two base36 length digits and seven base36 checksum digits. It is
// compiled on first use, not at every start of the binary.
var routableRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\A[0-9A-Za-z_-]+\.01\.[0-9a-z]{9}`) })

// New returns a Scanner. Errors are KindInvalid for an unusable prefix.
func New(cfg Config) (*Scanner, error) {
	s := &Scanner{maxFile: cfg.MaxFileSize, ignore: slices.Clone(cfg.Ignore), chunk: cfg.ChunkSize}
	if s.maxFile == 0 {
		s.maxFile = 100 << 20
	}
	if s.chunk <= 0 {
		s.chunk = 256 << 10
	}
	if s.chunk < 4*maxToken {
		s.chunk = 4 * maxToken
	}
	seen := map[string]bool{}
	var prefixes []string
	for _, p := range append([]string{tokenfmt.DefaultPrefix}, cfg.Prefixes...) {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		if len(p) > maxPrefix || strings.ContainsAny(p, " \t\r\n") {
			return nil, botgate.Invalid("prefix", "prefix %q is not a token prefix", p)
		}
		seen[p] = true
		prefixes = append(prefixes, p)
	}
	// Shortest first: a prefix's shortest suffix among the others is
	// itself an anchor.
	slices.SortStableFunc(prefixes, func(a, b string) int { return len(a) - len(b) })
	for _, p := range prefixes {
		i := slices.IndexFunc(s.anchors, func(a anchor) bool { return strings.HasSuffix(p, string(a.prefix)) })
		if i < 0 {
			s.anchors = append(s.anchors, anchor{prefix: []byte(p)})
			continue
		}
		s.anchors[i].longer = slices.Insert(s.anchors[i].longer, 0, []byte(p))
	}
	return s, nil
}

// isTokenByte reports whether c can be part of a token body.
func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// hit is a token found at buf[start:end], its prefix plen bytes long.
type hit struct {
	start, end, plen int
	format           Format
}

// find appends to hits the tokens in buf whose anchor prefix starts in
// [from, to). buf must hold at least maxToken bytes after to, unless final
// says buf ends where the data ends (so its end is a boundary), and up to
// maxPrefix bytes of context before from.
func (s *Scanner) find(buf []byte, from, to int, final bool, hits []hit) []hit {
	for ai := range s.anchors {
		a := &s.anchors[ai]
		q := a.prefix
		for i := from; i < to; {
			j := bytes.Index(buf[i:], q)
			if j < 0 || i+j >= to {
				break
			}
			at := i + j
			i = at + 1
			if h, ok := s.routableAt(buf, at, q, a.longer); ok {
				hits = append(hits, h)
				i = h.end
				continue
			}
			if string(q) == tokenfmt.DefaultPrefix && isLegacy(buf, at, len(q), final) {
				end := at + len(q) + legacyLen
				hits = append(hits, hit{at, end, len(q), FormatLegacy})
				i = end
			}
		}
	}
	if len(s.anchors) > 1 {
		slices.SortFunc(hits, func(a, b hit) int { return a.start - b.start })
	}
	return hits
}

// routableAt matches a checksum-valid routable token whose prefix is q,
// found at buf[at], or one of the longer prefixes ending there.
func (s *Scanner) routableAt(buf []byte, at int, q []byte, longer [][]byte) (hit, bool) {
	rest := buf[at+len(q):]
	if len(rest) > maxToken {
		rest = rest[:maxToken]
	}
	m := routableRE().Find(rest)
	if m == nil {
		return hit{}, false
	}
	end := at + len(q) + len(m)
	for _, p := range longer {
		start := at - (len(p) - len(q))
		if start >= 0 && bytes.Equal(buf[start:at], p[:len(p)-len(q)]) &&
			tokenfmt.Check(string(buf[start:end]), string(p)) == nil {
			return hit{start, end, len(p), FormatRoutable}, true
		}
	}
	if tokenfmt.Check(string(buf[at:end]), string(q)) == nil {
		return hit{at, end, len(q), FormatRoutable}, true
	}
	return hit{}, false
}

// isLegacy reports whether a legacy token (prefix and exactly 20 body
// bytes, bounded on both sides) starts at buf[at].
func isLegacy(buf []byte, at, plen int, final bool) bool {
	if at > 0 && isTokenByte(buf[at-1]) {
		return false
	}
	body := at + plen
	end := body + legacyLen
	if end > len(buf) {
		return false
	}
	for _, c := range buf[body:end] {
		if !isTokenByte(c) {
			return false
		}
	}
	if end == len(buf) {
		return final
	}
	return !isTokenByte(buf[end]) && buf[end] != '.'
}

// Redact shows a token safely: its prefix, the first and last four bytes
// of the rest, and "…" between them.
func Redact(token, prefix string) string {
	rest := strings.TrimPrefix(token, prefix)
	if len(rest) <= 8 {
		return prefix + "…"
	}
	return prefix + rest[:4] + "…" + rest[len(rest)-4:]
}

// Fingerprint is "sha256:" and the first 16 hex digits of the token's
// SHA-256 digest.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// finding builds a Finding for buf[h.start:h.end].
func (s *Scanner) finding(buf []byte, h hit) Finding {
	tok := string(buf[h.start:h.end])
	f := Finding{RuleID: RuleToken, Severity: SeverityError, Format: h.format,
		Redacted: Redact(tok, tok[:h.plen]), Fingerprint: Fingerprint(tok), secret: tok}
	if h.format == FormatLegacy {
		f.RuleID, f.Severity = RuleLegacyToken, SeverityWarning
	}
	return f
}

// Emit receives findings as they are found.
type Emit func(Finding)

// Reader scans r as one stream named path, from source ("file" or
// "stdin"), in chunks: memory stays bounded by the chunk size. It returns
// the number of bytes read.
func (s *Scanner) Reader(ctx context.Context, r io.Reader, source, path string, emit Emit) (int64, error) {
	return s.stream(ctx, r, s.newBuffer(), func(f Finding) {
		f.Source, f.Path = source, path
		emit(f)
	})
}

// newBuffer returns a chunk buffer for stream.
func (s *Scanner) newBuffer() []byte { return make([]byte, s.chunk+maxToken+maxPrefix) }

// stream scans r through buf, emitting findings with their line and
// column counted from the start of r.
func (s *Scanner) stream(ctx context.Context, r io.Reader, buf []byte, emit Emit) (int64, error) {
	var (
		n     int   // bytes held in buf
		keep  int   // bytes at the front carried from the previous chunk
		line  = 1   // line number of buf[0]
		col0  = 0   // column (0-based) of buf[0]
		total int64 // bytes read
		hits  []hit
	)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		m, err := io.ReadFull(r, buf[n:])
		n += m
		total += int64(m)
		final := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !final {
			return total, botgate.E("scan.Reader", botgate.KindInvalid, err)
		}
		data := buf[:n]
		// Tokens starting before safe are whole inside data.
		safe := n
		if !final {
			safe = n - maxToken
		}
		from := 0
		if keep > 0 {
			from = maxPrefix // context only: its anchors were searched
		}
		hits = s.find(data, from, safe, final, hits[:0])
		ln, lastNL, counted := line, -1, 0
		for _, h := range hits {
			c := bytes.Count(data[counted:h.start], []byte{'\n'})
			if c > 0 {
				lastNL = counted + bytes.LastIndexByte(data[counted:h.start], '\n')
			}
			ln += c
			counted = h.start
			f := s.finding(data, h)
			f.Line = ln
			if lastNL >= 0 {
				f.Column = h.start - lastNL
			} else {
				f.Column = col0 + h.start + 1
			}
			emit(f)
		}
		if final {
			return total, nil
		}
		// Carry the unsafe tail, after maxPrefix bytes of context, to the
		// front.
		cut := safe - maxPrefix
		if c := bytes.Count(data[:cut], []byte{'\n'}); c > 0 {
			line += c
			col0 = cut - 1 - bytes.LastIndexByte(data[:cut], '\n')
		} else {
			col0 += cut
		}
		n = copy(buf, data[cut:])
		keep = n
	}
}
