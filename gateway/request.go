package gateway

import (
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
)

// original is the request a decision is about.
type original struct {
	method    string
	path      string // escaped
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
	headerPrivateToken          = "Private-Token"
	headerJobToken              = "Job-Token"
	headerAuth                  = "Authorization"
	headerUserAgent             = "User-Agent"
	headerOriginalMethod        = "X-Original-Method"
	headerOriginalURI           = "X-Original-Uri"
	headerOriginalHost          = "X-Original-Host"
	headerOriginalContentLength = "X-Original-Content-Length"
	headerForwardedMethod       = "X-Forwarded-Method"
	headerForwardedURI          = "X-Forwarded-Uri"
	headerForwardedHost         = "X-Forwarded-Host"
	headerForwardedFor          = "X-Forwarded-For"
	headerRealIP                = "X-Real-Ip"

	HeaderUser       = "X-Botgate-User"
	HeaderTokenID    = "X-Botgate-Token-Id"
	HeaderAutomation = "X-Botgate-Automation"
	HeaderScopes     = "X-Botgate-Scopes"
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

// queryTokenParams are the query parameters GitLab takes a token from.
var queryTokenParams = []string{"private_token", "access_token", "job_token"}

// errNoToken is the answer to a request without credentials.
var errNoToken = &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenUnknown, Message: "401 Unauthorized"}

// tokenOf extracts the caller's token from PRIVATE-TOKEN, Authorization:
// Bearer (or Basic, the token as the password, as git sends it) or
// JOB-TOKEN (and, if allowed, the query). Several different
// tokens, an overlong one, or one in the query when not allowed are
// refused.
func tokenOf(h http.Header, rawQuery string, c *compiled) (string, error) {
	var found string
	add := func(v string) error {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil
		}
		if len(v) > c.maxTokenLen {
			return &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed, Message: "401 Unauthorized"}
		}
		if found != "" && subtle.ConstantTimeCompare([]byte(found), []byte(v)) != 1 {
			return &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed,
				Message: "401 Unauthorized - several different tokens were presented"}
		}
		found = v
		return nil
	}
	for _, v := range h[headerPrivateToken] {
		if err := add(v); err != nil {
			return "", err
		}
	}
	for _, v := range h[headerAuth] {
		scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
		switch {
		case ok && strings.EqualFold(scheme, "Bearer"):
		case ok && strings.EqualFold(scheme, "Basic"):
			// Git over HTTPS sends the token as the password, as GitLab
			// accepts it.
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
			_, pass, hasPass := strings.Cut(string(raw), ":")
			if err != nil || !hasPass {
				return "", &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed, Message: "401 Unauthorized"}
			}
			cred = pass
		default:
			return "", &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed,
				Message: "401 Unauthorized - use Authorization: Bearer <token>"}
		}
		if err := add(cred); err != nil {
			return "", err
		}
	}
	for _, v := range h[headerJobToken] {
		if err := add(v); err != nil {
			return "", err
		}
	}
	if hasQueryToken(rawQuery) {
		if !c.allowQueryToken {
			return "", &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed,
				Message: "401 Unauthorized - tokens in the URL are refused (they end up in logs): send it in the PRIVATE-TOKEN or Authorization header"}
		}
		for _, v := range queryTokens(rawQuery) {
			if err := add(v); err != nil {
				return "", err
			}
		}
	}
	if found == "" {
		return "", errNoToken
	}
	return found, nil
}

// isTokenParam reports whether a raw query parameter name is one GitLab
// takes a token from, however it is escaped or capitalised.
func isTokenParam(name string) bool {
	if strings.ContainsAny(name, "%+") {
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
	}
	for _, p := range queryTokenParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// cutParam splits a raw query at its first parameter separator ('&' or
// ';', which some servers also accept).
func cutParam(raw string) (param, rest string) {
	if i := strings.IndexAny(raw, "&;"); i >= 0 {
		return raw[:i], raw[i+1:]
	}
	return raw, ""
}

// queryTokens returns the values of the raw query's token parameters.
func queryTokens(rawQuery string) (values []string) {
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, v, _ := strings.Cut(p, "=")
		if !isTokenParam(name) {
			continue
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		values = append(values, v)
	}
	return values
}

// hasQueryToken reports whether the raw query has a token parameter.
func hasQueryToken(rawQuery string) bool {
	if rawQuery == "" {
		return false
	}
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, _, _ := strings.Cut(p, "=")
		if isTokenParam(name) {
			return true
		}
	}
	return false
}

// stripQueryTokens removes the token parameters from a raw query, leaving
// the rest untouched.
func stripQueryTokens(rawQuery string) string {
	if !hasQueryToken(rawQuery) {
		return rawQuery
	}
	var kept []string
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, _, _ := strings.Cut(p, "=")
		if !isTokenParam(name) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}

// clientIP returns the client's address: the peer's, unless the peer is a
// trusted proxy, in which case the rightmost untrusted X-Forwarded-For
// entry (or X-Real-IP). trusted reports whether the peer is a trusted
// proxy, whose X-Forwarded-* headers the proxy passes on.
func clientIP(remoteAddr string, h http.Header, c *compiled) (ip string, trusted bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host, false
	}
	if len(c.trusted) == 0 || !c.trustedPeer(peer) {
		if peer.Is4In6() || peer.Zone() != "" {
			return peer.Unmap().WithZone("").String(), false
		}
		return host, false
	}
	peer = peer.Unmap()
	xff := h[headerForwardedFor]
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return peer.String(), true // malformed: believe nothing further
			}
			a = a.Unmap()
			if !c.trustedPeer(a) {
				return a.String(), true
			}
			peer = a
		}
	}
	if rip := headerValue(h, headerRealIP); rip != "" {
		if a, err := netip.ParseAddr(strings.TrimSpace(rip)); err == nil {
			return a.Unmap().String(), true
		}
	}
	return peer.String(), true
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
		o.path = strings.TrimPrefix(r.URL.EscapedPath(), c.envoyPrefix)
		if o.path == "" {
			o.path = "/"
		}
		o.rawQuery = r.URL.RawQuery
	default:
		return o, botgate.Invalid("request", "the forward-auth request does not say which request it is about: "+
			"send X-Original-Method and X-Original-URI (nginx), X-Forwarded-Method and X-Forwarded-Uri (Traefik), "+
			"or use the Envoy prefix %s", c.envoyPrefix)
	}
	if !validMethod(o.method) {
		return o, botgate.Invalid("method", "the original method is not a valid HTTP method")
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

// validMethod reports whether m is an HTTP token of at most 16 bytes.
func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
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
