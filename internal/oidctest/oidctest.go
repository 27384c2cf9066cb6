// Package oidctest runs a real OIDC issuer for tests: an HTTPS server on
// loopback serving /.well-known/openid-configuration and its JWKS, with
// signing keys generated in the test, that signs tokens (GitLab CI-,
// GitHub Actions- or Kubernetes-shaped) with go-jose.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a running OIDC issuer.
type Issuer struct {
	srv *httptest.Server
	// JWKSFetches counts the requests for the JWKS.
	JWKSFetches atomic.Int64

	mu        sync.Mutex
	keys      map[string]*ecdsa.PrivateKey
	published []string // key IDs in the JWKS
	current   string   // key ID that signs
	next      int
}

// New starts an issuer with one published signing key; it stops when the
// test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{keys: map[string]*ecdsa.PrivateKey{}}
	is.current = is.Rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.URL(), "jwks_uri": is.URL() + "/oauth/discovery/keys",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("GET /oauth/discovery/keys", func(w http.ResponseWriter, r *http.Request) {
		is.JWKSFetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(is.JWKS())
	})
	is.srv = httptest.NewTLSServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// Close stops the issuer's server (an issuer that is down).
func (is *Issuer) Close() { is.srv.Close() }

// URL is the issuer URL (the tokens' iss).
func (is *Issuer) URL() string { return is.srv.URL }

// Certificate is the issuer's TLS certificate, for the verifier's client.
func (is *Issuer) Certificate() *x509.Certificate { return is.srv.Certificate() }

// Client returns an HTTP client that trusts the issuers' certificates.
func Client(issuers ...*Issuer) *http.Client {
	pool := x509.NewCertPool()
	for _, is := range issuers {
		pool.AddCert(is.Certificate())
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// Rotate generates a new key, publishes it next to the old ones and signs
// with it from now on. It returns the key ID.
func (is *Issuer) Rotate(t testing.TB) string {
	t.Helper()
	return is.addKey(t, "key", func(kid string) {
		is.published = append(is.published, kid)
		is.current = kid
	})
}

// Unpublished generates a key the issuer does not publish, for tokens an
// attacker signs; it returns its ID.
func (is *Issuer) Unpublished(t testing.TB) string {
	t.Helper()
	return is.addKey(t, "rogue", func(string) {})
}

// addKey generates a P-256 key with the next ID after prefix, keeps it,
// and calls then with its ID, under the issuer's lock.
func (is *Issuer) addKey(t testing.TB, prefix string, then func(kid string)) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.next++
	kid := fmt.Sprintf("%s-%d", prefix, is.next)
	is.keys[kid] = k
	then(kid)
	return kid
}

// JWKS is the published key set.
func (is *Issuer) JWKS() jose.JSONWebKeySet {
	is.mu.Lock()
	defer is.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, kid := range is.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: is.keys[kid].Public(), KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return set
}

// PublicKeyPEM is the signing key's public half in PEM, what an attacker
// would use as an HMAC secret in an algorithm confusion attack.
func (is *Issuer) PublicKeyPEM(t testing.TB) []byte {
	t.Helper()
	is.mu.Lock()
	defer is.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(is.keys[is.current].Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Sign signs claims with the current key.
func (is *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	kid := is.current
	is.mu.Unlock()
	return is.SignWith(t, kid, claims)
}

// SignWith signs claims with the key kid (ES256), naming kid in the
// header.
func (is *Issuer) SignWith(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	return sign(t, jose.SigningKey{Algorithm: jose.ES256, Key: k}, kid, claims)
}

// SignHS256 signs claims with HMAC-SHA256 keyed by secret, naming kid.
func SignHS256(t testing.TB, secret []byte, kid string, claims map[string]any) string {
	t.Helper()
	return sign(t, jose.SigningKey{Algorithm: jose.HS256, Key: secret}, kid, claims)
}

// Unsigned returns claims as a JWT with alg "none" and no signature.
func Unsigned(t testing.TB, claims map[string]any) string {
	t.Helper()
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(body) + "."
}

func sign(t testing.TB, key jose.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	s, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Compile-time check that the generated keys can sign.
var _ crypto.Signer = (*ecdsa.PrivateKey)(nil)
