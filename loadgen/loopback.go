package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/botgate/botgate"
)

// CheckLoopback returns nil if rawURL is an http URL whose host is a
// loopback address (127.0.0.0/8, ::1) or "localhost", and a KindInvalid
// error otherwise. The load generator refuses any other target: it is for
// measuring a process on this machine, not for flooding a network.
func CheckLoopback(rawURL string) error {
	const op = "loadgen.CheckLoopback"
	u, err := url.Parse(rawURL)
	if err != nil {
		return botgate.E(op, botgate.Invalid("target", "the target %q is not a URL", rawURL))
	}
	if u.Scheme != "http" {
		return botgate.E(op, botgate.Invalid("target", "the target must be an http:// URL, not %q", u.Scheme))
	}
	if !loopbackHost(u.Hostname()) {
		return botgate.E(op, botgate.Invalid("target",
			"the target host %q is not a loopback address: the load generator only drives 127.0.0.0/8, ::1 or localhost", u.Hostname()))
	}
	return nil
}

// loopbackHost reports whether host is a loopback IP literal or localhost.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// errNotLoopback is returned by the dialer for a non-loopback address.
var errNotLoopback = botgate.Invalid("target", "the load generator only connects to loopback addresses")

// loopbackDialer returns a DialContext that connects only to loopback
// addresses, whatever a name resolved to: the check runs on the address
// actually dialled. dials is called once per new connection.
func loopbackDialer(dials func()) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		// Control sees the resolved address about to be dialled.
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("loadgen: dialling %q: %w", address, err)
			}
			if a, err := netip.ParseAddr(host); err != nil || !a.Unmap().IsLoopback() {
				return errNotLoopback
			}
			return nil
		},
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil && dials != nil {
			dials()
		}
		return c, err
	}
}
