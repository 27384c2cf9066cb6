package tokenfmt

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Scanners' rules for GitLab personal access tokens: the legacy rule
// (gitleaks "gitlab-pat") and the routable v1 rule with its ".01" framing.
var (
	legacyPAT   = regexp.MustCompile(`glpat-[\w-]{20}`)
	routablePAT = regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{27,235}(?:\.01)?\.[0-9a-z]{9}\b`)
)

func TestGenerateParse(t *testing.T) {
	for _, prefix := range []string{DefaultPrefix, "acme-glpat-", "bg_"} {
		t.Run(prefix, func(t *testing.T) {
			tok, err := Generate(rand.Reader, prefix, Routing{User: 123456})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, prefix) {
				t.Fatalf("token %q lacks prefix", tok[:8])
			}
			p, err := Parse(tok, prefix)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Routing.User != 123456 || p.Routing.Org != 1 {
				t.Fatalf("routing = %+v", p.Routing)
			}
			if prefix == DefaultPrefix && (!legacyPAT.MatchString(tok) || routablePAT.FindString(tok) != tok) {
				t.Fatalf("token does not match the routable PAT shape scanners look for")
			}
		})
	}
}

func TestTokensDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, err := Generate(rand.Reader, DefaultPrefix, Routing{User: 1})
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}

func TestCheckRejects(t *testing.T) {
	good, err := Generate(rand.Reader, DefaultPrefix, Routing{User: 7})
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"prefix only", DefaultPrefix},
		{"legacy 20-char PAT", "glpat-abcdefghijklmnopqrst"},
		{"wrong prefix", "glptt-" + good[len(DefaultPrefix):]},
		{"flipped body char", flip(10)},
		{"flipped checksum char", flip(len(good) - 1)},
		{"truncated", good[:len(good)-1]},
		{"extended", good + "x"},
		{"wrong version", strings.Replace(good, ".01.", ".02.", 1)},
		{"huge", DefaultPrefix + strings.Repeat("a", 5000)},
	}
	d, err := NewDigester(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.token, DefaultPrefix); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Check(%s) = %v, want ErrMalformed", tt.name, err)
			}
			if dg, err := d.CheckDigest(tt.token, DefaultPrefix); !errors.Is(err, ErrMalformed) || dg != [sha256.Size]byte{} {
				t.Fatalf("CheckDigest(%s) = %x, %v, want no digest and ErrMalformed", tt.name, dg, err)
			}
		})
	}
	if err := Check(good, DefaultPrefix); err != nil {
		t.Fatalf("good token rejected: %v", err)
	}
}

// TestCheckDigest checks that CheckDigest accepts what Check accepts, with
// Digest's digest, and that it does not allocate: it is on the path of
// every authenticated request.
func TestCheckDigest(t *testing.T) {
	d, err := NewDigester(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, prefix string
		routing      Routing
	}{
		{"default prefix", DefaultPrefix, Routing{User: 7}},
		{"custom prefix", "acme-glpat-", Routing{Org: 3, User: 1 << 40}},
		{"no user", DefaultPrefix, Routing{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Generate(rand.Reader, tt.prefix, tt.routing)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.CheckDigest(tok, tt.prefix)
			if err != nil {
				t.Fatalf("CheckDigest rejected a good token: %v", err)
			}
			if want := d.Digest(tok); got != want {
				t.Fatalf("CheckDigest digest %x, Digest %x", got, want)
			}
			if _, err := d.CheckDigest(tok, "glptt-"); !errors.Is(err, ErrMalformed) {
				t.Fatalf("CheckDigest under another prefix = %v, want ErrMalformed", err)
			}
			if allocs := testing.AllocsPerRun(100, func() { _, _ = d.CheckDigest(tok, tt.prefix) }); allocs != 0 && !raceEnabled {
				t.Fatalf("CheckDigest allocates %.0f times, want 0", allocs)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	p1 := bytes.Repeat([]byte{1}, 32)
	p2 := bytes.Repeat([]byte{2}, 32)
	d1, _ := NewDigester(p1)
	d2, _ := NewDigester(p2)
	if d1.Digest("glpat-x") != d1.Digest("glpat-x") {
		t.Fatal("digest not deterministic")
	}
	if d1.Digest("glpat-x") == d2.Digest("glpat-x") {
		t.Fatal("digest ignores the pepper")
	}
	if d1.Digest("glpat-x") == d1.Digest("glpat-y") {
		t.Fatal("digest ignores the token")
	}
	if _, err := NewDigester([]byte("short")); err == nil {
		t.Fatal("short pepper accepted")
	}
}

func BenchmarkCheck(b *testing.B) {
	good, _ := Generate(rand.Reader, DefaultPrefix, Routing{User: 7})
	b.ReportAllocs()
	for b.Loop() {
		if Check(good, DefaultPrefix) != nil {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkCheckDigest is Check and Digest in one call, as Authenticate
// makes it; compare with the sum of BenchmarkCheck and BenchmarkDigest.
func BenchmarkCheckDigest(b *testing.B) {
	good, _ := Generate(rand.Reader, DefaultPrefix, Routing{User: 7})
	d, _ := NewDigester(bytes.Repeat([]byte{1}, 32))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.CheckDigest(good, DefaultPrefix); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	good, _ := Generate(rand.Reader, DefaultPrefix, Routing{User: 7})
	d, _ := NewDigester(bytes.Repeat([]byte{1}, 32))
	b.ReportAllocs()
	for b.Loop() {
		d.Digest(good)
	}
}
