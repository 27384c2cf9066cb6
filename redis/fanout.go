package redis

import (
	"context"
	"encoding/json"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// invalidation is one fan-out message.
type invalidation struct {
	Node   string  `json:"node"`             // the sender, which has purged already
	Tokens []int64 `json:"tokens,omitempty"` // the changed tokens; none: anything may have changed
}

// channel is the pub/sub channel of invalidations.
func (c *Client) channel() string { return c.key("invalidate") }

// Publish tells every other node that the tokens changed (nil: anything
// may have changed), so that they drop their cached authentications. It is
// meant for authority.Config.OnChange, after the change is committed. A
// failure is logged and counted, not returned: the cache lifetime is the
// backstop. It waits at most the Client's timeout.
func (c *Client) Publish(ctx context.Context, tokenIDs []int64) {
	if !c.usable() {
		// Redis is down and was tried less than a probe interval ago:
		// do not make the change wait for a dial that will fail.
		c.log.Warn("could not tell other nodes of a token change while Redis is unreachable; they will notice within the cache lifetime",
			"tokens", len(tokenIDs))
		return
	}
	msg, err := json.Marshal(invalidation{Node: c.node, Tokens: tokenIDs})
	if err != nil {
		c.log.Error("encoding an invalidation", "err", err)
		return
	}
	if err := c.rdb.Publish(ctx, c.channel(), msg).Err(); err != nil {
		c.fail(ctx, err)
		c.log.Warn("could not tell other nodes of a token change; they will notice within the cache lifetime",
			"tokens", len(tokenIDs), "err", err)
		return
	}
	c.recovered()
	c.mFanout.WithLabelValues("sent").Inc()
}

// Subscribe listens for other nodes' invalidations until ctx is done and
// calls purge for each, and each time the subscription is established or
// re-established (messages sent while it was down are lost, so everything
// cached may be stale). ready, if not nil, is closed once the first
// subscription is confirmed. It returns ctx.Err().
func (c *Client) Subscribe(ctx context.Context, purge func(tokenIDs []int64), ready chan<- struct{}) error {
	ps := c.rdb.Subscribe(ctx, c.channel())
	defer ps.Close()
	// Receive does not watch ctx while it waits for the next message:
	// closing the subscription ends the wait.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	backoff := 50 * time.Millisecond
	down := false
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !down {
				down = true
				c.log.Warn("lost the invalidation subscription; other nodes' revocations reach this node within the cache lifetime until it is back", "err", err)
			}
			// go-redis reconnects and resubscribes on the next Receive.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if down {
				down = false
				c.log.Info("invalidation subscription is back")
			}
			purge(nil)
			if ready != nil {
				close(ready)
				ready = nil
			}
		case *goredis.Message:
			var inv invalidation
			if err := json.Unmarshal([]byte(m.Payload), &inv); err != nil {
				c.log.Warn("ignoring a malformed invalidation", "err", err)
				purge(nil)
				continue
			}
			if inv.Node == c.node {
				continue
			}
			c.mFanout.WithLabelValues("received").Inc()
			purge(inv.Tokens)
		}
	}
}

// Node returns the identifier this Client stamps on its invalidations.
func (c *Client) Node() string { return c.node }
