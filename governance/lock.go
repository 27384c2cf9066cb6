package governance

import (
	"context"
	"encoding/hex"
	"io"
	"time"

	"github.com/botgate/botgate"
)

// ApplyLease names the store lease that serializes applies: across
// processes and servers sharing the store, one apply at a time.
const ApplyLease = "governance.apply"

// applyLeaseTTL bounds how long a crashed apply blocks the next one.
const applyLeaseTTL = 15 * time.Minute

// Lock takes the apply lease, so that no other apply (another `botgate
// apply`, a server's --demo) changes the instance between this caller's
// plan and apply: take it, plan, apply, then call the returned unlock.
// KindConflict, naming the holder, while another apply holds it; a lease
// left by a crashed apply expires after 15 minutes.
func (g *Governor) Lock(ctx context.Context) (unlock func(), err error) {
	const op = "governance.Lock"
	var b [8]byte
	if _, err := io.ReadFull(g.rand, b[:]); err != nil {
		return nil, botgate.E(op, botgate.KindInternal, err)
	}
	holder := "apply-" + hex.EncodeToString(b[:])
	err = g.store.Update(ctx, func(tx botgate.Tx) error {
		_, err := tx.AcquireLease(ctx, ApplyLease, holder, g.auth.Now(), applyLeaseTTL)
		return err
	})
	if botgate.IsKind(err, botgate.KindConflict) {
		return nil, botgate.E(op, botgate.Errorf(botgate.KindConflict, "another apply is running on this instance (%s); try again when it has finished", botgate.MessageOf(err)))
	}
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return func() {
		// A fresh context: release even when the caller's was cancelled.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := g.store.Update(ctx, func(tx botgate.Tx) error { return tx.ReleaseLease(ctx, ApplyLease, holder) }); err != nil {
			g.log.Warn("releasing the apply lease", "err", err)
		}
	}, nil
}
