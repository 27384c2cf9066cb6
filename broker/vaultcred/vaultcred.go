// Package vaultcred is the gateway's source of upstream credentials held
// in the vault: it resolves "vault:<group-path>/<name>" references, reading
// them under the vault's rules, and keeps values briefly in memory so that
// proxied requests do not each write an audit event.
package vaultcred

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
)

// AutomationPlaceholder in a vault reference stands for the calling
// token's automation label, so that one route injects each automation's
// own upstream token: "vault:platform/upstream-{automation}".
const AutomationPlaceholder = "{automation}"

// Source is the gateway's credential source for "vault:"
// references (plug it in as gateway.ConfigCredentials.Next):
//
//   - "vault:<group-path>/<name>" is a route's own upstream credential,
//     configured by whoever configures the gateway; botgate reads it as
//     itself.
//   - "vault:<group-path>/<prefix>{automation}<suffix>" is the calling
//     automation's own credential; it is read on behalf of the caller, so
//     the vault's rules apply: the secret must be bound to the caller's
//     token (family), which holds read_secret.
//
// Every read from the vault is audited; values are kept in memory for TTL
// so that the proxy does not write an audit event per request.
type Source struct {
	Vault *authority.Vault
	// TTL bounds how long a value is reused (default 1 minute). A rotated
	// upstream token reaches the proxy within TTL; keep the broker's
	// RevokeGrace longer than TTL, so that the replaced token is still
	// valid while it is served from here.
	TTL   time.Duration
	Clock botgate.Clock

	mu      sync.Mutex
	cache   map[cacheKey]cachedValue
	flights map[cacheKey]*flight
}

// maxEntries bounds the cache: one entry per route credential and per
// calling token family.
const maxEntries = 1 << 14

type cacheKey struct {
	ref    string
	family int64 // the caller's token family, for per-automation references
}

type cachedValue struct {
	value string
	until time.Time
}

var _ gateway.CredentialSource = (*Source)(nil)

// Credential implements gateway.CredentialSource.
func (v *Source) Credential(ctx context.Context, r gateway.Route, id *authority.Identity) (string, string, error) {
	const op = "vaultcred.Source"
	if !strings.HasPrefix(r.Credential, botgate.SecretRefPrefix) {
		return "", "", botgate.E(op, botgate.Errorf(botgate.KindNotFound, "route %s: %q is not a vault reference", r.Name, schemeOf(r.Credential)))
	}
	ref, actor, key := r.Credential, authority.SystemActor(), cacheKey{ref: r.Credential}
	if strings.Contains(ref, AutomationPlaceholder) {
		if id == nil || id.Token == nil || id.Token.Automation == "" {
			return "", "", botgate.E(op, botgate.Errorf(botgate.KindForbidden, "route %s injects the caller's own upstream credential, and this token names no automation", r.Name))
		}
		if botgate.ValidateSecretName(id.Token.Automation) != nil {
			return "", "", botgate.E(op, botgate.Errorf(botgate.KindForbidden, "route %s: the token's automation label cannot name a secret", r.Name))
		}
		ref = strings.ReplaceAll(ref, AutomationPlaceholder, id.Token.Automation)
		actor = authority.Actor{User: id.User, Token: id.Token}
		key = cacheKey{ref: ref, family: id.Token.FamilyID}
	}
	now := v.now()
	v.mu.Lock()
	c, ok := v.cache[key]
	if ok && now.Before(c.until) {
		v.mu.Unlock()
		return r.Header, r.Prefix + c.value, nil
	}
	// One vault read (and one audit event) per key at a time: requests
	// arriving while it runs, as they all do when a value expires under
	// load, wait for its answer.
	f, reading := v.flights[key]
	if !reading {
		f = &flight{done: make(chan struct{})}
		if v.flights == nil {
			v.flights = make(map[cacheKey]*flight)
		}
		v.flights[key] = f
	}
	v.mu.Unlock()
	if reading {
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", "", botgate.E(op, ctx.Err())
		}
	} else {
		f.value, f.err = v.read(ctx, actor, ref)
		if f.err == nil {
			v.store(key, f.value, now)
		}
		v.mu.Lock()
		delete(v.flights, key)
		v.mu.Unlock()
		close(f.done)
	}
	if f.err != nil {
		return "", "", botgate.E(op, f.err)
	}
	return r.Header, r.Prefix + f.value, nil
}

// flight is a vault read in progress; value and err are set before done
// is closed.
type flight struct {
	done  chan struct{}
	value string
	err   error
}

// read reads ref from the vault as actor. The read is not cut short by
// the first caller going away, since others may be waiting for it.
func (v *Source) read(ctx context.Context, actor authority.Actor, ref string) (string, error) {
	b, _, err := v.Vault.ReadSecretRef(context.WithoutCancel(ctx), actor, ref)
	if err != nil {
		return "", err
	}
	value := strings.TrimRight(string(b), "\r\n")
	clear(b)
	return value, nil
}

// store keeps value under key for TTL from now, within the cache's bound.
func (v *Source) store(key cacheKey, value string, now time.Time) {
	ttl := v.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		v.cache = make(map[cacheKey]cachedValue)
	}
	if len(v.cache) >= maxEntries {
		// Values of families long gone are not kept for the process's
		// life: drop what expired, and everything if that is not enough.
		for k, c := range v.cache {
			if !now.Before(c.until) {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= maxEntries {
			clear(v.cache)
		}
	}
	v.cache[key] = cachedValue{value: value, until: now.Add(ttl)}
}

// Forget drops every cached value, so that the next request reads the
// vault again (after a rotation, for instance).
func (v *Source) Forget() {
	v.mu.Lock()
	v.cache = nil
	v.mu.Unlock()
}

func (v *Source) now() time.Time {
	if v.Clock != nil {
		return v.Clock.Now()
	}
	return time.Now()
}

func schemeOf(ref string) string {
	s, _, _ := strings.Cut(ref, ":")
	return s
}
