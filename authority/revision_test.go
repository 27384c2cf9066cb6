package authority_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/sqlite"
)

// TestRevisionReachesOtherProcesses shows that a revocation made by another
// Service on the same store (another process, such as 'botgate apply', or
// another node) empties this Service's cache within a poll, long before its
// cache TTL.
func TestRevisionReachesOtherProcesses(t *testing.T) {
	var purged atomic.Int64
	e := newEnv(t, func(c *authority.Config) {
		c.CacheTTL = time.Hour
		c.RevisionPoll = 20 * time.Millisecond
		c.OnPurge = func() { purged.Add(1) }
	})
	go e.svc.Run(t.Context()) // the revision is watched by Run
	w := e.world()
	c, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "ci", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
		t.Fatal(err)
	}

	// Failed authentications are audited but do not invalidate anything.
	rev0, err := authority.Revision(e.ctx, e.store)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.auth(corrupt(c.Secret), authority.PurposeAPI)
	if err := e.svc.SyncAudit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if rev, _ := authority.Revision(e.ctx, e.store); rev != rev0 {
		t.Fatalf("a failed authentication bumped the revision %q -> %q", rev0, rev)
	}

	// Another process revokes the token.
	st2, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	other, err := authority.New(authority.Config{Store: st2, Pepper: pepper, Clock: e.clock, RevisionPoll: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RevokeToken(e.ctx, authority.SystemActor(), c.Token.ID); err != nil {
		t.Fatal(err)
	}
	if rev, _ := authority.Revision(e.ctx, e.store); rev == rev0 {
		t.Fatal("a revocation did not bump the revision")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := e.auth(c.Secret, authority.PurposeAPI)
		if botgate.ReasonOf(err) == botgate.ReasonTokenRevoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revocation made by another process was not seen within 5s (cache TTL 1h): %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if purged.Load() == 0 {
		t.Fatal("OnPurge was not called")
	}
}
