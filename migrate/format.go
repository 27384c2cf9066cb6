package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/botgate/botgate"
)

// ParseFormat parses a log format's name: gitlab (or api_json) or botgate.
func ParseFormat(s string) (Format, bool) {
	switch strings.ToLower(s) {
	case "gitlab", "api_json":
		return GitLabAPIJSON, true
	case "botgate":
		return BotgateUsage, true
	}
	return 0, false
}

// ErrOtherFormat is ReadAs's error when the log's first record is in
// another format than the one expected.
var ErrOtherFormat = errors.New("migrate: the log holds the other format")

// ReadAs reads the whole log r as Read does; when want is not nil, the
// log's first record must be in that format (a gzip log is not checked),
// else the error is ErrOtherFormat.
func ReadAs(r io.Reader, want *Format) ([]Request, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if want != nil {
		if got, ok := sniff(data); ok && got != *want {
			return nil, ErrOtherFormat
		}
	}
	return Read(bytes.NewReader(data))
}

// sniff tells the format of the log's first record, if it can: a GitLab
// api_json.log line has "ua" or "meta." keys, a botgate usage record
// "user_agent" or "token_id".
func sniff(data []byte) (Format, bool) {
	line, _, _ := bytes.Cut(bytes.TrimLeft(data, " \r\n\t"), []byte("\n"))
	switch {
	case len(line) > 1 && line[0] == 0x1f && line[1] == 0x8b: // gzip: not sniffed
		return 0, false
	case bytes.Contains(line, []byte(`"ua"`)) || bytes.Contains(line, []byte(`"meta.`)):
		return GitLabAPIJSON, true
	case bytes.Contains(line, []byte(`"user_agent"`)) || bytes.Contains(line, []byte(`"token_id"`)):
		return BotgateUsage, true
	}
	return 0, false
}

// WriteSummary writes, in a few lines, what was read and proposed, and
// each shared token to revoke once every client has its own.
func (p *Proposal) WriteSummary(w io.Writer) error {
	var b strings.Builder
	proposed := 0
	for _, c := range p.Clients {
		if c.Skipped == "" {
			proposed++
		}
	}
	fmt.Fprintf(&b, "%d requests from %d clients between %s and %s: %d automation(s) proposed, owned by %s\n",
		p.Requests, len(p.Clients), p.From.UTC().Format("2006-01-02 15:04"), p.To.UTC().Format("2006-01-02 15:04"), proposed, p.Owner)
	for _, s := range p.SharedTokens {
		who := s.User
		if s.ID != 0 {
			who = fmt.Sprintf("token #%d %s", s.ID, s.User)
		}
		fmt.Fprintf(&b, "shared: %s (%d requests): revoke it once every client has its own token (apply --prune)\n", strings.TrimSpace(who), s.Requests)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ReadLog reads the request log in file ("-" for stdin), plain or gzip.
// format, when not empty, names the format expected (gitlab or botgate)
// and is checked against the log's first record. A bad format name and a
// log of the other format are KindInvalid errors.
func ReadLog(stdin io.Reader, file, format string) ([]Request, error) {
	var want *Format
	if format != "" {
		f, ok := ParseFormat(format)
		if !ok {
			return nil, botgate.Errorf(botgate.KindInvalid, "--format must be gitlab or botgate, not %q", format)
		}
		want = &f
	}
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	reqs, err := ReadAs(in, want)
	if errors.Is(err, ErrOtherFormat) {
		return nil, botgate.Errorf(botgate.KindInvalid, "--format %s, but %s holds the other format", format, file)
	}
	return reqs, err
}
