package authority_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// pausingStore holds one armed View after it has read, until released: it
// plays an authentication whose store read is overtaken by a revocation
// (from this node, or from another one through the fan-out).
type pausingStore struct {
	botgate.Store
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (p *pausingStore) View(ctx context.Context, fn func(botgate.Tx) error) error {
	err := p.Store.View(ctx, fn)
	if p.armed.CompareAndSwap(true, false) {
		close(p.read)
		<-p.release
	}
	return err
}

// TestPurgeDuringLoadIsNotUndone: a token revoked while another request is
// reading it from the store must not come back into the cache with the
// stale read, or it would be accepted until the cache entry expires.
func TestPurgeDuringLoadIsNotUndone(t *testing.T) {
	ps := &pausingStore{read: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *authority.Config) {
		ps.Store = c.Store
		c.Store = ps
		c.CacheTTL = time.Hour
	})
	c, err := e.svc.CreatePersonalToken(e.ctx, e.admin, e.admin.User.ID, authority.NewToken{Name: "racy", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Purge()
	ps.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{})
		done <- err
	}()
	<-ps.read // the request has read the token, not yet revoked
	if err := e.svc.RevokeToken(e.ctx, e.admin, c.Token.ID); err != nil {
		t.Fatal(err)
	}
	close(ps.release)
	if err := <-done; err != nil {
		t.Fatalf("the request in flight: %v (it began before the revocation)", err)
	}
	_, err = e.svc.Authenticate(e.ctx, c.Secret, authority.RequestMeta{})
	if botgate.KindOf(err) != botgate.KindUnauthenticated {
		t.Fatalf("Authenticate after the revocation: %v, want unauthenticated (a stale read was cached)", err)
	}
}
