package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/postgres"
)

// statements counts the statements the store's connections send.
type statements struct {
	mu   sync.Mutex
	on   bool
	sqls []string
}

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	if c.on {
		c.sqls = append(c.sqls, strings.Join(strings.Fields(d.SQL), " "))
	}
	c.mu.Unlock()
	return ctx
}

func (c *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// count returns the statements fn sent.
func (c *statements) count(t *testing.T, fn func() error) []string {
	t.Helper()
	c.mu.Lock()
	c.on, c.sqls = true, nil
	c.mu.Unlock()
	err := fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	if err != nil {
		t.Fatal(err)
	}
	return c.sqls
}

// TestWriteStatements bounds the round trips of the hot writes, counted
// statement by statement (BEGIN and COMMIT included): each one is a round
// trip to the database, which on a network, and under the writer lock for
// the changes that still take it, is what a write costs.
func TestWriteStatements(t *testing.T) {
	ctx := t.Context()
	tr := &statements{}
	s, err := postgres.Open(ctx, freshSchema(t), postgres.WithQueryTracer(tr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	auth, err := authority.New(authority.Config{Store: s, Pepper: []byte(strings.Repeat("p", 32)), RevisionPoll: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	u := botgate.User{Username: "ann", Kind: botgate.HumanUser, State: botgate.UserActive}
	if err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, &u) }); err != nil {
		t.Fatal(err)
	}
	actor := authority.Actor{User: &u}
	newToken := authority.NewToken{Name: "ci", Scopes: []string{"read_api"}}

	var created *authority.Created
	tests := []struct {
		name string
		max  int
		fn   func() error
	}{
		{"create", 10, func() (err error) {
			created, err = auth.CreatePersonalToken(ctx, actor, u.ID, newToken)
			return err
		}},
		{"rotate", 12, func() (err error) {
			created, err = auth.RotateToken(ctx, actor, created.Token.ID, nil)
			return err
		}},
		{"revoke", 10, func() error { return auth.RevokeToken(ctx, actor, created.Token.ID) }},
	}
	for _, tt := range tests {
		sqls := tr.count(t, tt.fn)
		t.Logf("%s: %d statements", tt.name, len(sqls))
		if len(sqls) > tt.max {
			t.Errorf("%s sends %d statements, want at most %d:\n%s", tt.name, len(sqls), tt.max, strings.Join(sqls, "\n"))
		}
	}
}
