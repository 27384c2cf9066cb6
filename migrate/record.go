// Package migrate plans the move off a shared bot: from the bot's request
// log (GitLab's api_json.log, or botgate's own usage records) it groups the
// calls by client, infers what each client touched and needed, and proposes
// a manifest with one least-privilege automation per client, with a report
// that says what was grouped and why.
//
// The package is pure: it reads the given reader and returns values.
package migrate

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// UsageRecord is one call botgate's gateway recorded, written as one JSON
// object per line. The gateway emits it; Read reads it back.
type UsageRecord struct {
	Time       time.Time `json:"time"`
	TokenID    int64     `json:"token_id,omitempty"`
	Automation string    `json:"automation,omitempty"`
	Method     string    `json:"method"`
	// Path is the request path without the query string.
	Path string `json:"path"`
	// Route is the matched route pattern, such as
	// "/api/v4/projects/:id/merge_requests/:iid", when known.
	Route     string `json:"route,omitempty"`
	Status    int    `json:"status"`
	UserAgent string `json:"user_agent"`
	RemoteIP  string `json:"remote_ip"`
	// Project and Group are the full paths the call touched, if any.
	Project string `json:"project,omitempty"`
	Group   string `json:"group,omitempty"`
	// Scope is the least scope the call needed, as the gateway decided.
	Scope botgate.Scope `json:"scope,omitempty"`
	// Client is an identifier the caller declared (X-Botgate-Client) or
	// the CI job that made the call, when known.
	Client string `json:"client,omitempty"`
}

// Request is one call, normalized from either log format.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	// Query is the raw query string, or GitLab's logged params as one.
	Query     string
	Route     string
	Status    int
	UserAgent string
	RemoteIP  string
	Project   string
	Group     string
	// Scope is the least scope the call needed ("" to infer it).
	Scope  botgate.Scope
	Client string
	// TokenID is the token the call was made with, 0 if not logged.
	TokenID int64
	// User is the username the call was authenticated as, if logged.
	User string
	// Line is the line number in the input.
	Line int
}

// logLine holds the fields of both formats: GitLab's api_json.log
// (ua, meta.*) and botgate's UsageRecord.
type logLine struct {
	Time         string          `json:"time"`
	Method       string          `json:"method"`
	Path         string          `json:"path"`
	Route        string          `json:"route"`
	Status       json.RawMessage `json:"status"`
	UA           string          `json:"ua"`
	UserAgent    string          `json:"user_agent"`
	RemoteIP     string          `json:"remote_ip"`
	MetaRemoteIP string          `json:"meta.remote_ip"`
	MetaCallerID string          `json:"meta.caller_id"`
	MetaProject  string          `json:"meta.project"`
	MetaRootNS   string          `json:"meta.root_namespace"`
	MetaClientID string          `json:"meta.client_id"`
	Project      string          `json:"project"`
	Group        string          `json:"group"`
	Scope        string          `json:"scope"`
	Client       string          `json:"client"`
	Params       []logParam      `json:"params"`
	TokenID      int64           `json:"token_id"`
	Username     string          `json:"username"`
	MetaUser     string          `json:"meta.user"`
}

type logParam struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// MaxLineSize is the longest log line Read accepts.
const MaxLineSize = 1 << 20

// Read parses a request log, one JSON object per line, in either format:
// GitLab's api_json.log (fields time, method, path, route, status, ua or
// user_agent, remote_ip, meta.caller_id, meta.project, ...) or botgate's
// UsageRecord, plain or gzip-compressed. Blank lines are skipped. A malformed line is a KindInvalid
// error naming its line number; no line content is echoed, since logs may
// hold secrets.
func Read(r io.Reader) ([]Request, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// A rotated log (api_json.log.1.gz).
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, botgate.E("migrate.Read", botgate.KindInvalid, err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLineSize)
	var out []Request
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, botgate.Errorf(botgate.KindInvalid, "line %d: not a JSON object (%s): the input must be one JSON log record per line", n, jsonProblem(err))
		}
		req, err := l.request(n)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		return nil, botgate.E("migrate.Read", botgate.KindInvalid, fmt.Errorf("line %d: %w", n+1, err))
	}
	return out, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "malformed"
}

func (l *logLine) request(line int) (Request, error) {
	bad := func(format string, args ...any) (Request, error) {
		return Request{}, botgate.Errorf(botgate.KindInvalid, "line %d: "+format, append([]any{line}, args...)...)
	}
	t, err := time.Parse(time.RFC3339Nano, l.Time)
	if err != nil {
		return bad("time %q is not an RFC 3339 timestamp", l.Time)
	}
	method, route := strings.ToUpper(l.Method), l.Route
	if l.MetaCallerID != "" {
		// GitLab: "GET /api/:version/projects/:id/issues".
		if m, r, ok := strings.Cut(l.MetaCallerID, " "); ok && strings.HasPrefix(r, "/") {
			if method == "" {
				method = m
			}
			if route == "" {
				route = r
			}
		}
	}
	if method == "" || l.Path == "" {
		return bad("method and path are required")
	}
	path, query, _ := strings.Cut(l.Path, "?")
	if query == "" && len(l.Params) > 0 {
		q := url.Values{}
		for _, p := range l.Params {
			var v string
			if json.Unmarshal(p.Value, &v) == nil {
				q.Add(p.Key, v)
			}
		}
		query = q.Encode()
	}
	status := 0
	if len(l.Status) > 0 {
		s := strings.Trim(string(l.Status), `"`)
		if status, err = strconv.Atoi(s); err != nil {
			return bad("status %s is not a number", s)
		}
	}
	req := Request{Time: t.UTC(), Method: method, Path: path, Query: query, Route: route, Status: status,
		UserAgent: firstNonEmpty(l.UserAgent, l.UA), RemoteIP: firstNonEmpty(l.RemoteIP, l.MetaRemoteIP),
		Project: firstNonEmpty(l.Project, l.MetaProject), Group: l.Group, Client: l.Client, TokenID: l.TokenID, User: firstNonEmpty(l.Username, l.MetaUser), Line: line}
	if l.Scope != "" {
		s := botgate.Scope(l.Scope)
		if !s.Known() {
			return bad("scope %q is not a known scope", l.Scope)
		}
		req.Scope = s
	}
	if req.Project == "" && req.Group == "" {
		p, g := pathTargets(path)
		req.Project, req.Group = p, g
		if p == "" && g == "" && strings.HasPrefix(path, "/api/v4/groups/") {
			// A group named by numeric ID: GitLab logs its root namespace,
			// which contains it (wider, never narrower).
			req.Group = l.MetaRootNS
		}
	}
	return req, nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// pathTargets finds the project or group a request path names by full path
// (URL-encoded in the API, plain in git URLs). Numeric IDs are not
// resolved; GitLab's log carries meta.project for those.
func pathTargets(p string) (project, group string) {
	p, _, _ = strings.Cut(p, "?")
	for _, prefix := range []string{"/api/v4/projects/", "/api/v4/groups/"} {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "/")
		dec, err := url.PathUnescape(id)
		if err != nil || !strings.Contains(dec, "/") && isNumber(dec) {
			return "", ""
		}
		if prefix == "/api/v4/projects/" {
			if strings.Contains(dec, "/") {
				return dec, ""
			}
			return "", ""
		}
		return "", dec
	}
	if i := strings.Index(p, ".git/"); i > 0 {
		return strings.TrimPrefix(p[:i], "/"), ""
	}
	if strings.HasSuffix(p, ".git") {
		return strings.TrimSuffix(strings.TrimPrefix(p, "/"), ".git"), ""
	}
	return "", ""
}

func isNumber(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
