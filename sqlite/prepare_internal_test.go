package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlstore"
)

// BenchmarkPreparedLookup shows what preparing the digest lookup once per
// connection saves against preparing it on every call, on 10,000 tokens.
func BenchmarkPreparedLookup(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	digest := func(i int) []byte {
		d := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		return d[:]
	}
	err = s.Update(ctx, func(tx botgate.Tx) error {
		u := &botgate.User{Username: "bench", Kind: botgate.HumanUser, State: botgate.UserActive}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for i := range n {
			if err := tx.CreateToken(ctx, &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "t",
				Digest: digest(i), CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, lookup func(t *tx, d []byte) error) {
		i := 0
		for b.Loop() {
			err := s.View(ctx, func(btx botgate.Tx) error { return lookup(btx.(*tx), digest(i%n)) })
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("prepared", func(b *testing.B) {
		run(b, func(t *tx, d []byte) error {
			_, err := t.TokenByDigest(ctx, d)
			return err
		})
	})
	b.Run("unprepared", func(b *testing.B) {
		run(b, func(t *tx, d []byte) error {
			u := sqlstore.New(unprepared{t}, &dialect, false)
			_, err := u.TokenByDigest(ctx, d)
			return err
		})
	})
}

// BenchmarkPreparedMembership shows what preparing the membership walk's
// queries saves: one project in one group, the lookups a gateway decision
// makes for a project route when its membership answer is not cached.
func BenchmarkPreparedMembership(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var g botgate.Group
	var p botgate.Project
	var u botgate.User
	err = s.Update(ctx, func(tx botgate.Tx) error {
		u = botgate.User{Username: "bench", Kind: botgate.HumanUser, State: botgate.UserActive}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		g = botgate.Group{Name: "g", Path: "g", FullPath: "g", Visibility: botgate.Private, CreatedAt: time.Now()}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		p = botgate.Project{Name: "p", Path: "p", PathWithNamespace: "g/p", NamespaceID: g.ID, Visibility: botgate.Private, CreatedAt: time.Now()}
		if err := tx.CreateProject(ctx, &p); err != nil {
			return err
		}
		return tx.CreateMember(ctx, &botgate.Member{Resource: botgate.Resource{Type: botgate.GroupResource, ID: g.ID},
			UserID: u.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: time.Now()})
	})
	if err != nil {
		b.Fatal(err)
	}
	type walker interface {
		Member(context.Context, botgate.Resource, int64) (*botgate.Member, error)
		Project(context.Context, int64) (*botgate.Project, error)
		Group(context.Context, int64) (*botgate.Group, error)
	}
	walk := func(t walker) error {
		if _, err := t.Member(ctx, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}, u.ID); !botgate.IsKind(err, botgate.KindNotFound) {
			return fmt.Errorf("project member: %v", err)
		}
		if _, err := t.Project(ctx, p.ID); err != nil {
			return err
		}
		if _, err := t.Member(ctx, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, u.ID); err != nil {
			return err
		}
		_, err := t.Group(ctx, g.ID)
		return err
	}
	b.Run("prepared", func(b *testing.B) {
		for b.Loop() {
			if err := s.View(ctx, func(btx botgate.Tx) error { return walk(btx) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unprepared", func(b *testing.B) {
		for b.Loop() {
			if err := s.View(ctx, func(btx botgate.Tx) error { u := sqlstore.New(unprepared{btx.(*tx)}, &dialect, false); return walk(&u) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// unprepared is a transaction whose queries skip the statements prepared
// at Open.
type unprepared struct{ *tx }

func (u unprepared) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return u.tx.tx.QueryRowContext(ctx, query, args...)
}

// TestHotQueriesUseIndexes checks that each hot lookup is one search on an
// index, not a scan, whatever the table size.
func TestHotQueriesUseIndexes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, query string
		arg         any
	}{
		{"TokenByDigest", sqlstore.TokenByDigestQuery, []byte("d")},
		{"Token", sqlstore.TokenByIDQuery, int64(1)},
		{"User", sqlstore.UserByIDQuery, int64(1)},
		{"Project", sqlstore.ProjectByIDQuery, int64(1)},
		{"Group", sqlstore.GroupByIDQuery, int64(1)},
	}
	type twoArgs struct{ a, b int64 }
	for _, q := range []struct{ name, query string }{
		{"MemberOfProject", sqlstore.MemberOfProjectQuery}, {"MemberOfGroup", sqlstore.MemberOfGroupQuery},
	} {
		tests = append(tests, struct {
			name, query string
			arg         any
		}{q.name, q.query, twoArgs{1, 1}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []any{tt.arg}
			if two, ok := tt.arg.(twoArgs); ok {
				args = []any{two.a, two.b}
			}
			rows, err := s.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var steps []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				steps = append(steps, detail)
			}
			if len(steps) != 1 || !strings.HasPrefix(steps[0], "SEARCH ") {
				t.Errorf("plan %q, want one SEARCH step", steps)
			}
		})
	}
}
