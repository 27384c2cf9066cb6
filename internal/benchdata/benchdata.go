// Package benchdata builds what benchmarks measure over at scale: many
// tokens written straight through the store in batched transactions
// (rather than through the API, which would make a run of a million tokens
// take hours), and a clock of the calling thread's CPU time, so that two
// sides of a comparison on a shared machine are timed by their own work.
package benchdata

import (
	"context"
	"crypto/rand"
	"fmt"
	"syscall"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// Bots says what ProjectBots writes.
type Bots struct {
	// N is how many tokens, each of its own project bot.
	N int
	// Batch is how many bots one transaction writes.
	Batch int
	// Member makes each bot a developer of the project.
	Member bool
	// Automations, if above 0, spreads the tokens over that many
	// automation names (scale-0, scale-1, ...).
	Automations int
}

// ProjectBots writes a private group and project, then o.N project access
// tokens (scope api, developer), each of its own project bot, their digests
// made with d. It returns the project's ID and the tokens' secrets, in the
// order written.
func ProjectBots(ctx context.Context, st botgate.Store, d *tokenfmt.Digester, o Bots) (int64, []string, error) {
	now := time.Now().UTC()
	var project int64
	err := st.Update(ctx, func(tx botgate.Tx) error {
		g := &botgate.Group{Name: "scale", Path: "scale", FullPath: "scale", Visibility: botgate.Private, CreatedAt: now}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		p := &botgate.Project{Name: "p", Path: "p", PathWithNamespace: "scale/p", NamespaceID: g.ID, Visibility: botgate.Private, CreatedAt: now}
		err := tx.CreateProject(ctx, p)
		project = p.ID
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	r := botgate.Resource{Type: botgate.ProjectResource, ID: project}
	secrets := make([]string, o.N)
	for start := 0; start < o.N; start += o.Batch {
		err := st.Update(ctx, func(tx botgate.Tx) error {
			for i := start; i < min(start+o.Batch, o.N); i++ {
				name := fmt.Sprintf("project_%d_bot_scale%06d", project, i)
				u := &botgate.User{Username: name, Name: name, Email: name + "@noreply.botgate.local", Kind: botgate.ProjectBot,
					State: botgate.UserActive, Owner: r, CreatedAt: now}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if o.Member {
					if err := tx.CreateMember(ctx, &botgate.Member{Resource: r, UserID: u.ID, AccessLevel: botgate.DeveloperAccess, CreatedAt: now}); err != nil {
						return err
					}
				}
				s, err := tokenfmt.Generate(rand.Reader, tokenfmt.DefaultPrefix, tokenfmt.Routing{User: u.ID})
				if err != nil {
					return err
				}
				dg := d.Digest(s)
				t := &botgate.Token{UserID: u.ID, Kind: botgate.ProjectAccessToken, Name: name,
					Scopes: botgate.Scopes{botgate.ScopeAPI}, AccessLevel: botgate.DeveloperAccess, Resource: r, Digest: dg[:],
					CreatedAt: now}
				if o.Automations > 0 {
					t.Automation = fmt.Sprintf("scale-%d", i%o.Automations)
				}
				if err := tx.CreateToken(ctx, t); err != nil {
					return err
				}
				secrets[i] = s
			}
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
	}
	return project, secrets, nil
}

// ThreadCPU returns the CPU time of the calling thread (Linux
// RUSAGE_THREAD); the caller locks its goroutine to the thread
// (runtime.LockOSThread).
func ThreadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
