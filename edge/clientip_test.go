package edge

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	trust, err := ParseTrust([]string{"127.0.0.1", "10.0.0.0/8", " ", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, remote string
		h            http.Header
		trust        Trust
		want         string
		fromProxy    bool
	}{
		{"NoTrustIgnoresHeaders", "192.0.2.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}, "X-Real-Ip": {"203.0.113.8"}}, Trust{}, "192.0.2.1", false},
		{"UntrustedPeerIgnoresHeaders", "192.0.2.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, trust, "192.0.2.1", false},
		{"TrustedPeerRightmostUntrusted", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"198.51.100.1, 203.0.113.9, 10.1.1.1"}}, trust, "203.0.113.9", true},
		{"SeveralHeaderLines", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9", "10.0.0.2"}}, trust, "203.0.113.9", true},
		{"MalformedStops", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9, junk, 10.0.0.2"}}, trust, "10.0.0.2", true},
		{"AllTrusted", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"10.0.0.3"}}, trust, "10.0.0.3", true},
		{"RealIPWithoutXFF", "127.0.0.1:5000", http.Header{"X-Real-Ip": {"203.0.113.5"}}, trust, "203.0.113.5", true},
		{"RealIPIgnoredWithXFF", "127.0.0.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}, "X-Real-Ip": {"203.0.113.5"}}, trust, "203.0.113.9", true},
		{"MappedIPv4Peer", "[::ffff:127.0.0.1]:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, trust, "203.0.113.9", true},
		{"IPv6Peer", "[::1]:5000", nil, trust, "::1", true},
		{"ZonedPeer", "[fe80::1%eth0]:5000", nil, Trust{}, "fe80::1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, fromProxy := tc.trust.ClientIP(tc.remote, tc.h)
			if got != tc.want || fromProxy != tc.fromProxy {
				t.Fatalf("ClientIP = %q, %v; want %q, %v", got, fromProxy, tc.want, tc.fromProxy)
			}
		})
	}
	if _, err := ParseTrust([]string{"not-an-ip"}); err == nil {
		t.Fatal("ParseTrust accepted not-an-ip")
	}
}
