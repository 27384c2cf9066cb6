package scan_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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

// historyRepo makes a repository of commits commits with git fast-import:
// each rewrites one of ten 100-line files, and every 50th adds a token.
func historyRepo(b *testing.B, commits int) (dir string, tokens int) {
	b.Helper()
	dir = b.TempDir()
	git := func(stdin io.Reader, args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Stdin = stdin
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(nil, "init", "-q", "-b", "main")
	tok := newToken(b, 5, "glpat-")
	var in bytes.Buffer
	data := func(s string) { in.WriteString("data " + strconv.Itoa(len(s)) + "\n" + s + "\n") }
	for i := 1; i <= commits; i++ {
		in.WriteString("commit refs/heads/main\nmark :" + strconv.Itoa(i) + "\ncommitter t <t@example.com> " + strconv.Itoa(1700000000+i) + " +0000\n")
		data("commit " + strconv.Itoa(i))
		if i > 1 {
			in.WriteString("from :" + strconv.Itoa(i-1) + "\n")
		}
		var f strings.Builder
		for l := 0; l < 100; l++ {
			f.WriteString("line " + strconv.Itoa(l) + " of version " + strconv.Itoa(i) + ": some ordinary configuration text here\n")
		}
		if i%50 == 0 {
			f.WriteString("TOKEN=" + tok + "\n")
			tokens++
		}
		in.WriteString("M 644 inline file" + strconv.Itoa(i%10) + ".txt\n")
		data(f.String())
	}
	git(&in, "fast-import", "--quiet")
	return dir, tokens
}

// BenchmarkGitHistory scans a 1,000-commit history; the baseline runs the
// same git log and discards its output, so the ratio is what the scanner
// adds to git's own work.
func BenchmarkGitHistory(b *testing.B) {
	dir, want := historyRepo(b, 1000)
	s := newScanner(b, scan.Config{})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			res := &scan.Result{}
			if err := s.GitHistory(context.Background(), dir, res); err != nil {
				b.Fatal(err)
			}
			if len(res.Findings) != want {
				b.Fatalf("found %d, want %d", len(res.Findings), want)
			}
			b.SetBytes(res.Stats.Bytes)
		}
	})
	b.Run("baseline-git-log", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command("git", "-C", dir, "-c", "core.quotePath=false",
				"log", "-p", "--all", "--no-color", "--no-ext-diff", "--no-textconv", "--unified=0",
				"--src-prefix=a/", "--dst-prefix=b/", "--format=format:\x01%H")
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, out)
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
		}
	})
}
