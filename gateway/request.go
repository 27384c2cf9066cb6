package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// original is the request a decision is about.
type original struct {
	method    string
	path      string // escaped, as received; decide works on its canonical form
	rawQuery  string
	host      string
	token     string
	ip        string
	userAgent string
	body      []byte // the first bytes of the body, for the loop breaker
	bodyLen   int64  // the body's length if longer than body, else -1
}

// Header names. The unexported ones are in canonical form
// (textproto.CanonicalMIMEHeaderKey), as net/http stores received headers,
// so that the hot path can index the header map directly (headerValue).
const (
	headerUserAgent             = "User-Agent"
	headerOriginalMethod        = "X-Original-Method"
	headerOriginalURI           = "X-Original-Uri"
	headerOriginalHost          = "X-Original-Host"
	headerOriginalContentLength = "X-Original-Content-Length"
	headerForwardedMethod       = "X-Forwarded-Method"
	headerForwardedURI          = "X-Forwarded-Uri"
	headerForwardedHost         = "X-Forwarded-Host"

	HeaderUser       = "X-Botgate-User"
	HeaderTokenID    = "X-Botgate-Token-Id"
	HeaderAutomation = "X-Botgate-Automation"
	HeaderScopes     = "X-Botgate-Scopes"
	// HeaderError carries a forward-auth refusal's JSON body, the same
	// as the response's body, on one line of ASCII: for proxies that
	// drop the auth response's body (nginx auth_request) and must
	// rebuild it for the client.
	HeaderError = "X-Botgate-Error"
	// HeaderShadow is on a response the gateway let through in shadow mode
	// although its rate limit or loop breaker would have refused it; its
	// value is the reason: rate_limit or loop.
	HeaderShadow = "X-Botgate-Shadow"
)

// headerValue returns the first value of the header named by key, which
// must be canonical: what Header.Get returns, without canonicalising the
// key again on every call.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// forwardAuthOriginal reads the original request of a forward-auth call:
// nginx auth_request (X-Original-Method, X-Original-URI), Traefik
// ForwardAuth (X-Forwarded-Method, X-Forwarded-Uri, X-Forwarded-Host) or
// Envoy ext_authz HTTP (the request's own method and path below the Envoy
// prefix).
func forwardAuthOriginal(r *http.Request, c *compiled) (original, error) {
	h := r.Header
	o := original{host: r.Host, userAgent: headerValue(h, headerUserAgent), bodyLen: -1}
	nginxURI, traefikURI := headerValue(h, headerOriginalURI), ""
	if nginxURI == "" {
		traefikURI = headerValue(h, headerForwardedURI)
	}
	switch {
	case nginxURI != "":
		o.method = headerValue(h, headerOriginalMethod)
		if o.method == "" {
			o.method = r.Method
		}
		if v := headerValue(h, headerOriginalHost); v != "" {
			o.host = v
		} else if v := headerValue(h, headerForwardedHost); v != "" {
			o.host = v
		}
		if err := setURI(&o, nginxURI); err != nil {
			return o, err
		}
	case traefikURI != "":
		o.method = headerValue(h, headerForwardedMethod)
		if o.method == "" {
			o.method = r.Method
		}
		if v := headerValue(h, headerForwardedHost); v != "" {
			o.host = v
		}
		if err := setURI(&o, traefikURI); err != nil {
			return o, err
		}
	case strings.HasPrefix(r.URL.Path, c.envoyPrefix+"/") || r.URL.Path == c.envoyPrefix:
		o.method = r.Method
		o.path = requestPath(r)
		if len(o.path) >= len(c.envoyPrefix) && strings.EqualFold(o.path[:len(c.envoyPrefix)], c.envoyPrefix) {
			o.path = o.path[len(c.envoyPrefix):]
		} else {
			o.path = strings.TrimPrefix(r.URL.EscapedPath(), c.envoyPrefix)
		}
		if o.path == "" {
			o.path = "/"
		}
		o.rawQuery = r.URL.RawQuery
	default:
		return o, botgate.Invalid("request", "the forward-auth request does not say which request it is about: "+
			"send X-Original-Method and X-Original-URI (nginx), X-Forwarded-Method and X-Forwarded-Uri (Traefik), "+
			"or use the Envoy prefix %s", c.envoyPrefix)
	}
	if err := edge.Method(o.method, h, o.rawQuery); err != nil {
		return o, err
	}
	// nginx and Traefik do not send the body; its length, when the proxy
	// passes it, still tells different writes apart for the loop breaker.
	if v := headerValue(h, headerOriginalContentLength); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			o.bodyLen = n
		}
	}
	return o, nil
}

// setURI splits a request URI into the escaped path and the raw query.
func setURI(o *original, uri string) error {
	if !strings.HasPrefix(uri, "/") || strings.ContainsAny(uri, " \t\r\n") {
		return botgate.Invalid("uri", "the original URI must be an absolute path")
	}
	path, query, _ := strings.Cut(uri, "?")
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	o.path, o.rawQuery = path, query
	return nil
}

// setBody records the body's first bytes for the loop breaker: all of it
// if it is complete, else the first limit bytes and the body's length
// (-2 if unknown), so that long bodies that differ only after the prefix
// still differ when their lengths do.
func (o *original) setBody(head []byte, complete bool, contentLength int64, limit int) {
	if complete {
		o.body, o.bodyLen = head, -1
		return
	}
	o.body = head[:min(len(head), limit)]
	o.bodyLen = contentLength
	if o.bodyLen < 0 {
		o.bodyLen = -2
	}
}
