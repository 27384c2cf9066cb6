package vaultcred_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker/vaultcred"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/vault"
)

// fixture is a vault on a real SQLite store holding one route credential.
func fixture(tb testing.TB) *authority.Vault {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "botgate.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	auth, err := authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { auth.Close() })
	mk, err := vault.NewMasterKey(bytes.Repeat([]byte{9}, vault.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := vault.NewKeyring(rand.Reader, mk)
	if err != nil {
		tb.Fatal(err)
	}
	v := auth.Vault(kr)
	g, err := auth.CreateGroup(ctx, authority.SystemActor(), authority.NewGroup{Name: "Platform", Path: "platform"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := v.PutSecret(ctx, authority.SystemActor(), authority.NewSecret{GroupID: g.ID, Name: "route-cred", Value: []byte("route-credential-value\n")}); err != nil {
		tb.Fatal(err)
	}
	return v
}

var route = gateway.Route{Name: "gitlab", Credential: "vault:platform/route-cred", Header: "Authorization", Prefix: "Bearer "}

func TestRouteCredential(t *testing.T) {
	v := fixture(t)
	src := &vaultcred.Source{Vault: v}
	tests := []struct {
		name   string
		route  gateway.Route
		id     *authority.Identity
		header string
		value  string
		want   botgate.Kind
	}{
		{"route credential, trailing newline trimmed", route, nil, "Authorization", "Bearer route-credential-value", botgate.KindOther},
		{"unknown secret", gateway.Route{Name: "x", Credential: "vault:platform/nope"}, nil, "", "", botgate.KindNotFound},
		{"bad reference", gateway.Route{Name: "x", Credential: "vault:nope"}, nil, "", "", botgate.KindInvalid},
		{"per-automation reference without a token", gateway.Route{Name: "x", Credential: "vault:platform/upstream-{automation}"}, nil, "", "", botgate.KindForbidden},
		{"automation label that is no name", gateway.Route{Name: "x", Credential: "vault:platform/upstream-{automation}"},
			&authority.Identity{User: &botgate.User{ID: 1, State: botgate.UserActive}, Token: &botgate.Token{ID: 1, FamilyID: 1, Automation: "../x"}}, "", "", botgate.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, val, err := src.Credential(context.Background(), tt.route, tt.id)
			if tt.want != botgate.KindOther {
				if !botgate.IsKind(err, tt.want) || val != "" {
					t.Fatalf("Credential = %q, %v (kind %v); want kind %v", val, err, botgate.KindOf(err), tt.want)
				}
				return
			}
			if err != nil || h != tt.header || val != tt.value {
				t.Fatalf("Credential = %q, %q, %v", h, val, err)
			}
		})
	}
}

// BenchmarkCredential compares a cached credential with one read from the
// vault on every request (an audited read, a write transaction).
func BenchmarkCredential(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"vault-read-each-time", time.Nanosecond}} {
		b.Run(bc.name, func(b *testing.B) {
			v := fixture(b)
			src := &vaultcred.Source{Vault: v, TTL: bc.ttl}
			ctx := context.Background()
			for b.Loop() {
				if _, _, err := src.Credential(ctx, route, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
