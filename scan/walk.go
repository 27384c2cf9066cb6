package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/botgate/botgate"
)

// IgnoreFile is the name of the ignore file read at the root of a scanned
// directory: one pattern per line, "#" starts a comment.
const IgnoreFile = ".botgateignore"

// Skipped is a file not scanned, with the reason.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Stats counts what a scan read.
type Stats struct {
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	Commits int   `json:"commits,omitempty"`
}

// Result collects a scan's findings, skipped files and counts.
type Result struct {
	Findings []Finding `json:"findings"`
	Skipped  []Skipped `json:"skipped,omitempty"`
	Stats    Stats     `json:"stats"`
}

// add is an Emit that appends to the result.
func (r *Result) add(f Finding) { r.Findings = append(r.Findings, f) }

// binarySniff is how much of a file is checked for a NUL byte, as git does.
const binarySniff = 8000

// Path scans a file or a directory tree into res. In a tree it skips .git
// directories, symbolic links, binary files (a NUL byte in the first 8000
// bytes), files larger than the size cap, and paths matching the ignore
// patterns or the root's .botgateignore. A file named directly is always
// scanned. Paths in findings are relative to a directory root.
func (s *Scanner) Path(ctx context.Context, root string, res *Result) error {
	const op = "scan.Path"
	fi, err := os.Stat(root)
	if err != nil {
		return &botgate.Error{Op: op, Kind: botgate.KindNotFound, Message: "cannot scan " + root + ": " + pathProblem(err), Err: err}
	}
	if !fi.IsDir() {
		return s.file(ctx, root, root, -1, res)
	}
	patterns := append([]string(nil), s.ignore...)
	if more, err := readIgnoreFile(filepath.Join(root, IgnoreFile)); err == nil {
		patterns = append(patterns, more...)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return botgate.E(op, botgate.KindInvalid, err)
			}
			res.Skipped = append(res.Skipped, Skipped{Path: p, Reason: "unreadable"})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || ignored(patterns, rel, true) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || d.Name() == IgnoreFile || ignored(patterns, rel, false) {
			return nil
		}
		return s.file(ctx, p, rel, s.maxFile, res)
	})
}

// file scans one regular file, unless it is binary or over max bytes
// (max < 0: no cap).
func (s *Scanner) file(ctx context.Context, p, name string, max int64, res *Result) error {
	f, err := os.Open(p)
	if err != nil {
		if max < 0 {
			return &botgate.Error{Op: "scan.file", Kind: botgate.KindInvalid, Message: "cannot scan " + p + ": " + pathProblem(err), Err: err}
		}
		res.Skipped = append(res.Skipped, Skipped{Path: name, Reason: "unreadable"})
		return nil
	}
	defer f.Close()
	if max >= 0 {
		if fi, err := f.Stat(); err == nil && fi.Size() > max {
			res.Skipped = append(res.Skipped, Skipped{Path: name, Reason: "larger than the size cap"})
			return nil
		}
	}
	br := bufio.NewReaderSize(f, binarySniff)
	head, _ := br.Peek(binarySniff)
	if bytes.IndexByte(head, 0) >= 0 {
		res.Skipped = append(res.Skipped, Skipped{Path: name, Reason: "binary"})
		return nil
	}
	n, err := s.Reader(ctx, br, "file", name, res.add)
	res.Stats.Files++
	res.Stats.Bytes += n
	return err
}

// Stdin scans r as standard input ("-").
func (s *Scanner) Stdin(ctx context.Context, r io.Reader, res *Result) error {
	n, err := s.Reader(ctx, r, "stdin", "-", res.add)
	res.Stats.Files++
	res.Stats.Bytes += n
	return err
}

// pathProblem says why a path could not be read, without the Op noise of
// *fs.PathError.
func pathProblem(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ignored reports whether rel (slash-separated, relative to the root)
// matches a pattern. A pattern with a slash matches the whole relative
// path (or a directory above it); one without matches any path element. A
// trailing slash makes a pattern match directories only.
func ignored(patterns []string, rel string, dir bool) bool {
	base := path.Base(rel)
	for _, pat := range patterns {
		pat = strings.TrimSpace(pat)
		dirOnly := strings.HasSuffix(pat, "/")
		pat = strings.Trim(pat, "/")
		if pat == "" || (dirOnly && !dir) {
			continue
		}
		if strings.Contains(pat, "/") {
			if ok, _ := path.Match(pat, rel); ok {
				return true
			}
			continue
		}
		if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

// readIgnoreFile reads ignore patterns, one per line.
func readIgnoreFile(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}
