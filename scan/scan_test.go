package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate/scan"
	"github.com/botgate/botgate/tokenfmt"
)

// seeded is a deterministic randomness source for tokens.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// newToken returns a real token with the prefix.
func newToken(t testing.TB, seed uint64, prefix string) string {
	t.Helper()
	tok, err := tokenfmt.Generate(seeded(seed), prefix, tokenfmt.Routing{Org: 1, User: int64(seed)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lookAlike changes one body character of tok, breaking its checksum.
func lookAlike(tok string) string {
	b := []byte(tok)
	i := len(tokenfmt.DefaultPrefix) + 3
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func newScanner(t testing.TB, cfg scan.Config) *scan.Scanner {
	t.Helper()
	s, err := scan.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scanString(t testing.TB, s *scan.Scanner, text string) *scan.Result {
	t.Helper()
	res := &scan.Result{}
	if err := s.Stdin(context.Background(), strings.NewReader(text), res); err != nil {
		t.Fatal(err)
	}
	return res
}

type pos struct {
	rule       string
	line, col  int
	fingerprnt string
}

func positions(res *scan.Result) []pos {
	var out []pos
	for _, f := range res.Findings {
		out = append(out, pos{f.RuleID, f.Line, f.Column, f.Fingerprint})
	}
	return out
}

func TestFind(t *testing.T) {
	tok := newToken(t, 1, "glpat-")
	tok2 := newToken(t, 2, "glpat-")
	custom := newToken(t, 3, "acme-glpat-")
	legacy := "glpat-" + "aB3dE5fG7hI9jK1lM3nO"
	fp := scan.Fingerprint
	tests := []struct {
		name     string
		prefixes []string
		text     string
		want     []pos
	}{
		{"routable token", nil, "export TOKEN=" + tok + "\n", []pos{{scan.RuleToken, 1, 14, fp(tok)}}},
		{"two tokens on two lines", nil, "a\nx " + tok + " y " + tok2 + "\n\n" + tok,
			[]pos{{scan.RuleToken, 2, 3, fp(tok)}, {scan.RuleToken, 2, 3 + len(tok) + 3, fp(tok2)}, {scan.RuleToken, 4, 1, fp(tok)}}},
		{"look-alike with a bad checksum", nil, "TOKEN=" + lookAlike(tok) + "\n", nil},
		{"truncated token", nil, "TOKEN=" + tok[:len(tok)-1] + "\n", nil},
		{"legacy token", nil, "token: '" + legacy + "'\n", []pos{{scan.RuleLegacyToken, 1, 9, fp(legacy)}}},
		{"legacy at end of input", nil, legacy, []pos{{scan.RuleLegacyToken, 1, 1, fp(legacy)}}},
		{"legacy-like too long", nil, legacy + "x\n", nil},
		{"legacy-like too short", nil, legacy[:len(legacy)-1] + "\n", nil},
		{"legacy-like inside a word", nil, "x" + legacy + "\n", nil},
		{"custom prefix not configured", nil, custom + "\n", nil},
		{"custom prefix configured", []string{"acme-glpat-"}, "t=" + custom + "\n", []pos{{scan.RuleToken, 1, 3, fp(custom)}}},
		{"custom and default together", []string{"acme-glpat-"}, custom + " " + tok,
			[]pos{{scan.RuleToken, 1, 1, fp(custom)}, {scan.RuleToken, 1, len(custom) + 2, fp(tok)}}},
		{"nothing", nil, "glpat- glpat-x.01.abc hello\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScanner(t, scan.Config{Prefixes: tt.prefixes})
			got := positions(scanString(t, s, tt.text))
			if len(got) != len(tt.want) {
				t.Fatalf("findings %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("finding %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestChunkBoundaries places tokens across every offset around a chunk
// boundary, on one long line and on short lines: each is found once, at
// its line and column.
func TestChunkBoundaries(t *testing.T) {
	const chunk = 2048
	tok := newToken(t, 7, "glpat-")
	legacy := "glpat-" + "zY3dE5fG7hI9jK1lM3nQ"
	custom := newToken(t, 8, "acme-corp-glpat-")
	for _, tc := range []struct {
		name     string
		token    string
		rule     string
		prefixes []string
	}{
		{"routable", tok, scan.RuleToken, nil},
		{"legacy", legacy, scan.RuleLegacyToken, nil},
		{"custom prefix", custom, scan.RuleToken, []string{"acme-corp-glpat-", "corp-glpat-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScanner(t, scan.Config{ChunkSize: chunk, Prefixes: tc.prefixes})
			// Every offset across the first chunks' seams, wherever the
			// scanner puts them.
			{
				for off := chunk - 100; off <= 3*chunk+100; off++ {
					// One long line: the column is off+1.
					text := strings.Repeat(" ", off) + tc.token + strings.Repeat(" ", 3*chunk)
					got := positions(scanString(t, s, text))
					if len(got) != 1 || got[0].line != 1 || got[0].col != off+1 || got[0].rule != tc.rule || got[0].fingerprnt != scan.Fingerprint(tc.token) {
						t.Fatalf("offset %d: %+v, want one %s at 1:%d", off, got, tc.rule, off+1)
					}
					// Short lines: the token starts line 1+off/10 at column 1+off%10... built so.
					var b strings.Builder
					for b.Len() < off-off%10 {
						b.WriteString("123456789\n")
					}
					lines := strings.Count(b.String(), "\n")
					b.WriteString(strings.Repeat(".", off%10))
					b.WriteString(tc.token + "\n" + strings.Repeat("x\n", 2*chunk))
					got = positions(scanString(t, s, b.String()))
					if len(got) != 1 || got[0].line != lines+1 || got[0].col != off%10+1 {
						t.Fatalf("offset %d (short lines): %+v, want one at %d:%d", off, got, lines+1, off%10+1)
					}
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPath(t *testing.T) {
	tok := newToken(t, 11, "glpat-")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config", "ci.env"), "A=1\nGITLAB_TOKEN="+tok+"\n")
	writeFile(t, filepath.Join(dir, ".git", "objects", "x"), tok)                      // git internals
	writeFile(t, filepath.Join(dir, "image.bin"), "\x00\x01"+tok)                      // binary
	writeFile(t, filepath.Join(dir, "big.log"), tok+"\n"+strings.Repeat("x", 5000))    // over the cap
	writeFile(t, filepath.Join(dir, "vendor", "lib", "fixture.txt"), tok)              // ignored by flag
	writeFile(t, filepath.Join(dir, "testdata", "fake.txt"), tok)                      // ignored by file
	writeFile(t, filepath.Join(dir, "notes.md"), "nothing here, "+lookAlike(tok)+"\n") // look-alike
	writeFile(t, filepath.Join(dir, scan.IgnoreFile), "# test fixtures\ntestdata/\n")
	if err := os.Symlink(filepath.Join(dir, "config", "ci.env"), filepath.Join(dir, "link.env")); err != nil {
		t.Fatal(err)
	}
	s := newScanner(t, scan.Config{MaxFileSize: 4096, Ignore: []string{"vendor/"}})
	res := &scan.Result{}
	if err := s.Path(context.Background(), dir, res); err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings %+v, want 1", res.Findings)
	}
	f := res.Findings[0]
	if f.Path != "config/ci.env" || f.Line != 2 || f.Column != 14 || f.Source != "file" || f.Secret() != tok {
		t.Errorf("finding %+v, want config/ci.env:2:14 with the token", f)
	}
	skipped := map[string]string{}
	for _, sk := range res.Skipped {
		skipped[sk.Path] = sk.Reason
	}
	for _, want := range []struct{ path, reason string }{{"image.bin", "binary"}, {"big.log", "larger than the size cap"}} {
		t.Run("skips "+want.path, func(t *testing.T) {
			if skipped[want.path] != want.reason {
				t.Errorf("skipped %v, want %s: %s", skipped, want.path, want.reason)
			}
		})
	}
	if res.Stats.Files != 2 { // ci.env and notes.md
		t.Errorf("files scanned %d, want 2", res.Stats.Files)
	}

	t.Run("a file named directly ignores the cap", func(t *testing.T) {
		res := &scan.Result{}
		if err := s.Path(context.Background(), filepath.Join(dir, "big.log"), res); err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 || res.Findings[0].Line != 1 {
			t.Errorf("findings %+v, want one at line 1", res.Findings)
		}
	})
	t.Run("a missing path is an error", func(t *testing.T) {
		if err := s.Path(context.Background(), filepath.Join(dir, "nope"), &scan.Result{}); err == nil {
			t.Error("no error")
		}
	})
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestGitHistory commits a token, removes it in the next commit, and adds
// another on a side branch: the history scan finds both, at the commits that
// added them, though the working tree holds neither.
func TestGitHistory(t *testing.T) {
	tok := newToken(t, 21, "glpat-")
	side := newToken(t, 22, "glpat-")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "deploy", "ci.yml"), "stages: [x]\nvariables:\n  TOKEN: "+tok+"\n  OTHER: "+lookAlike(tok)+"\n")
	writeFile(t, filepath.Join(dir, "README"), "+++ not a diff header\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "add ci")
	added := gitHead(t, dir)
	writeFile(t, filepath.Join(dir, "deploy", "ci.yml"), "stages: [x]\nvariables:\n  TOKEN: $CI_TOKEN\n")
	git(t, dir, "commit", "-q", "-am", "remove the token "+tok) // in a message: not a diff line
	git(t, dir, "checkout", "-q", "-b", "side")
	writeFile(t, filepath.Join(dir, "a b.txt"), "x\ny\n"+side+"\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "side")
	sideCommit := gitHead(t, dir)
	git(t, dir, "checkout", "-q", "main")

	s := newScanner(t, scan.Config{})
	res := &scan.Result{}
	if err := s.GitHistory(context.Background(), dir, res); err != nil {
		t.Fatal(err)
	}
	type loc struct {
		commit, path string
		line, col    int
		fp           string
	}
	var got []loc
	for _, f := range res.Findings {
		got = append(got, loc{f.Commit, f.Path, f.Line, f.Column, f.Fingerprint})
	}
	want := map[loc]bool{
		{added, "deploy/ci.yml", 3, 10, scan.Fingerprint(tok)}: true,
		{sideCommit, "a b.txt", 3, 1, scan.Fingerprint(side)}:  true,
	}
	if len(got) != len(want) {
		t.Fatalf("findings %+v, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected finding %+v; want %v", g, want)
		}
	}
	if res.Stats.Commits != 3 {
		t.Errorf("commits %d, want 3", res.Stats.Commits)
	}
	t.Run("not a repository", func(t *testing.T) {
		err := s.GitHistory(context.Background(), t.TempDir(), &scan.Result{})
		if err == nil || !strings.Contains(err.Error(), "git log") {
			t.Errorf("error %v, want git log failure", err)
		}
	})
}

// TestOutputsRedact checks that no output format shows the secret, and
// that each shows the redacted form and the fingerprint.
func TestOutputsRedact(t *testing.T) {
	tok := newToken(t, 31, "glpat-")
	legacy := "glpat-" + "qW3dE5fG7hI9jK1lM3nR"
	s := newScanner(t, scan.Config{})
	res := scanString(t, s, "a "+tok+"\nb "+legacy+"\n")
	res.Findings[0].Revocation = "revoked"
	if len(res.Findings) != 2 {
		t.Fatalf("findings %+v", res.Findings)
	}
	t.Run("printing a finding", func(t *testing.T) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, res.Findings) + fmt.Sprintf(verb, res.Findings[0]); strings.Contains(out, tok) {
				t.Errorf("%s shows the secret: %s", verb, out)
			}
		}
	})
	red := scan.Redact(tok, "glpat-")
	if want := "glpat-" + tok[6:10] + "…" + tok[len(tok)-4:]; red != want {
		t.Errorf("Redact = %q, want %q", red, want)
	}
	for _, w := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"text", func(b *bytes.Buffer) error { return res.WriteText(b) }},
		{"json", func(b *bytes.Buffer) error { return res.WriteJSON(b) }},
		{"sarif", func(b *bytes.Buffer) error { return res.WriteSARIF(b) }},
	} {
		t.Run(w.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := w.write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, secret := range []string{tok, legacy, tok[6 : len(tok)-4], legacy[6:]} {
				if strings.Contains(out, secret) {
					t.Errorf("%s output contains the secret (or its middle)", w.name)
				}
			}
			for _, want := range []string{red, scan.Fingerprint(tok), scan.Fingerprint(legacy), "revoked"} {
				if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, "…", `\u2026`)) {
					t.Errorf("%s output lacks %q:\n%s", w.name, want, out)
				}
			}
		})
	}
}

func TestSARIF(t *testing.T) {
	tok := newToken(t, 41, "glpat-")
	legacy := "glpat-" + "pW3dE5fG7hI9jK1lM3nS"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.env"), "\n\nX="+tok+"\nY="+legacy+"\n")
	res := &scan.Result{}
	if err := newScanner(t, scan.Config{}).Path(context.Background(), dir, res); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string `json:"id"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-schema-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("header: version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "botgate-scan" || len(run.Tool.Driver.Rules) != 2 ||
		run.Tool.Driver.Rules[0].ID != scan.RuleToken || run.Tool.Driver.Rules[1].DefaultConfiguration.Level != "warning" {
		t.Errorf("driver %+v", run.Tool.Driver)
	}
	if len(run.Results) != 2 {
		t.Fatalf("results %+v", run.Results)
	}
	for i, want := range []struct {
		rule, level string
		index, line int
		col         int
		fp          string
	}{
		{scan.RuleToken, "error", 0, 3, 3, scan.Fingerprint(tok)},
		{scan.RuleLegacyToken, "warning", 1, 4, 3, scan.Fingerprint(legacy)},
	} {
		r := run.Results[i]
		loc := r.Locations[0].PhysicalLocation
		if r.RuleID != want.rule || r.Level != want.level || r.RuleIndex != want.index ||
			loc.ArtifactLocation.URI != "a.env" || loc.Region.StartLine != want.line || loc.Region.StartColumn != want.col {
			t.Errorf("result %d: %+v", i, r)
		}
		if fp := r.PartialFingerprints["botgateSubject/v1"]; fp != want.rule+":secret/"+want.fp {
			t.Errorf("result %d: partial fingerprint %q", i, fp)
		}
	}
}
