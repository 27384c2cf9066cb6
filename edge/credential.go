package edge

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/botgate/botgate"
)

// DefaultMaxTokenLen is the longest credential accepted by default.
const DefaultMaxTokenLen = 512

// Canonical header names, as net/http stores received headers.
const (
	headerPrivateToken = "Private-Token"
	headerJobToken     = "Job-Token"
	headerAuth         = "Authorization"
)

// CredentialHeaders are the request headers that may carry a credential;
// whoever forwards a request strips them.
var CredentialHeaders = []string{headerPrivateToken, headerAuth, headerJobToken}

// tokenParams are the query parameters GitLab takes a token from.
var tokenParams = []string{"private_token", "access_token", "job_token"}

// CredentialOptions say where a credential may come from.
type CredentialOptions struct {
	// AllowQuery accepts a token in the query (private_token, access_token,
	// job_token), as GitLab's API does. When false, a token there is
	// refused: URLs end up in logs.
	AllowQuery bool
	// MaxLen is the longest token accepted (default DefaultMaxTokenLen).
	MaxLen int
}

// ErrNoCredential is the answer to a request without a credential.
var ErrNoCredential = &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenUnknown}

// Credential returns the token presented with a request: in PRIVATE-TOKEN,
// Authorization (Bearer, or Basic with the token as the password, as git
// sends it), JOB-TOKEN and, if allowed, the query. One rule for every
// edge: the same token may be presented in several places, but two
// different ones, an overlong one, a malformed Authorization header or a
// token in the query when not allowed are refused (KindUnauthenticated,
// ReasonTokenMalformed, with the reason in the message). A request with
// none answers ErrNoCredential.
func Credential(h http.Header, rawQuery string, o CredentialOptions) (string, error) {
	maxLen := o.MaxLen
	if maxLen <= 0 {
		maxLen = DefaultMaxTokenLen
	}
	var found string
	add := func(v string) error {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil
		}
		if len(v) > maxLen {
			return malformed("the token is longer than any botgate token")
		}
		if found != "" && subtle.ConstantTimeCompare([]byte(found), []byte(v)) != 1 {
			return malformed("several different tokens were presented")
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
		cred, err := authorizationToken(v)
		if err != nil {
			return "", err
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
	if HasQueryToken(rawQuery) {
		if !o.AllowQuery {
			return "", malformed("tokens in the URL are refused (they end up in logs): send it in the PRIVATE-TOKEN or Authorization header")
		}
		for v := range queryTokens(rawQuery) {
			if err := add(v); err != nil {
				return "", err
			}
		}
	}
	if found == "" {
		return "", ErrNoCredential
	}
	return found, nil
}

// authorizationToken returns the token of an Authorization header value.
func authorizationToken(v string) (string, error) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	switch {
	case ok && strings.EqualFold(scheme, "Bearer"):
		return cred, nil
	case ok && strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		_, pass, hasPass := strings.Cut(string(raw), ":")
		if err != nil || !hasPass {
			return "", malformed("the Basic credentials are not user:token in base64")
		}
		return pass, nil
	}
	return "", malformed("use Authorization: Bearer <token>")
}

func malformed(msg string) error {
	return &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed, Message: msg}
}

// IsTokenParam reports whether a raw query parameter name is one GitLab
// takes a token from, however it is escaped or capitalised and with any
// bracket suffix a framework would read as the same parameter
// (private_token[]=, private_token[x]=).
func IsTokenParam(name string) bool {
	name = paramName(name)
	for _, p := range tokenParams {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// paramName returns the name a framework reads from a raw query parameter
// name: unescaped, without a bracket suffix or surrounding spaces.
func paramName(raw string) string {
	if strings.ContainsAny(raw, "%+") {
		if n, err := url.QueryUnescape(raw); err == nil {
			raw = n
		}
	}
	if i := strings.IndexByte(raw, '['); i >= 0 {
		raw = raw[:i]
	}
	return strings.TrimSpace(raw)
}

// cutParam splits a raw query at its first parameter separator ('&' or
// ';', which some servers also accept).
func cutParam(raw string) (param, rest string) {
	if i := strings.IndexAny(raw, "&;"); i >= 0 {
		return raw[:i], raw[i+1:]
	}
	return raw, ""
}

// queryTokens yields the decoded values of the raw query's token
// parameters.
func queryTokens(rawQuery string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for rest := rawQuery; rest != ""; {
			var p string
			p, rest = cutParam(rest)
			name, v, _ := strings.Cut(p, "=")
			if !IsTokenParam(name) {
				continue
			}
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			if !yield(v) {
				return
			}
		}
	}
}

// HasQueryToken reports whether the raw query has a token parameter.
func HasQueryToken(rawQuery string) bool {
	for range queryTokens(rawQuery) {
		return true
	}
	return false
}

// StripQueryTokens removes the token parameters from a raw query, leaving
// the rest untouched; what a forwarded request keeps.
func StripQueryTokens(rawQuery string) string {
	if !HasQueryToken(rawQuery) {
		return rawQuery
	}
	var kept []string
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, _, _ := strings.Cut(p, "=")
		if !IsTokenParam(name) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}

// RedactQuery returns a raw query for a log line: the values of token
// parameters (and of "token", which /admin/token takes) replaced, the rest
// as sent. It never parses and re-encodes, so that no spelling of a
// credential parameter slips through a parser that reads it differently.
func RedactQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var b strings.Builder
	first := true
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, v, hasValue := strings.Cut(p, "=")
		if !first {
			b.WriteByte('&')
		}
		first = false
		if hasValue && (IsTokenParam(name) || strings.EqualFold(paramName(name), "token") || looksSecret(v)) {
			b.WriteString(name)
			b.WriteString("=[REDACTED]")
			continue
		}
		b.WriteString(p)
	}
	return b.String()
}

// looksSecret reports whether a raw query value holds something shaped
// like a botgate (or GitLab) token, whatever parameter carries it.
func looksSecret(v string) bool {
	if strings.ContainsAny(v, "%+") {
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
	}
	return strings.Contains(strings.ToLower(v), "glpat-")
}
