package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
)

// commitMarker starts the line git log writes for each commit (its
// --format), a byte no commit message or diff line starts with.
const commitMarker = '\x01'

// maxGitLine is how much of a diff line is held at once; longer lines are
// scanned as a stream.
const maxGitLine = 1 << 20

// GitHistory scans every line ever added in the repository at dir, on
// every ref (git log -p --all), streaming git's output. A finding names the
// commit that added the line, the file's path in that commit and the line
// number in the new version of the file. Lines only removed are not
// findings: the commit that added them is. Merge commits' own changes are
// not scanned.
func (s *Scanner) GitHistory(ctx context.Context, dir string, res *Result) error {
	const op = "scan.GitHistory"
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "-c", "core.quotePath=false",
		"log", "-p", "--all", "--no-color", "--no-ext-diff", "--no-textconv", "--unified=0",
		"--src-prefix=a/", "--dst-prefix=b/", // whatever diff.noprefix or diff.mnemonicPrefix say
		"--format=format:"+string(commitMarker)+"%H")
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return botgate.E(op, botgate.KindInternal, err)
	}
	if err := cmd.Start(); err != nil {
		return botgate.E(op, botgate.KindInvalid, err)
	}
	perr := s.parseGitLog(ctx, out, res)
	if perr != nil {
		_ = cmd.Process.Kill()
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if perr != nil {
		return botgate.E(op, perr)
	}
	if werr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = werr.Error()
		}
		return botgate.E(op, botgate.Errorf(botgate.KindInvalid, "git log in %s failed: %s", dir, msg))
	}
	return nil
}

// gitState follows git log -p output.
type gitState struct {
	commit   string
	path     string
	newLine  int // line number of the next added line
	old, new int // lines of the current hunk still to come
}

func (s *Scanner) parseGitLog(ctx context.Context, r io.Reader, res *Result) error {
	br := bufio.NewReaderSize(r, maxGitLine)
	var st gitState
	var hits []hit
	var buf []byte // stream buffer for long lines, made when needed
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := br.ReadSlice('\n')
		long := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !long && !(err == io.EOF && len(line) > 0) {
			if err == io.EOF {
				return nil
			}
			return err
		}
		res.Stats.Bytes += int64(len(line))
		inHunk := st.old > 0 || st.new > 0
		switch {
		case inHunk && len(line) > 0 && line[0] == '+':
			emit := func(f Finding) {
				f.Source, f.Path, f.Commit, f.Line = "git", st.path, st.commit, st.newLine
				res.add(f)
			}
			if long {
				if buf == nil {
					buf = s.newBuffer()
				}
				lr := &lineRest{br: br, first: line[1:]}
				if _, err := s.stream(ctx, lr, buf, emit); err != nil {
					return err
				}
				res.Stats.Bytes += lr.read
			} else {
				content := bytes.TrimRight(line[1:], "\r\n")
				hits = s.find(content, 0, len(content), true, hits[:0])
				for _, h := range hits {
					f := s.finding(content, h)
					f.Column = h.start + 1
					emit(f)
				}
			}
			st.new--
			st.newLine++
			continue
		case inHunk && len(line) > 0 && line[0] == '-':
			st.old--
		case inHunk && len(line) > 0 && line[0] == ' ':
			st.old--
			st.new--
			st.newLine++
		case inHunk && len(line) > 0 && line[0] == '\\':
			// "\ No newline at end of file"
		case len(line) > 0 && line[0] == commitMarker:
			st = gitState{commit: strings.TrimSpace(string(line[1:]))}
			res.Stats.Commits++
		case bytes.HasPrefix(line, []byte("diff --git ")):
			st.path, st.old, st.new = "", 0, 0
		case bytes.HasPrefix(line, []byte("+++ ")):
			st.path = diffPath(string(bytes.TrimRight(line[4:], "\r\n")))
		case bytes.HasPrefix(line, []byte("@@ ")):
			st.old, st.new, st.newLine = hunkHeader(string(line))
		}
		if long {
			// Skip the rest of a long line that is not an added line.
			if err := skipLine(br); err != nil && err != io.EOF {
				return err
			}
		}
	}
}

// diffPath turns the "+++" operand into the file's path.
func diffPath(p string) string {
	// git ends a name holding a space with a tab.
	p = strings.TrimSuffix(p, "\t")
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			p = u
		}
	}
	return strings.TrimPrefix(p, "b/")
}

// hunkHeader parses "@@ -a,b +c,d @@": the old and new line counts and the
// first new line number. A missing count is 1.
func hunkHeader(h string) (old, new, start int) {
	f := strings.Fields(h)
	if len(f) < 3 {
		return 0, 0, 0
	}
	_, old = rangeOf(f[1])
	start, new = rangeOf(f[2])
	return old, new, start
}

func rangeOf(r string) (start, count int) {
	r = strings.TrimLeft(r, "+-")
	a, b, ok := strings.Cut(r, ",")
	start, _ = strconv.Atoi(a)
	count = 1
	if ok {
		count, _ = strconv.Atoi(b)
	}
	return start, count
}

// lineRest reads the first fragment of a long line and then the rest of
// it from br, up to and excluding its newline.
type lineRest struct {
	br    *bufio.Reader
	first []byte
	done  bool
	read  int64
}

func (l *lineRest) Read(p []byte) (int, error) {
	if len(l.first) > 0 {
		n := copy(p, l.first)
		l.first = l.first[n:]
		return n, nil
	}
	if l.done {
		return 0, io.EOF
	}
	frag, err := l.br.ReadSlice('\n')
	l.read += int64(len(frag))
	if !errors.Is(err, bufio.ErrBufferFull) {
		l.done = true
		frag = bytes.TrimRight(frag, "\r\n")
	}
	l.first = frag
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) && err != io.EOF {
		return 0, err
	}
	return l.Read(p)
}

// skipLine discards the rest of a line.
func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// limitedWriter keeps at most n bytes.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}
