package gateway

import (
	"net/http"
	"testing"
)

// TestHeaderNamesCanonical checks that every header name the hot path
// looks up directly in the header map (headerValue, h[name]) is in the
// canonical form net/http stores received headers in: a name that is not
// would never be found.
func TestHeaderNamesCanonical(t *testing.T) {
	for _, name := range []string{
		headerUserAgent,
		headerOriginalMethod, headerOriginalURI, headerOriginalHost, headerOriginalContentLength,
		headerForwardedMethod, headerForwardedURI, headerForwardedHost,
		HeaderUser, HeaderTokenID, HeaderAutomation, HeaderScopes,
	} {
		t.Run(name, func(t *testing.T) {
			if c := http.CanonicalHeaderKey(name); c != name {
				t.Fatalf("%q is not canonical: net/http stores it as %q", name, c)
			}
		})
	}
}

// TestHeaderValue checks headerValue against Header.Get on headers as a
// server receives them, whatever case the client wrote them in.
func TestHeaderValue(t *testing.T) {
	tests := []struct {
		name string
		set  func(http.Header)
		key  string
		want string
	}{
		{"absent", func(http.Header) {}, headerOriginalURI, ""},
		{"written in lower case", func(h http.Header) { h.Add("x-original-uri", "/a") }, headerOriginalURI, "/a"},
		{"written as nginx does", func(h http.Header) { h.Add("X-Original-URI", "/b") }, headerOriginalURI, "/b"},
		{"several values: the first", func(h http.Header) { h.Add("X-Real-IP", "192.0.2.1"); h.Add("X-Real-IP", "192.0.2.2") }, "X-Real-Ip", "192.0.2.1"},
		{"empty value", func(h http.Header) { h["User-Agent"] = []string{} }, headerUserAgent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.set(h)
			if got, want := headerValue(h, tt.key), h.Get(tt.key); got != tt.want || got != want {
				t.Fatalf("headerValue = %q, Header.Get = %q, want %q", got, want, tt.want)
			}
		})
	}
}
