package scan_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/botgate/botgate/scan"
)

// corpus returns about size bytes of source-like text: 80-byte lines, a
// "glpat-" look-alike every 1,000 lines and a real token every 10,000.
func corpus(tb testing.TB, size int) (data []byte, tokens int) {
	tb.Helper()
	tok := newToken(tb, 99, "glpat-")
	var b bytes.Buffer
	b.Grow(size + 200)
	for i := 0; b.Len() < size; i++ {
		switch {
		case i%10000 == 9999:
			b.WriteString("  GITLAB_TOKEN: " + tok + "\n")
			tokens++
		case i%1000 == 999:
			b.WriteString("  # see docs: the token looks like glpat-xxxxxxxxxxxxxxxxxxxxxxx.01.0000000000 (example)\n")
		default:
			b.WriteString("func handler" + strconv.Itoa(i) + "(w http.ResponseWriter, r *http.Request) { return nil } // ok\n")
		}
	}
	return b.Bytes(), tokens
}

const benchSize = 64 << 20

// BenchmarkScan measures the scanner's throughput over the corpus.
func BenchmarkScan(b *testing.B) {
	data, want := corpus(b, benchSize)
	s := newScanner(b, scan.Config{})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if _, err := s.Reader(context.Background(), bytes.NewReader(data), "file", "x", func(scan.Finding) { n++ }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("found %d, want %d", n, want)
		}
	}
}

// BenchmarkScanCustomPrefix is BenchmarkScan with one custom prefix more
// to look for.
func BenchmarkScanCustomPrefix(b *testing.B) {
	for _, bc := range []struct{ name, prefix string }{
		// GitLab's custom prefix form ends with glpat-: checked where
		// glpat- is found, not searched separately.
		{"ending-in-glpat", "acme-glpat-"},
		// An unrelated prefix is a second search over the data.
		{"unrelated", "acme_"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data, want := corpus(b, benchSize)
			s := newScanner(b, scan.Config{Prefixes: []string{bc.prefix}})
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				n := 0
				if _, err := s.Reader(context.Background(), bytes.NewReader(data), "file", "x", func(scan.Finding) { n++ }); err != nil {
					b.Fatal(err)
				}
				if n != want {
					b.Fatalf("found %d, want %d", n, want)
				}
			}
		})
	}
}

// BenchmarkBaselineBytesIndex is the floor: finding every "glpat-" in the
// same data, in memory, with bytes.Index and nothing else.
func BenchmarkBaselineBytesIndex(b *testing.B) {
	data, _ := corpus(b, benchSize)
	prefix := []byte("glpat-")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for i := 0; ; {
			j := bytes.Index(data[i:], prefix)
			if j < 0 {
				break
			}
			n++
			i += j + 1
		}
		if n == 0 {
			b.Fatal("no candidates")
		}
	}
}

// repeatReader yields the pattern over and over, up to n bytes, without
// holding more than the pattern in memory.
type repeatReader struct {
	pat []byte
	off int
	n   int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.pat[r.off:])
		k += c
		r.off = (r.off + c) % len(r.pat)
	}
	r.n -= int64(k)
	return k, nil
}

// TestBoundedMemory scans 256 MiB streamed from a generator, one long
// line included: the scanner allocates about one chunk buffer, not the
// input.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	pat, want := corpus(t, 4<<20)
	for _, tc := range []struct {
		name string
		pat  []byte
	}{{"lines", pat}, {"one long line", bytes.ReplaceAll(pat, []byte{'\n'}, []byte{' '})}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScanner(t, scan.Config{})
			total := 64 * len(tc.pat) // about 256 MiB
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			n := 0
			read, err := s.Reader(context.Background(), &repeatReader{pat: tc.pat, n: int64(total)}, "file", "x", func(scan.Finding) { n++ })
			runtime.ReadMemStats(&after)
			if err != nil || read != int64(total) {
				t.Fatalf("read %d, %v", read, err)
			}
			if n != 64*want {
				t.Errorf("found %d, want %d", n, 64*want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("scanning %d MiB allocated %d MiB", total>>20, alloc>>20)
			}
		})
	}
}
