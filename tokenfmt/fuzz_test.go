package tokenfmt

import (
	"bytes"
	"encoding/base64"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
)

// fuzzPrefixes are the prefixes the fuzz targets parse with, chosen by a
// fuzzed byte: GitLab's, a GitLab custom prefix and a short one.
var fuzzPrefixes = []string{DefaultPrefix, "acme-glpat-", "bg_"}

// stream is deterministic randomness for Generate, from a fuzzed seed.
func stream(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// sign frames body (the base64 part, not checked) with the prefix, version
// and length and appends the checksum, so that the fuzz seeds can carry
// strings that pass the checksum but are not what Generate writes.
func sign(prefix, body string) string {
	s := prefix + body + "." + version + "." + pad36(uint64(len(body)), lenLen)
	return s + pad36(uint64(crc32.ChecksumIEEE([]byte(s))), crcLen)
}

// reformat writes the token Parse's result describes: the same prefix,
// random bytes and routing, through Generate.
func reformat(t *testing.T, s, prefix string, p Parsed) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(s[len(prefix) : len(s)-tailLen])
	if err != nil || len(raw) < randomBytes {
		t.Fatalf("Parse accepted %q, whose body does not decode: %v", s, err)
	}
	again, err := Generate(bytes.NewReader(raw[:randomBytes]), prefix, p.Routing)
	if err != nil {
		t.Fatalf("Parse accepted %q, whose routing %+v Generate refuses: %v", s, p.Routing, err)
	}
	return again
}

// FuzzParse: whatever Parse accepts re-formats to itself (one string per
// token, so a token has one digest), Check and CheckDigest agree, and
// Parse accepts only what Check accepts.
func FuzzParse(f *testing.F) {
	for i, r := range []Routing{{}, {User: 7}, {Org: 9, User: 123456}, {Org: -1, User: -1 << 63}} {
		tok, err := Generate(stream(uint64(i)), DefaultPrefix, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok, uint8(0))
		// The checksum field in capitals: the same number in base 36.
		f.Add(tok[:len(tok)-crcLen]+strings.ToUpper(tok[len(tok)-crcLen:]), uint8(0))
	}
	random := bytes.Repeat([]byte{7}, randomBytes)
	for _, payload := range []string{"o:1\nu:7", "o:01", "u:7\no:1", "o:1\nx:2", "o:1\nu:0", "o:1\no:1", ""} {
		raw := append(append(bytes.Clone(random), payload...), byte(len(payload)))
		f.Add(sign(DefaultPrefix, base64.RawURLEncoding.EncodeToString(raw)), uint8(0))
		f.Add(sign("bg_", base64.RawURLEncoding.EncodeToString(raw)), uint8(2))
	}
	// "o:1" makes a 20-byte body whose last base64 digit has two unused
	// bits; setting them decodes to the same bytes.
	body := []byte(base64.RawURLEncoding.EncodeToString(append(bytes.Clone(random), "o:1\x03"...)))
	body[len(body)-1]++
	f.Add(sign(DefaultPrefix, string(body)), uint8(0))
	f.Add("glpat-", uint8(0))
	f.Add("glpat-AAAAAAAAAAAAAAAAAAAA", uint8(0))
	d, err := NewDigester(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		prefix := fuzzPrefixes[int(which)%len(fuzzPrefixes)]
		checkErr := Check(s, prefix)
		if _, err := d.CheckDigest(s, prefix); (err == nil) != (checkErr == nil) {
			t.Fatalf("Check says %v, CheckDigest %v, for %q", checkErr, err, s)
		}
		if LooksLike(s, prefix) != (checkErr == nil) {
			t.Fatalf("LooksLike disagrees with Check (%v) for %q", checkErr, s)
		}
		p, err := Parse(s, prefix)
		if err != nil {
			return
		}
		if checkErr != nil {
			t.Fatalf("Parse accepted %q, which Check refuses: %v", s, checkErr)
		}
		if p.Prefix != prefix {
			t.Fatalf("Parse prefix = %q, want %q", p.Prefix, prefix)
		}
		if again := reformat(t, s, prefix, p); again != s {
			t.Fatalf("Parse accepted %q, which re-formats as %q", s, again)
		}
	})
}

// FuzzGenerate: every token Generate returns passes Check, parses back to
// its prefix and routing, and re-formats to itself.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(0), int64(0), int64(0), DefaultPrefix)
	f.Add(uint64(1), int64(1), int64(7), "acme-glpat-")
	f.Add(uint64(2), int64(-1<<63), int64(1<<63-1), "bg_")
	f.Add(uint64(3), int64(5), int64(0), "")
	f.Add(uint64(4), int64(5), int64(6), strings.Repeat("p", 480))
	f.Fuzz(func(t *testing.T, seed uint64, org, user int64, prefix string) {
		r := Routing{Org: org, User: user}
		tok, err := Generate(stream(seed), prefix, r)
		if err != nil {
			return
		}
		if err := Check(tok, prefix); err != nil {
			t.Fatalf("Check refuses a generated token: %v", err)
		}
		p, err := Parse(tok, prefix)
		if err != nil {
			t.Fatalf("Parse refuses a generated token: %v", err)
		}
		want := r
		if want.Org == 0 {
			want.Org = 1
		}
		if p.Prefix != prefix || p.Routing != want {
			t.Fatalf("Parse = %+v, want prefix %q routing %+v", p, prefix, want)
		}
		if again := reformat(t, tok, prefix, p); again != tok {
			t.Fatalf("generated %q re-formats as %q", tok, again)
		}
	})
}

// FuzzMutate: replacing any part of a generated token after its prefix
// with other bytes yields a string the checksum refuses, or one that
// parses to the same routing and re-formats to itself.
func FuzzMutate(f *testing.F) {
	f.Add(uint64(0), uint16(0), "A")
	f.Add(uint64(1), uint16(30), "")
	f.Add(uint64(2), uint16(45), "OQ")       // the checksum field
	f.Add(uint64(3), uint16(43), "W")        // the length field
	f.Add(uint64(4), uint16(5), "glpat-glp") // inside the prefix
	f.Fuzz(func(t *testing.T, seed uint64, at uint16, repl string) {
		r := Routing{Org: int64(seed % 1000), User: int64(seed)}
		tok, err := Generate(stream(seed), DefaultPrefix, r)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := Parse(tok, DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		i := int(at) % (len(tok) + 1)
		j := min(i+len(repl), len(tok))
		mut := tok[:i] + repl + tok[j:]
		if mut == tok || Check(mut, DefaultPrefix) != nil {
			return
		}
		p, err := Parse(mut, DefaultPrefix)
		if err != nil {
			return
		}
		if p != orig {
			t.Fatalf("mutated %q -> %q passes the checksum and parses to %+v, not %+v", tok, mut, p, orig)
		}
		if again := reformat(t, mut, DefaultPrefix, p); again != mut {
			t.Fatalf("mutated %q passes the checksum but re-formats as %q", mut, again)
		}
	})
}
