package edge

import (
	"net/http"
	"strings"

	"github.com/botgate/botgate"
)

// MethodOverrideHeaders are the headers by which some servers (Rack's
// MethodOverride, which Rails and so GitLab run, and others) let a POST
// stand for another method. A decision about a POST must not become a
// DELETE upstream, so the gateway refuses them.
var MethodOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// Method checks the method a decision is about: an HTTP token of at most
// 16 upper-case characters (methods are case-sensitive, and a server that
// reads "delete" as DELETE must not slip past a DELETE rule), without a
// method override in the headers or the query (_method). Errors are
// KindInvalid with the reason.
func Method(m string, h http.Header, rawQuery string) error {
	if m == "" || len(m) > 16 {
		return botgate.Invalid("method", "the method is not a valid HTTP method")
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			if 'a' <= c && c <= 'z' {
				return botgate.Invalid("method", "the method %q must be upper-case", m)
			}
			return botgate.Invalid("method", "the method is not a valid HTTP method")
		}
	}
	for _, k := range MethodOverrideHeaders {
		if _, ok := h[k]; ok {
			return botgate.Invalid("method", "method override headers (%s) are refused: send the method itself", k)
		}
	}
	for rest := rawQuery; rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, _, _ := strings.Cut(p, "=")
		if strings.EqualFold(paramName(name), "_method") {
			return botgate.Invalid("method", "a method override in the query (_method) is refused: send the method itself")
		}
	}
	return nil
}

// FormMethodOverride reports whether a form body (as Rack's MethodOverride
// reads it: application/x-www-form-urlencoded) carries _method.
func FormMethodOverride(contentType string, body []byte) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return false
	}
	for rest := string(body); rest != ""; {
		var p string
		p, rest = cutParam(rest)
		name, _, _ := strings.Cut(p, "=")
		if strings.EqualFold(paramName(name), "_method") {
			return true
		}
	}
	return false
}
