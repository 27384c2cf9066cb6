// Package outage plays network outages in tests: a TCP forwarder in front
// of a real server (PostgreSQL, Redis) that a test can cut and restore on
// the same address.
package outage

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections on a loopback address to a target until cut.
type Proxy struct {
	t      testing.TB
	target string

	mu    sync.Mutex
	ln    net.Listener
	addr  string
	conns []net.Conn
}

// New starts a Proxy to target on a free loopback port; the test's cleanup
// cuts it.
func New(t testing.TB, target string) *Proxy {
	p := &Proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.Cut)
	return p
}

// Addr is the address clients dial ("127.0.0.1:port"). It stays the same
// across Cut and Restore.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Cut closes the listener and every forwarded connection: the server looks
// gone.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore listens again on the same address.
func (p *Proxy) Restore() { p.listen(p.Addr()) }

func (p *Proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("outage proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}
