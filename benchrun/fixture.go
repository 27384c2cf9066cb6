package benchrun

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/loadgen"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/tokenfmt"
)

// benchProjects is how many projects the bench's tokens are spread over.
const benchProjects = 20

// benchWorld is the botgate a benchmark measures: a real SQLite store in a
// temporary directory, the authority, and project access tokens.
type benchWorld struct {
	dir    string
	store  *sqlite.Store
	auth   *authority.Service
	admin  authority.Actor
	group  *botgate.Group
	projs  []*botgate.Project
	tokens []loadgen.Token // Tag: the token's project ID
	// special tokens made through the authority, by name.
	named map[string]loadgen.Token
}

// newBenchWorld creates the world with n bulk tokens (api scope, each a
// project bot member of one of benchProjects projects) and the named
// tokens, each through the authority as a user would create them.
// cacheTTL is the authority's CacheTTL (0: its default).
func newBenchWorld(ctx context.Context, n int, named []string, cacheTTL time.Duration, log *slog.Logger) (w *benchWorld, err error) {
	dir, err := os.MkdirTemp("", "botgate-bench-")
	if err != nil {
		return nil, err
	}
	w = &benchWorld{dir: dir, named: map[string]loadgen.Token{}}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	pepper := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, pepper); err != nil {
		return nil, err
	}
	if w.store, err = sqlite.Open(ctx, filepath.Join(dir, "botgate.db")); err != nil {
		return nil, err
	}
	// The authority as botgate serve builds it (unless the cache TTL is
	// changed to measure its effect).
	if w.auth, err = authority.New(authority.Config{Store: w.store, Pepper: pepper, Logger: log, CacheTTL: cacheTTL}); err != nil {
		return nil, err
	}
	admin, adminTok, _, err := w.auth.Bootstrap(ctx, authority.NewUser{Username: "root", Name: "Root", Email: "root@bench.local"})
	if err != nil {
		return nil, err
	}
	w.admin = authority.Actor{User: admin, Token: adminTok}
	if w.group, err = w.auth.CreateGroup(ctx, w.admin, authority.NewGroup{Name: "Bench", Path: "bench", Visibility: botgate.Private}); err != nil {
		return nil, err
	}
	for i := range benchProjects {
		p, err := w.auth.CreateProject(ctx, w.admin, authority.NewProject{Name: fmt.Sprintf("service-%02d", i),
			Path: fmt.Sprintf("service-%02d", i), NamespaceID: w.group.ID, Visibility: botgate.Private})
		if err != nil {
			return nil, err
		}
		w.projs = append(w.projs, p)
	}
	for i, name := range named {
		p := w.projs[i%len(w.projs)]
		c, err := w.auth.CreateResourceToken(ctx, w.admin, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
			authority.NewToken{Name: name, Scopes: []string{"api"}, AccessLevel: botgate.DeveloperAccess, Automation: name})
		if err != nil {
			return nil, err
		}
		w.named[name] = loadgen.Token{Secret: c.Secret, Tag: strconv.FormatInt(p.ID, 10)}
	}
	if err := w.bulkTokens(ctx, n, pepper); err != nil {
		return nil, err
	}
	return w, nil
}

// bulkTokens writes n project access tokens with their bot users and
// memberships straight to the store, 1,000 to a transaction: the records
// CreateResourceToken writes, without its per-token commit (an fsync
// each) and audit events, so that 10,000 tokens take seconds, not
// minutes. The digests use the authority's pepper, so Authenticate
// accepts them like any other.
func (w *benchWorld) bulkTokens(ctx context.Context, n int, pepper []byte) error {
	d, err := tokenfmt.NewDigester(pepper)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	const batch = 1000
	for start := 0; start < n; start += batch {
		err := w.store.Update(ctx, func(tx botgate.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				p := w.projs[i%len(w.projs)]
				r := botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}
				username := fmt.Sprintf("project_%d_bot_bench%05d", p.ID, i)
				bot := &botgate.User{Username: username, Name: fmt.Sprintf("bench-%05d", i), Email: username + "@noreply.botgate.local",
					Kind: botgate.ProjectBot, State: botgate.UserActive, Owner: r, CreatedByID: w.admin.User.ID, CreatedAt: now}
				if err := tx.CreateUser(ctx, bot); err != nil {
					return err
				}
				if err := tx.CreateMember(ctx, &botgate.Member{Resource: r, UserID: bot.ID, AccessLevel: botgate.DeveloperAccess,
					CreatedByID: w.admin.User.ID, CreatedAt: now}); err != nil {
					return err
				}
				secret, err := tokenfmt.Generate(rand.Reader, w.auth.Prefix(), tokenfmt.Routing{User: bot.ID})
				if err != nil {
					return err
				}
				dg := d.Digest(secret)
				if err := tx.CreateToken(ctx, &botgate.Token{UserID: bot.ID, Kind: botgate.ProjectAccessToken, Name: bot.Name,
					Scopes: botgate.Scopes{botgate.ScopeAPI}, AccessLevel: botgate.DeveloperAccess, Resource: r, Digest: dg[:],
					CreatedAt: now, CreatedByID: w.admin.User.ID, Automation: fmt.Sprintf("bench-bot-%d", i%50)}); err != nil {
					return err
				}
				w.tokens = append(w.tokens, loadgen.Token{Secret: secret, Tag: strconv.FormatInt(p.ID, 10)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("creating bench tokens: %w", err)
		}
	}
	return nil
}

// Close stops the authority, closes the store and removes the directory.
func (w *benchWorld) Close() error {
	var err error
	if w.auth != nil {
		err = w.auth.Close()
	}
	if w.store != nil {
		if cerr := w.store.Close(); err == nil {
			err = cerr
		}
	}
	if rerr := os.RemoveAll(w.dir); err == nil {
		err = rerr
	}
	return err
}
