package scan_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/botgate/botgate/scan"
	"github.com/botgate/botgate/tokenfmt"
)

// offsetOf returns the byte offset of a 1-based line and byte column in
// text, or -1 when text has no such place.
func offsetOf(text []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	off += col - 1
	if off < 0 || off > len(text) {
		return -1
	}
	return off
}

// FuzzScan: over arbitrary bytes the scanner does not panic; a real token
// inserted anywhere is found, at its line and column; every finding is
// where it says, is a checksum-valid token (or a legacy one), and does not
// show its secret when printed; and the chunk size changes nothing.
func FuzzScan(f *testing.F) {
	f.Add([]byte(""), uint32(0), uint8(1), uint8(0), false)
	f.Add([]byte("token: \n"), uint32(7), uint8(2), uint8(0), false)
	f.Add([]byte("glpat-glpat-acme-"), uint32(17), uint8(3), uint8(0), true)
	f.Add([]byte("acme-"), uint32(5), uint8(4), uint8(0), false)
	f.Add([]byte("glpat-zY3dE5fG7hI9jK1lM3nQ "), uint32(0), uint8(5), uint8(3), false)
	f.Add([]byte(".01.0w1oq5gau\n"), uint32(3), uint8(6), uint8(7), true)
	f.Add(bytes.Repeat([]byte("x\n"), 700), uint32(2047), uint8(7), uint8(2), false)
	f.Add(bytes.Repeat([]byte("glpat-"), 400), uint32(2040), uint8(8), uint8(1), true)
	small := newScanner(f, scan.Config{ChunkSize: 2048, Prefixes: []string{"acme-glpat-"}})
	large := newScanner(f, scan.Config{Prefixes: []string{"acme-glpat-"}})
	f.Fuzz(func(t *testing.T, data []byte, at uint32, seed, repeat uint8, custom bool) {
		prefix := tokenfmt.DefaultPrefix
		if custom {
			prefix = "acme-glpat-"
		}
		tok := newToken(t, uint64(seed), prefix)
		data = bytes.Repeat(data, 1+int(repeat%8))
		i := int(at) % (len(data) + 1)
		text := append(append(append([]byte(nil), data[:i]...), tok...), data[i:]...)
		wantLine := 1 + bytes.Count(text[:i], []byte{'\n'})
		wantCol := i - bytes.LastIndexByte(text[:i], '\n')

		got := scanString(t, small, string(text))
		found := false
		for _, fd := range got.Findings {
			off := offsetOf(text, fd.Line, fd.Column)
			sec := fd.Secret()
			if off < 0 || !bytes.HasPrefix(text[off:], []byte(sec)) {
				t.Fatalf("finding %v is not where it says", fd)
			}
			switch fd.Format {
			case scan.FormatRoutable:
				if tokenfmt.Check(sec, "acme-glpat-") != nil && tokenfmt.Check(sec, tokenfmt.DefaultPrefix) != nil {
					t.Fatalf("routable finding %v fails the checksum", fd)
				}
			case scan.FormatLegacy:
				if len(sec) != len("glpat-")+20 || !strings.HasPrefix(sec, "glpat-") {
					t.Fatalf("legacy finding %v is not a legacy token", fd)
				}
			default:
				t.Fatalf("finding %v has format %q", fd, fd.Format)
			}
			if strings.Contains(fd.String(), sec) || strings.Contains(fd.GoString(), sec) {
				t.Fatalf("finding prints its secret")
			}
			if sec == tok && fd.Line == wantLine && fd.Column == wantCol {
				found = true
			}
		}
		if !found {
			t.Fatalf("token inserted at %d:%d (offset %d of %d) not found; findings %v", wantLine, wantCol, i, len(text), got.Findings)
		}
		if a, b := positions(got), positions(scanString(t, large, string(text))); !equalPos(a, b) {
			t.Fatalf("chunk size changes the findings:\n%v\n%v", a, b)
		}
	})
}

func equalPos(a, b []pos) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
