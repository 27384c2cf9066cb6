package identity_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/identity"
	"github.com/botgate/botgate/internal/identitytest"
	"github.com/botgate/botgate/internal/oidctest"
	"github.com/botgate/botgate/internal/pgtest"
	"github.com/botgate/botgate/server"
)

// benchExchanger opens the prepared installation (SQLite) and returns an
// Exchanger over it, its authority, and a token from one exchange, which
// also fetched and cached the issuer's keys.
func benchExchanger(b *testing.B, store string) (*identitytest.Env, *identity.Exchanger, *authority.Service, string) {
	e, cfg := identitytest.PrepareOn(b, store)
	in, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close() })
	x, err := identity.New(identity.Config{Store: in.Store, Minter: in.Authority, Clock: e.Clock, HTTPClient: oidctest.Client(e.GitLab, e.K8s)})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := x.Exchange(context.Background(), request(e.GitLab.Sign(b, e.GitLabJob("warm-up"))))
	if err != nil {
		b.Fatal(err)
	}
	return e, x, in.Authority, resp.AccessToken
}

func request(subject string) identity.Request {
	return identity.Request{GrantType: identity.GrantTypeTokenExchange, SubjectToken: subject,
		SubjectTokenType: identity.TokenTypeJWT, Audience: "triage"}
}

// BenchmarkExchange is one token exchange with the issuer's keys cached:
// parse and check the JWT, verify its ES256 signature, match the trust
// policy, then record the jti and mint and audit the token in one SQLite
// transaction (after a read of the automation). Each iteration exchanges a distinct identity token (jti),
// signed before the timer starts.
func BenchmarkExchange(b *testing.B) { benchExchange(b, "") }

// BenchmarkExchangePostgres is BenchmarkExchange on PostgreSQL (a schema
// of its own on BOTGATE_TEST_POSTGRES_URL).
func BenchmarkExchangePostgres(b *testing.B) {
	benchExchange(b, pgtest.Schema(b, pgtest.URL(b, "the PostgreSQL exchange benchmark")))
}

func benchExchange(b *testing.B, store string) {
	e, x, _, _ := benchExchanger(b, store)
	subjects := make([]string, b.N)
	for i := range subjects {
		subjects[i] = e.GitLab.Sign(b, e.GitLabJob(fmt.Sprintf("bench-%d", i)))
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := x.Exchange(ctx, request(subjects[i])); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeBaselineAuthenticate is the baseline in the same run:
// authority.Authenticate of a valid (cached) token, what every API and
// gateway request pays.
func BenchmarkExchangeBaselineAuthenticate(b *testing.B) {
	_, _, auth, tok := benchExchanger(b, "")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := auth.Authenticate(ctx, tok, authority.RequestMeta{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeBaselineCreateToken is the write baseline in the same
// run: authority.CreatePersonalToken for the administrator, one token
// minted and audited in one SQLite transaction the ordinary way.
func BenchmarkExchangeBaselineCreateToken(b *testing.B) { benchCreateToken(b, "") }

// BenchmarkExchangeBaselineCreateTokenPostgres is the write baseline on
// PostgreSQL.
func BenchmarkExchangeBaselineCreateTokenPostgres(b *testing.B) {
	benchCreateToken(b, pgtest.Schema(b, pgtest.URL(b, "the PostgreSQL exchange benchmark")))
}

func benchCreateToken(b *testing.B, store string) {
	_, _, auth, _ := benchExchanger(b, store)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := auth.CreatePersonalToken(ctx, authority.SystemActor(), 1, authority.NewToken{Name: fmt.Sprintf("bench-%d", i), Scopes: []string{"read_api"}}); err != nil {
			b.Fatal(err)
		}
	}
}
