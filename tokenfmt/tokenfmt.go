// Package tokenfmt generates, parses and digests botgate tokens.
//
// Tokens use GitLab's routable token layout (version 01), so secret scanners
// that know GitLab's personal access tokens (gitleaks, trufflehog, GitLab's
// own secret detection) recognise a leaked botgate token:
//
//	prefix + base64url(16+ random bytes ‖ routing payload ‖ payload length)
//	       + "." + "01" + "." + base36(len(base64 part), 2 chars)
//	       + base36(CRC32(everything before), 7 chars)
//
// The checksum lets botgate reject a look-alike before any database work.
// Only an HMAC-SHA256 digest of a token, keyed by a server-side pepper, is
// ever stored.
package tokenfmt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"sync"
)

// DefaultPrefix is GitLab's personal access token prefix.
const DefaultPrefix = "glpat-"

const (
	randomBytes = 16
	version     = "01"
	crcLen      = 7
	lenLen      = 2
	// maxPayload is GitLab's limit on the routing payload.
	maxPayload = 159
	// tailLen is "." + version + "." + length + crc.
	tailLen = 1 + len(version) + 1 + lenLen + crcLen
	// maxLen is the longest token Check accepts, prefix included.
	maxLen = 512
)

// ErrMalformed is returned (wrapped) for a string that is not a well-formed
// token: wrong prefix, bad encoding, bad length or bad checksum.
var ErrMalformed = errors.New("malformed token")

// Routing is the routing payload carried inside a token. Values are
// informational; botgate never trusts them for authorization.
type Routing struct {
	Org  int64 // GitLab's "o" key (required by the layout)
	User int64 // "u"
}

func (r Routing) encode() string {
	org := r.Org
	if org == 0 {
		org = 1
	}
	s := "o:" + strconv.FormatInt(org, 36)
	if r.User != 0 {
		s += "\nu:" + strconv.FormatInt(r.User, 36)
	}
	return s
}

// Generate returns a new token with the prefix, reading randomness from rand.
func Generate(rand io.Reader, prefix string, r Routing) (string, error) {
	payload := r.encode()
	if len(payload) > maxPayload {
		return "", fmt.Errorf("tokenfmt: routing payload too large (%d bytes)", len(payload))
	}
	raw := make([]byte, randomBytes, randomBytes+len(payload)+1)
	if _, err := io.ReadFull(rand, raw); err != nil {
		return "", fmt.Errorf("tokenfmt: reading randomness: %w", err)
	}
	raw = append(raw, payload...)
	raw = append(raw, byte(len(payload)))
	body := base64.RawURLEncoding.EncodeToString(raw)
	if len(body) >= 36*36 || len(prefix)+len(body)+tailLen > maxLen {
		// Check refuses a token this long: never issue one.
		return "", fmt.Errorf("tokenfmt: token too long (prefix of %d bytes)", len(prefix))
	}
	var b strings.Builder
	b.Grow(len(prefix) + len(body) + tailLen)
	b.WriteString(prefix)
	b.WriteString(body)
	b.WriteString(".")
	b.WriteString(version)
	b.WriteString(".")
	b.WriteString(pad36(uint64(len(body)), lenLen))
	s := b.String()
	return s + pad36(uint64(crc32.ChecksumIEEE([]byte(s))), crcLen), nil
}

// Parsed is what Parse learns from a well-formed token.
type Parsed struct {
	Prefix  string
	Routing Routing
}

// Check verifies the token's layout and checksum for the given prefix
// without decoding the payload. The authentication hot path, which needs
// the digest too, calls Digester.CheckDigest instead.
func Check(token, prefix string) error {
	want, err := checkLayout(token, prefix)
	if err != nil {
		return err
	}
	return checkSum([]byte(token[:len(token)-crcLen]), want)
}

// checkLayout verifies everything but the checksum and returns the
// checksum the token carries.
func checkLayout(token, prefix string) (uint64, error) {
	if !strings.HasPrefix(token, prefix) {
		return 0, fmt.Errorf("%w: does not start with %q", ErrMalformed, prefix)
	}
	rest := token[len(prefix):]
	if len(rest) <= tailLen || len(token) > maxLen {
		return 0, fmt.Errorf("%w: wrong length", ErrMalformed)
	}
	body := rest[:len(rest)-tailLen]
	tail := rest[len(rest)-tailLen:]
	if tail[0] != '.' || tail[1:3] != version || tail[3] != '.' {
		return 0, fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	// strconv reads base 36 in either case; Generate writes lower case,
	// and a token has one spelling (one digest).
	if !lowerBase36(tail[4:]) {
		return 0, fmt.Errorf("%w: length or checksum field is not lower-case base 36", ErrMalformed)
	}
	n, err := strconv.ParseUint(tail[4:4+lenLen], 36, 32)
	if err != nil || int(n) != len(body) {
		return 0, fmt.Errorf("%w: length field does not match", ErrMalformed)
	}
	want, err := strconv.ParseUint(tail[4+lenLen:], 36, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad checksum field", ErrMalformed)
	}
	return want, nil
}

// lowerBase36 reports whether s is digits and lower-case letters only.
func lowerBase36(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// checkSum compares the CRC32 of signed, the token without its checksum
// field, with want.
func checkSum(signed []byte, want uint64) error {
	if uint64(crc32.ChecksumIEEE(signed)) != want {
		return fmt.Errorf("%w: checksum mismatch", ErrMalformed)
	}
	return nil
}

// Parse verifies the token like Check and decodes its routing payload. It
// accepts only the spelling Generate writes: canonical base64 (no stray
// bits in the last digit) and the routing payload exactly as Generate
// encodes the routing it carries, so a parsed token re-formats to itself.
func Parse(token, prefix string) (Parsed, error) {
	if err := Check(token, prefix); err != nil {
		return Parsed{}, err
	}
	body := token[len(prefix) : len(token)-tailLen]
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) < randomBytes+1 {
		return Parsed{}, fmt.Errorf("%w: bad encoding", ErrMalformed)
	}
	n := int(raw[len(raw)-1])
	if n != len(raw)-randomBytes-1 {
		return Parsed{}, fmt.Errorf("%w: payload length does not match", ErrMalformed)
	}
	p := Parsed{Prefix: prefix}
	payload := string(raw[randomBytes : len(raw)-1])
	for _, kv := range strings.Split(payload, "\n") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(v, 36, 64)
		if err != nil {
			continue
		}
		switch k {
		case "o":
			p.Routing.Org = id
		case "u":
			p.Routing.User = id
		}
	}
	if p.Routing.encode() != payload {
		return Parsed{}, fmt.Errorf("%w: routing payload is not in canonical form", ErrMalformed)
	}
	return p, nil
}

// LooksLike reports whether s is a well-formed token with the given
// prefix, for scanners: it is Check as a predicate, and since the checksum
// is verified a hit is a real token of this layout.
func LooksLike(s, prefix string) bool { return Check(s, prefix) == nil }

func pad36(v uint64, width int) string {
	s := strconv.FormatUint(v, 36)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// Digester computes token digests: HMAC-SHA256 under the pepper. It is safe
// for concurrent use and reuses hash state to keep the hot path cheap.
type Digester struct {
	pool sync.Pool // of *digestState
}

type digestState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// NewDigester returns a Digester for the pepper, which must be at least 32
// bytes.
func NewDigester(pepper []byte) (*Digester, error) {
	if len(pepper) < 32 {
		return nil, fmt.Errorf("tokenfmt: pepper must be at least 32 bytes, got %d", len(pepper))
	}
	key := append([]byte(nil), pepper...)
	d := &Digester{}
	d.pool.New = func() any { return &digestState{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)} }
	return d, nil
}

// Digest returns HMAC-SHA256(pepper, token).
func (d *Digester) Digest(token string) [sha256.Size]byte {
	st := d.pool.Get().(*digestState)
	st.buf = append(st.buf[:0], token...)
	out := st.digest()
	d.pool.Put(st)
	return out
}

// CheckDigest verifies the token like Check and returns its digest like
// Digest, working on one reused copy of the token: it does not allocate,
// and it is what the authentication hot path calls. A malformed token is
// rejected (ErrMalformed, wrapped) before any digest work.
func (d *Digester) CheckDigest(token, prefix string) ([sha256.Size]byte, error) {
	want, err := checkLayout(token, prefix)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	st := d.pool.Get().(*digestState)
	defer d.pool.Put(st)
	st.buf = append(st.buf[:0], token...)
	if err := checkSum(st.buf[:len(st.buf)-crcLen], want); err != nil {
		return [sha256.Size]byte{}, err
	}
	return st.digest(), nil
}

// digest returns HMAC-SHA256(pepper, st.buf).
func (st *digestState) digest() [sha256.Size]byte {
	st.h.Reset()
	st.h.Write(st.buf)
	return [sha256.Size]byte(st.h.Sum(st.sum[:0]))
}
