package authority_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/tokenfmt"
)

// looseStore wraps the real store so that TokenByDigest answers with one
// fixed token's row whatever digest it is asked for: a store whose index
// matched loosely.
type looseStore struct {
	botgate.Store
	digest []byte // the row every lookup finds
}

func (s looseStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	return s.Store.View(ctx, func(tx botgate.Tx) error { return fn(looseTx{tx, s.digest}) })
}

type looseTx struct {
	botgate.Tx
	digest []byte
}

func (t looseTx) TokenByDigest(ctx context.Context, _ []byte) (*botgate.Token, error) {
	return t.Tx.TokenByDigest(ctx, t.digest)
}

// TestAuthenticateRefusesLooseMatch checks that a row the store returns for
// another digest never authenticates, neither when loaded nor when the
// answer is served from the cache, while the row's own token still does.
func TestAuthenticateRefusesLooseMatch(t *testing.T) {
	e := newEnv(t)
	d, err := tokenfmt.NewDigester(pepper)
	if err != nil {
		t.Fatal(err)
	}
	real := d.Digest(e.secret)
	svc, err := authority.New(authority.Config{Store: looseStore{Store: e.store, digest: real[:]}, Pepper: pepper, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	forged, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: 1})
	if err != nil {
		t.Fatal(err)
	}
	meta := authority.RequestMeta{IP: "192.0.2.9", UserAgent: "test/1.0"}
	tests := []struct {
		name   string
		secret string
		want   botgate.Reason // "": authenticated
	}{
		{"unknown token, loaded", forged, botgate.ReasonTokenUnknown},
		{"unknown token, cached", forged, botgate.ReasonTokenUnknown},
		{"the row's own token", e.secret, ""},
		{"the row's own token, cached", e.secret, ""},
		{"unknown token after the real one is cached", forged, botgate.ReasonTokenUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := svc.Authenticate(e.ctx, tt.secret, meta)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if id.User.Username != "root" {
					t.Fatalf("authenticated as %q, want root", id.User.Username)
				}
				return
			}
			if id != nil || !botgate.IsKind(err, botgate.KindUnauthenticated) || botgate.ReasonOf(err) != tt.want {
				t.Fatalf("Authenticate = %v, %v (reason %q), want an error with reason %q", id, err, botgate.ReasonOf(err), tt.want)
			}
		})
	}
}
