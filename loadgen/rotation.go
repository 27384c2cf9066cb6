package loadgen

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
)

// Token is a credential a Rotation sends, with a tag its request shapes
// can refer to as "{tag}" (the token's project ID, say).
type Token struct {
	Secret string
	Tag    string
}

// Shape is a request pattern. In Path, in header values and in Body,
// "{tag}" is replaced by the token's tag and "{n}" by the lap number (how
// many times the rotation has gone through all its tokens), so that a
// token's consecutive requests differ the way a paginating client's do.
type Shape struct {
	Method string
	Path   string // starts with "/"; may carry a query
	Header http.Header
	Body   string
}

// Rotation builds requests that cycle through tokens and shapes: request n
// carries token n mod len(Tokens) and, on lap n / len(Tokens), shape
// lap mod len(Shapes). Consecutive requests therefore come from different
// tokens, and each token moves through the shapes lap by lap.
type Rotation struct {
	// Target is the base URL (scheme and host; loopback only).
	Target string
	// TokenHeader carries the token (default "PRIVATE-TOKEN"); tokens
	// are sent as they are, so "Authorization" needs "Bearer " in the
	// secret.
	TokenHeader string
	Tokens      []Token
	Shapes      []Shape
	// Pages, if positive, makes "{n}" count laps modulo Pages, so that
	// each token sends at most Pages × len(Shapes) distinct requests, as a
	// client polling the same few pages does. Zero leaves "{n}" growing
	// without bound: every lap is new, as a crawler's is.
	Pages uint64
}

// Func validates the rotation and returns its RequestFunc.
func (r Rotation) Func() (RequestFunc, error) {
	const op = "loadgen.Rotation"
	if err := CheckLoopback(r.Target); err != nil {
		return nil, botgate.E(op, err)
	}
	if len(r.Tokens) == 0 || len(r.Shapes) == 0 {
		return nil, botgate.E(op, botgate.Invalid("rotation", "a rotation needs at least one token and one shape"))
	}
	header := http.CanonicalHeaderKey(r.TokenHeader)
	if header == "" {
		header = "Private-Token"
	}
	base := strings.TrimSuffix(r.Target, "/")
	r.Shapes = append([]Shape(nil), r.Shapes...) // defaults go into a copy
	for i, s := range r.Shapes {
		if !strings.HasPrefix(s.Path, "/") {
			return nil, botgate.E(op, botgate.Invalid("path", "shape %d: the path %q must start with /", i, s.Path))
		}
		if s.Method == "" {
			r.Shapes[i].Method = http.MethodGet
		}
	}
	tokens, shapes := uint64(len(r.Tokens)), uint64(len(r.Shapes))
	return func(n uint64) (*http.Request, error) {
		tok := r.Tokens[n%tokens]
		lap := n / tokens
		s := r.Shapes[lap%shapes]
		page := lap
		if r.Pages > 0 {
			page %= r.Pages
		}
		lapStr := strconv.FormatUint(page, 10)
		expand := func(v string) string {
			if strings.IndexByte(v, '{') < 0 {
				return v
			}
			v = strings.ReplaceAll(v, "{tag}", tok.Tag)
			return strings.ReplaceAll(v, "{n}", lapStr)
		}
		var body io.Reader
		if s.Body != "" {
			body = bytes.NewReader([]byte(expand(s.Body)))
		}
		req, err := http.NewRequest(s.Method, base+expand(s.Path), body)
		if err != nil {
			return nil, botgate.E(op, botgate.Invalid("path", "request %d: %v", n, err))
		}
		for k, vs := range s.Header {
			for _, v := range vs {
				req.Header.Add(k, expand(v))
			}
		}
		if tok.Secret != "" {
			req.Header[header] = []string{tok.Secret}
		}
		return req, nil
	}, nil
}
