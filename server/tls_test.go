package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/botgate/botgate/internal/testcert"
)

// TestTLSServesAndReloadsOnSIGHUP serves the API and the proxy over TLS
// with a generated certificate, replaces the files with another and sends
// SIGHUP: new connections get the new certificate.
func TestTLSServesAndReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := testcert.Write(t, dir, "first")
	s := newTestServerWith(t, func(c *Config) { c.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile} })
	ctx, cancel := context.WithCancel(context.Background())
	done := runServer(ctx, s)
	defer func() {
		cancel()
		if err := wait(t, done); err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	}()

	// served returns the certificate addr presents, trusting only want.
	served := func(addr, path string, want *x509.Certificate) (*x509.Certificate, int, error) {
		pool := x509.NewCertPool()
		pool.AddCert(want)
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
		resp, err := c.Get("https://" + addr + path)
		if err != nil {
			return nil, 0, err
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0], resp.StatusCode, nil
	}
	for _, l := range []struct {
		name, addr, path string
		want             int
	}{
		{"API", s.Addr().String(), "/-/health", http.StatusOK},
		{"proxy", s.ProxyAddr().String(), "/api/v4/user", http.StatusUnauthorized},
	} {
		got, status, err := served(l.addr, l.path, first)
		if err != nil {
			t.Fatalf("%s over TLS: %v", l.name, err)
		}
		if got.Subject.CommonName != "first" || status != l.want {
			t.Errorf("%s: certificate %q, status %d; want %q, %d", l.name, got.Subject.CommonName, status, "first", l.want)
		}
	}
	if resp, err := http.Get("http://" + s.Addr().String() + "/-/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API also answered plain HTTP")
		}
	}

	// A broken file on SIGHUP keeps the certificate in use.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadTLS(); err == nil {
		t.Error("ReloadTLS accepted a broken certificate file")
	}
	if got, _, err := served(s.Addr().String(), "/-/health", first); err != nil || got.Subject.CommonName != "first" {
		t.Fatalf("after a failed reload: %v, %v", got, err)
	}

	newCert, newKey, second := testcert.Write(t, dir, "second")
	for from, to := range map[string]string{newCert: certFile, newKey: keyFile} {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _, err := served(s.Addr().String(), "/-/health", second)
		if err == nil && got.Subject.CommonName == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not present the new certificate after SIGHUP: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTLSNeedsBothFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := testcert.Write(t, dir, "only")
	cfg := Config{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", TLS: TLSConfig{CertFile: certFile}}
	if _, err := New(context.Background(), cfg, nil); err == nil {
		t.Fatal("New accepted a certificate without its key")
	}
}
