package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is one issuer's published signing keys (its JWKS), cached. A token
// whose key ID is not among them makes the set refetch the JWKS (the
// issuer rotated its keys), at most once per minRefresh: a stream of tokens
// with made-up key IDs cannot turn into a stream of requests to the issuer.
// A token whose key is known but whose signature does not verify never
// causes a fetch. It implements go-oidc's KeySet.
type keySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // zero: never fetched
	fetching  chan struct{}
	fetchErr  error
}

// errUnknownKey is returned for a key ID the issuer does not publish.
var errUnknownKey = errors.New("unknown key")

// VerifySignature verifies the compact JWS against the cached keys,
// refetching them once (rate-limited) for an unknown key ID, and returns
// its payload.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, asymmetricAlgs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("the token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := k.current(ctx, kid)
	if err != nil {
		return nil, err
	}
	found := false
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		found = true
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, nil
		}
	}
	if !found {
		return nil, fmt.Errorf("%w %q: the issuer does not publish it", errUnknownKey, kid)
	}
	return nil, errors.New("the signature does not verify with the issuer's key")
}

// current returns the keys to try for kid: the cache, refreshed first if
// it is empty, or if kid is not in it and the last fetch is older than
// minRefresh.
func (k *keySet) current(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	known := k.fetchedAt != (time.Time{}) && (kid == "" || hasKey(k.keys, kid))
	stale := k.fetchedAt == (time.Time{}) || k.now().Sub(k.fetchedAt) >= k.minRefresh
	if known || !stale {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	wait := k.fetching
	if wait == nil {
		wait = make(chan struct{})
		k.fetching = wait
		go k.fetch(wait)
	}
	k.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait:
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fetchErr != nil && len(k.keys) == 0 {
		return nil, k.fetchErr
	}
	return k.keys, nil
}

func hasKey(keys []jose.JSONWebKey, kid string) bool {
	for i := range keys {
		if keys[i].KeyID == kid {
			return true
		}
	}
	return false
}

// fetch downloads the JWKS once, for everyone waiting on done. A failed
// fetch keeps the old keys and still counts against minRefresh.
func (k *keySet) fetch(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := k.download(ctx)
	k.mu.Lock()
	k.fetchedAt, k.fetchErr, k.fetching = k.now(), err, nil
	if err == nil {
		k.keys = keys
	}
	k.mu.Unlock()
	close(done)
}

// maxJWKS bounds the JWKS document read.
const maxJWKS = 1 << 20

func (k *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the issuer's keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return nil, fmt.Errorf("reading the issuer's keys: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the issuer's keys: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("the issuer's keys are not a JWKS: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		// Only public keys: a JWKS that publishes a symmetric or private
		// key is broken, and such a key must never verify anything.
		if key.Valid() && key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
