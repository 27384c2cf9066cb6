package server

import (
	"crypto/tls"
	"fmt"
	"sync"
)

// TLSConfig names the certificate and key files (PEM) the API and the
// proxy serve HTTPS with. Both or neither.
type TLSConfig struct {
	CertFile string
	KeyFile  string
}

// enabled reports whether c names a certificate.
func (c TLSConfig) enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// certificates holds the certificate the listeners present, read again
// from its files by reload (SIGHUP): a renewed certificate is served to
// new connections without a restart.
type certificates struct {
	cfg  TLSConfig
	mu   sync.RWMutex
	cert *tls.Certificate
}

// newCertificates reads the certificate and key.
func newCertificates(cfg TLSConfig) (*certificates, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, fmt.Errorf("TLS needs both a certificate (--tls-cert, tls.cert_file) and its key (--tls-key, tls.key_file)")
	}
	c := &certificates{cfg: cfg}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the files again; on failure the certificate in use stays.
func (c *certificates) reload() error {
	cert, err := tls.LoadX509KeyPair(c.cfg.CertFile, c.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("loading the TLS certificate %s and key %s: %w", c.cfg.CertFile, c.cfg.KeyFile, err)
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

func (c *certificates) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// tlsConfig is the listeners' TLS configuration.
func (c *certificates) tlsConfig() *tls.Config {
	return &tls.Config{GetCertificate: c.get, MinVersion: tls.VersionTLS12}
}

// ReloadTLS reads the TLS certificate and key again (Run does on SIGHUP).
// On failure the certificate in use stays and the error says why. Without
// TLS it does nothing.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.reload()
}
