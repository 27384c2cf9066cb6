package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// params are a request's parameters, as Grape merges them: the query
// string, overlaid by the body (JSON, form-encoded or multipart). Array
// parameters may arrive as JSON arrays, repeated keys, "key[]" form keys
// or comma-separated strings.
type params struct {
	v map[string][]string
}

// errBodyTooLarge is returned for a body above the server's limit.
var errBodyTooLarge = &botgate.Error{Kind: botgate.KindInvalid, Message: "request body is too large"}

// queryParams returns the parameters of the request's query string alone
// (token parameters left out), for routes whose body is not parameters.
func queryParams(r *http.Request) *params {
	p := &params{v: make(map[string][]string)}
	for k, vs := range r.URL.Query() {
		if edge.IsTokenParam(k) {
			continue
		}
		p.v[normKey(k)] = append(p.v[normKey(k)], vs...)
	}
	return p
}

// readBody reads the request's body, at most limit bytes: a larger body is
// errBodyTooLarge, one that does not arrive in time errBodyTimeout.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if err := bodyLimitError(err); err != nil {
			return nil, err
		}
		return nil, botgate.Invalid("", "could not read the request body")
	}
	return body, nil
}

// bodyLimitError is errBodyTooLarge or errBodyTimeout for an error reading
// a body through http.MaxBytesReader that is one of those, else nil.
func bodyLimitError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errBodyTooLarge
	}
	if isTimeout(err) {
		return errBodyTimeout
	}
	return nil
}

// readParams parses the request's parameters.
func (s *Server) readParams(w http.ResponseWriter, r *http.Request) (*params, error) {
	p := queryParams(r)
	if r.Body == nil || r.Body == http.NoBody {
		return p, p.checkLengths()
	}
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, p.checkLengths()
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var bodyVals map[string][]string
	switch {
	case ct == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, botgate.Invalid("", "the form-encoded body is malformed")
		}
		bodyVals = q
	case ct == "multipart/form-data":
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.Header.Set("Content-Type", mime.FormatMediaType(ct, ctParams))
		if err := r2.ParseMultipartForm(s.maxBody); err != nil {
			return nil, botgate.Invalid("", "the multipart body is malformed")
		}
		bodyVals = r2.MultipartForm.Value
	default: // JSON, whatever the Content-Type says, as Grape tries
		bodyVals, err = jsonParams(body)
		if err != nil {
			return nil, err
		}
	}
	for k, vs := range bodyVals {
		p.v[normKey(k)] = vs
	}
	if err := p.checkLengths(); err != nil {
		return nil, err
	}
	return p, nil
}

// MaxFilterLength is the longest value botgate accepts for a parameter
// that filters or orders a list (search, username, sort, ...): longer
// values name nothing botgate stores, and a search pattern beyond SQLite's
// LIKE limit (50,000 bytes) would fail in the store as a 500.
const MaxFilterLength = 255

// filterParams are the parameters MaxFilterLength bounds.
var filterParams = []string{"search", "username", "sort", "order_by", "state", "action", "target_type"}

// checkLengths refuses an overlong filter parameter with a 400 naming it.
func (p *params) checkLengths() error {
	for _, name := range filterParams {
		for _, v := range p.v[name] {
			if utf8.RuneCountInString(v) > MaxFilterLength {
				return botgate.Invalid(name, "%s is too long (maximum is %d characters)", name, MaxFilterLength)
			}
		}
	}
	return nil
}

func normKey(k string) string { return strings.TrimSuffix(k, "[]") }

// jsonParams flattens a JSON object into parameters: scalars become one
// string, arrays of scalars several; null means absent.
func jsonParams(body []byte) (map[string][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, botgate.Invalid("", "the request body is not a valid JSON object")
	}
	if dec.More() {
		return nil, botgate.Invalid("", "the request body has data after the JSON object")
	}
	out := make(map[string][]string, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case nil:
		case []any:
			vals := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := scalar(e)
				if !ok {
					return nil, botgate.Invalid(k, "%s is invalid", k)
				}
				vals = append(vals, s)
			}
			out[k] = vals
		default:
			s, ok := scalar(v)
			if !ok {
				return nil, botgate.Invalid(k, "%s is invalid", k)
			}
			out[k] = []string{s}
		}
	}
	return out, nil
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// has reports whether the parameter was given.
func (p *params) has(name string) bool { return len(p.v[name]) > 0 }

// str returns the parameter's value, or "".
func (p *params) str(name string) string {
	if vs := p.v[name]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return ""
}

// strPtr returns the parameter's value, or nil when it was not given.
func (p *params) strPtr(name string) *string {
	if !p.has(name) {
		return nil
	}
	v := p.str(name)
	return &v
}

// list returns an array parameter, splitting comma-separated values.
func (p *params) list(name string) []string {
	var out []string
	for _, v := range p.v[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func invalidParam(name string) error { return botgate.Invalid(name, "%s is invalid", name) }

// int64 returns an integer parameter; 0 when absent.
func (p *params) int64(name string) (int64, error) {
	if !p.has(name) {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(p.str(name)), 10, 64)
	if err != nil {
		return 0, invalidParam(name)
	}
	return v, nil
}

// boolPtr returns a boolean parameter, or nil when absent.
func (p *params) boolPtr(name string) (*bool, error) {
	if !p.has(name) {
		return nil, nil
	}
	v, err := strconv.ParseBool(strings.TrimSpace(p.str(name)))
	if err != nil {
		return nil, invalidParam(name)
	}
	return &v, nil
}

// flag returns a true/false parameter, false when absent or empty.
func (p *params) flag(name string) (bool, error) {
	if p.str(name) == "" {
		return false, nil
	}
	v, err := p.boolPtr(name)
	if err != nil {
		return false, botgate.Invalid(name, "%s must be true or false", name)
	}
	return *v, nil
}

// date returns a date parameter ("2026-11-24", or a date-time whose date is
// taken in UTC), or nil when absent or empty.
func (p *params) date(name string) (*time.Time, error) {
	v := strings.TrimSpace(p.str(name))
	if v == "" {
		return nil, nil
	}
	if d, err := time.Parse(botgate.DateFormat, v); err == nil {
		return &d, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		d := botgate.Date(t)
		return &d, nil
	}
	return nil, invalidParam(name)
}

// time returns a date-time parameter (RFC 3339, or a date meaning 00:00 UTC
// of that day), or nil when absent or empty.
func (p *params) time(name string) (*time.Time, error) {
	v := strings.TrimSpace(p.str(name))
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		t = t.UTC()
		return &t, nil
	}
	if d, err := time.Parse(botgate.DateFormat, v); err == nil {
		return &d, nil
	}
	return nil, invalidParam(name)
}

// missing returns Grape's "name is missing, scopes is missing" error for
// the required parameters that were not given, or nil.
func (p *params) missing(names ...string) error {
	var miss []string
	first := ""
	for _, n := range names {
		if len(p.list(n)) == 0 {
			if first == "" {
				first = n
			}
			miss = append(miss, n+" is missing")
		}
	}
	if len(miss) == 0 {
		return nil
	}
	return botgate.Invalid(first, "%s", strings.Join(miss, ", "))
}

// pathID parses a numeric path segment; anything else reads as not found.
func pathID(r *http.Request, name, thing string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0, botgate.NotFound(thing)
	}
	return v, nil
}
