package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/botgate/botgate"
)

// Notifier fans cache invalidations out to every node sharing the database
// with LISTEN/NOTIFY, for deployments without Redis. Publish is meant for
// authority.Config.OnChange; Subscribe calls authority.Service.Purge.
type Notifier struct {
	s       *Store
	channel string
	node    string
	log     *slog.Logger
}

// notice is one invalidation message.
type notice struct {
	Node   string  `json:"node"`             // the sender, which has purged already
	Tokens []int64 `json:"tokens,omitempty"` // none: anything may have changed
}

// Notifier returns the store's invalidation fan-out. The channel is named
// for the schema, so botgate installations sharing one database do not hear
// each other. rnd names this node in its messages (default crypto/rand).
func (s *Store) Notifier(rnd io.Reader, log *slog.Logger) (*Notifier, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return nil, botgate.E("postgres.Notifier", botgate.KindInternal, err)
	}
	return &Notifier{s: s, channel: fmt.Sprintf("botgate_invalidate_%016x", uint64(s.writeLock)),
		node: hex.EncodeToString(id[:]), log: log}, nil
}

// Node returns the identifier this Notifier stamps on its messages.
func (n *Notifier) Node() string { return n.node }

// Publish tells every other node that the tokens changed (nil: anything may
// have changed). A failure is logged, not returned: the authentication
// cache's lifetime is the backstop.
func (n *Notifier) Publish(ctx context.Context, tokenIDs []int64) {
	msg, err := json.Marshal(notice{Node: n.node, Tokens: tokenIDs})
	if err == nil && len(msg) > 7000 {
		// NOTIFY payloads are limited to 8000 bytes: say "anything".
		msg, err = json.Marshal(notice{Node: n.node})
	}
	if err == nil {
		_, err = n.s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, n.channel, string(msg))
	}
	if err != nil {
		n.log.Warn("could not tell other nodes of a token change; they will notice within the cache lifetime",
			"tokens", len(tokenIDs), "err", redact(err))
	}
}

// Subscribe listens for other nodes' invalidations on a connection of its
// own until ctx is done, calling purge for each and each time the LISTEN is
// (re)established, since notifications sent while it was down are lost.
// ready, if not nil, is closed once the first LISTEN is in place. It
// returns ctx.Err().
func (n *Notifier) Subscribe(ctx context.Context, purge func(tokenIDs []int64), ready chan<- struct{}) error {
	backoff := 50 * time.Millisecond
	down := false
	for {
		err := n.listen(ctx, purge, &ready, &down)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !down {
			down = true
			n.log.Warn("lost the invalidation LISTEN; other nodes' revocations reach this node within the cache lifetime until it is back",
				"err", redact(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listen holds one LISTEN connection until it fails.
func (n *Notifier) listen(ctx context.Context, purge func([]int64), ready *chan<- struct{}, down *bool) error {
	conn, err := n.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries a LISTEN: never hand it back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return err
	}
	if *down {
		*down = false
		n.log.Info("invalidation LISTEN is back")
	}
	purge(nil)
	if *ready != nil {
		close(*ready)
		*ready = nil
	}
	for {
		note, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var m notice
		if err := json.Unmarshal([]byte(note.Payload), &m); err != nil {
			n.log.Warn("ignoring a malformed invalidation", "err", err)
			purge(nil)
			continue
		}
		if m.Node == n.node {
			continue
		}
		purge(m.Tokens)
	}
}
