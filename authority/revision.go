package authority

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botgate/botgate"
)

// The authentication revision moves with every change that can invalidate
// a cached authentication or membership answer: each audit lane records
// the Seq of its newest such change (botgate.AuditLane.Revision), and the
// revision is their sum, which grows whenever any lane's does.

// invalidates reports whether an audited action can change the answer to
// "who does this token prove, and what may it reach".
func invalidates(action string) bool {
	switch {
	case strings.HasPrefix(action, "token.") && action != botgate.ActionTokenCreate,
		strings.HasPrefix(action, "user.") && action != botgate.ActionUserCreate,
		strings.HasPrefix(action, "member."),
		strings.HasPrefix(action, "automation."),
		action == botgate.ActionGroupDelete, action == botgate.ActionProjectDelete,
		action == "gateway.loop_tripped":
		return true
	}
	return false
}

// Revision reads the store's authentication revision ("" before the first
// invalidating change).
func Revision(ctx context.Context, store botgate.Store) (string, error) {
	lanes, err := auditLanes(ctx, store)
	var sum int64
	for _, l := range lanes {
		sum += l.Revision
	}
	if err != nil || sum == 0 {
		return "", err
	}
	return strconv.FormatInt(sum, 10), nil
}

// watchRevision polls the store's revision and empties the cache when
// another process or node changed it: one small read per interval,
// instead of re-reading every cached token when its TTL runs out.
func (s *Service) watchRevision(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	last, err := Revision(ctx, s.store)
	known := err == nil
	t := time.NewTicker(s.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rev, err := Revision(ctx, s.store)
		if err != nil {
			if known {
				s.log.Warn("reading the authentication revision failed; cached answers expire by their TTL", "err", err)
			}
			known = false
			continue
		}
		if !known || rev != last {
			s.cache.Purge()
			if s.onPurge != nil {
				s.onPurge()
			}
		}
		last, known = rev, true
	}
}
