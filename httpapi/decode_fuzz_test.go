package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// fuzzContentTypes are the Content-Types FuzzReadParams sends, chosen by a
// fuzzed byte; anything but a form is read as JSON.
var fuzzContentTypes = []string{
	"application/json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=B",
	"",
	"text/plain; charset=utf-8",
	"multipart/form-data",
}

// fuzzMaxBody is the body limit of the fuzzed server.
const fuzzMaxBody = 2048

// wantInvalid fails unless err is a *botgate.Error of kind Invalid that
// the API renders as 400 (413 for a body over the limit), never a 500.
func wantInvalid(t *testing.T, err error, what string) {
	t.Helper()
	var be *botgate.Error
	if !errors.As(err, &be) || botgate.KindOf(err) != botgate.KindInvalid {
		t.Fatalf("%s: %v is not an invalid-kind botgate.Error (kind %v)", what, err, botgate.KindOf(err))
	}
	status, _ := ErrorBody(err)
	if status != http.StatusBadRequest && !(status == http.StatusRequestEntityTooLarge && errors.Is(err, errBodyTooLarge)) {
		t.Fatalf("%s: %v renders as %d", what, err, status)
	}
}

// flatten is what jsonParams makes of one JSON value: a scalar is one
// string, an array of scalars several.
func flatten(v any) ([]string, bool) {
	if a, ok := v.([]any); ok {
		out := []string{}
		for _, e := range a {
			s, ok := scalar(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := scalar(v)
	return []string{s}, ok
}

// FuzzReadParams: whatever the body, Content-Type and query, readParams
// does not panic; a refusal is a 400 (a 413 only for a body over the
// limit), never internal; credential query parameters never become
// parameters; a JSON object is read as encoding/json reads it (the last
// of duplicate keys wins, any key is accepted); and every typed accessor
// on what was read either succeeds or refuses with a 400 naming the field.
func FuzzReadParams(f *testing.F) {
	f.Add([]byte(`{"name":"bot","scopes":["api","read_api"],"expires_at":"2026-12-01","access_level":30}`), uint8(0), "")
	f.Add([]byte(`{"name":"a","name":"b"}`), uint8(0), "name=q")
	f.Add([]byte(`{"scopes[]":["api"],"scopes":"read_api"}`), uint8(0), "")
	f.Add([]byte(`{"a":{"b":1}}`), uint8(0), "")
	f.Add([]byte(`{"a":[[1]]}`), uint8(0), "")
	f.Add([]byte(`{"a":1} {"b":2}`), uint8(3), "")
	f.Add([]byte(`[1,2]`), uint8(0), "")
	f.Add([]byte(`null`), uint8(0), "name=q")
	f.Add([]byte(`{"n":1e999,"b":true,"z":null}`), uint8(4), "")
	f.Add([]byte(`name=bot&scopes[]=api&scopes[]=read_api`), uint8(1), "private_token=glpat-x&token=t")
	f.Add([]byte("name=%zz"), uint8(1), "")
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbot\r\n--B--\r\n"), uint8(2), "")
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbot"), uint8(2), "")
	f.Add([]byte("--B\r\n"), uint8(5), "")
	f.Add(bytes.Repeat([]byte("["), 3000), uint8(0), "")
	f.Add([]byte(" \n\t"), uint8(0), "access_token=a&job_token=b&PRIVATE_TOKEN=c")
	f.Add([]byte("\xef\xbb\xbf{}"), uint8(0), "")
	f.Add([]byte(`{"expires_at":"2026-13-01","id":"9223372036854775808","b":"yes"}`), uint8(0), "")
	s := &Server{maxBody: fuzzMaxBody}
	f.Fuzz(func(t *testing.T, body []byte, ct uint8, query string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v4/x", bytes.NewReader(body))
		r.URL.RawQuery = query
		if c := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]; c != "" {
			r.Header.Set("Content-Type", c)
		}
		p, err := s.readParams(httptest.NewRecorder(), r)
		if err != nil {
			wantInvalid(t, err, "readParams")
			if errors.Is(err, errBodyTooLarge) && len(body) <= fuzzMaxBody {
				t.Fatalf("a body of %d bytes refused as too large", len(body))
			}
			return
		}
		if len(body) > fuzzMaxBody {
			t.Fatalf("a body of %d bytes over the limit of %d was read", len(body), fuzzMaxBody)
		}
		q, _ := url.ParseQuery(query)
		for k := range q {
			if edge.IsTokenParam(k) && p.has(normKey(k)) && !bodyHasKey(body, k) {
				t.Fatalf("credential query parameter %q became a parameter", k)
			}
		}
		ctype := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]
		if !strings.HasPrefix(ctype, "application/x-www-form-urlencoded") && !strings.HasPrefix(ctype, "multipart/") {
			checkJSON(t, body, p)
		}
		for name := range p.v {
			if _, err := p.int64(name); err != nil {
				wantField(t, err, name)
			}
			if _, err := p.boolPtr(name); err != nil {
				wantField(t, err, name)
			}
			if _, err := p.date(name); err != nil {
				wantField(t, err, name)
			}
			if _, err := p.time(name); err != nil {
				wantField(t, err, name)
			}
			if err := p.missing(name); err != nil && len(p.list(name)) > 0 {
				t.Fatalf("missing(%q) = %v, but list has %q", name, err, p.list(name))
			}
		}
		if err := p.missing("\x00absent"); err == nil {
			t.Fatal("missing accepted an absent parameter")
		} else {
			wantInvalid(t, err, "missing")
		}
	})
}

// bodyHasKey reports, roughly, whether the body names the key (a body
// may carry any parameter; only the query's credentials are dropped).
func bodyHasKey(body []byte, k string) bool { return bytes.Contains(body, []byte(normKey(k))) }

// wantField fails unless err is a 400 for the field name.
func wantField(t *testing.T, err error, name string) {
	t.Helper()
	wantInvalid(t, err, name)
	if f := botgate.FieldOf(err); f != name {
		t.Fatalf("error %v names field %q, want %q", err, f, name)
	}
}

// checkJSON checks that a body read as JSON was read as encoding/json
// reads the object: any key, the last of duplicates, null as absent (and
// a null body as no parameters).
func checkJSON(t *testing.T, body []byte, p *params) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || dec.More() {
		t.Fatalf("readParams accepted %q, which is not one JSON object", body)
	}
	// JSON null reads as no parameters: client-go sends it for a nil
	// options pointer.
	norm := map[string]int{}
	for k := range obj {
		norm[normKey(k)]++
	}
	for k, v := range obj {
		if v == nil || norm[normKey(k)] > 1 {
			continue // null is absent; "a" and "a[]" race for one name
		}
		want, ok := flatten(v)
		if !ok {
			t.Fatalf("readParams accepted %q, whose %q is not a scalar or an array of scalars", body, k)
		}
		if got := p.v[normKey(k)]; !slices.Equal(got, want) {
			t.Fatalf("parameter %q = %q, want %q (body %q)", k, got, want, body)
		}
	}
}
