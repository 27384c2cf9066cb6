// Package vaultcred is the gateway's source of upstream credentials held
// in the vault: it resolves "vault:<group-path>/<name>" references, reading
// them under the vault's rules, and keeps values briefly in memory so that
// proxied requests do not each write an audit event.
package vaultcred

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/cache"
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

	once  sync.Once
	cache *cache.Cache[cacheKey, string]
}

// maxEntries bounds the cache: one entry per route credential and per
// calling token family.
const maxEntries = 1 << 14

type cacheKey struct {
	ref    string
	family int64 // the caller's token family, for per-automation references
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
	// One vault read (and one audit event) per key at a time: requests
	// arriving while it runs, as they all do when a value expires under
	// load, wait for its answer.
	if value, ok := v.values().Peek(key); ok {
		return r.Header, r.Prefix + value, nil
	}
	value, err := v.values().Get(ctx, key, func(ctx context.Context) (string, error) {
		return v.read(ctx, actor, ref)
	})
	if err != nil {
		return "", "", botgate.E(op, err)
	}
	return r.Header, r.Prefix + value, nil
}

// values returns the cache, made on first use from TTL and Clock.
func (v *Source) values() *cache.Cache[cacheKey, string] {
	v.once.Do(func() {
		ttl := v.TTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		v.cache = cache.New(cache.Config[cacheKey, string]{
			TTL: ttl, MaxEntries: maxEntries, Now: v.now,
			FlightKey: func(k cacheKey) string { return strconv.FormatInt(k.family, 10) + ":" + k.ref },
		})
	})
	return v.cache
}

// read reads ref from the vault as actor. The cache runs it without the
// first caller's cancellation, since others may be waiting for it.
func (v *Source) read(ctx context.Context, actor authority.Actor, ref string) (string, error) {
	b, _, err := v.Vault.ReadSecretRef(ctx, actor, ref)
	if err != nil {
		return "", err
	}
	value := strings.TrimRight(string(b), "\r\n")
	clear(b)
	return value, nil
}

// Forget drops every cached value, so that the next request reads the
// vault again (after a rotation, for instance); a value being read
// meanwhile is used once but not kept.
func (v *Source) Forget() { v.values().Purge() }

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
