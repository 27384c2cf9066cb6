package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/botgate/botgate"
)

// Canonical names of the headers that carry a client's address.
const (
	headerForwardedFor = "X-Forwarded-For"
	headerRealIP       = "X-Real-Ip"
)

// ClientAddressHeaders are the headers by which a client, or a proxy in
// front, may claim an address. A forwarding gateway drops every one a
// client sent and sets its own (X-Forwarded-For is passed on only from a
// trusted proxy).
var ClientAddressHeaders = []string{
	"X-Real-Ip", "True-Client-Ip", "X-Client-Ip", "Cf-Connecting-Ip", "Fastly-Client-Ip",
	"X-Cluster-Client-Ip", "X-Forwarded", "Forwarded-For", "Forwarded",
}

// Trust is the one list of reverse proxies whose X-Forwarded-For (and
// X-Real-IP) headers are believed, shared by the API and the gateway.
// The zero Trust believes nobody.
type Trust struct {
	prefixes []netip.Prefix
}

// ParseTrust parses addresses and CIDR prefixes ("10.0.0.5",
// "10.0.0.0/8", "::1"). Errors are KindInvalid and name the entry.
func ParseTrust(entries []string) (Trust, error) {
	var t Trust
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(e, "/") {
			p, err = netip.ParsePrefix(e)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(e); err == nil {
				a = a.Unmap()
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return Trust{}, botgate.Invalid("trusted_proxies", "trusted proxy %q is neither an address nor a CIDR prefix such as 10.0.0.0/8", e)
		}
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t, nil
}

// TrustPrefixes returns a Trust of already parsed prefixes.
func TrustPrefixes(ps ...netip.Prefix) Trust {
	t := Trust{}
	for _, p := range ps {
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t
}

// Merge returns the union of two lists.
func (t Trust) Merge(o Trust) Trust {
	return Trust{prefixes: append(append([]netip.Prefix(nil), t.prefixes...), o.prefixes...)}
}

// Empty reports whether nobody is trusted.
func (t Trust) Empty() bool { return len(t.prefixes) == 0 }

// Prefixes returns the trusted prefixes.
func (t Trust) Prefixes() []netip.Prefix { return append([]netip.Prefix(nil), t.prefixes...) }

// Trusted reports whether a is a trusted proxy.
func (t Trust) Trusted(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address: the peer's, unless the peer is a
// trusted proxy, in which case the rightmost X-Forwarded-For entry that is
// not a trusted proxy (or, without X-Forwarded-For, X-Real-IP). A
// malformed entry stops the walk: nothing to its left is believed.
// fromProxy reports whether the peer is a trusted proxy, whose
// X-Forwarded-* headers may be passed on.
func (t Trust) ClientIP(remoteAddr string, h http.Header) (ip string, fromProxy bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host, false
	}
	peer = peer.Unmap().WithZone("")
	if len(t.prefixes) == 0 || !t.Trusted(peer) {
		return peer.String(), false
	}
	xff := h[headerForwardedFor]
	for i := len(xff) - 1; i >= 0; i-- {
		hops := xff[i]
		for hops != "" {
			var hop string
			if j := strings.LastIndexByte(hops, ','); j >= 0 {
				hop, hops = hops[j+1:], hops[:j]
			} else {
				hop, hops = hops, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return peer.String(), true // malformed: believe nothing further
			}
			a = a.Unmap().WithZone("")
			if !t.Trusted(a) {
				return a.String(), true
			}
			peer = a
		}
	}
	if len(xff) == 0 {
		if v := h[headerRealIP]; len(v) > 0 {
			if a, err := netip.ParseAddr(strings.TrimSpace(v[0])); err == nil {
				return a.Unmap().WithZone("").String(), true
			}
		}
	}
	return peer.String(), true
}
