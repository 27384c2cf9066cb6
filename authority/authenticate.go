package authority

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/internal/cache"
)

// Purpose says what a credential is presented for. Presenting an
// already-rotated token to rotate again revokes its whole family.
type Purpose int

// The purposes.
const (
	PurposeAPI    Purpose = iota // any ordinary use
	PurposeRotate                // a rotate route (…/rotate)
)

// RequestMeta describes where a credential was presented.
type RequestMeta struct {
	IP        string
	UserAgent string
	Purpose   Purpose
}

// Identity is an authenticated caller. An Identity returned by
// Authenticate, and its User and Token values, may be shared with other
// callers: treat them as read-only. Its Token holds what decisions read
// (see forDecisions): no digest, description or last-use
// times, nor recent clients.
type Identity struct {
	User  *botgate.User
	Token *botgate.Token
	// derived is what a caller made of the identity (see Derived).
	derived atomic.Value
}

// Derived returns what make derives from id, made on the first call and
// kept with id. An identity Authenticate answers from its cache is shared
// by every request that presents the token, so a value derived from it
// (the gateway's limit key and headers) is found with it rather than in a
// map of the caller's own, which over many active tokens is one more
// lookup missing the CPU caches, and it is forgotten with the identity
// when the token is reloaded. One kind of value is kept per identity: a
// T other than the one kept is made afresh on every call. make may run
// more than once when requests race; one result is kept.
func Derived[T any](id *Identity, make func(*Identity) *T) *T {
	switch kept := id.derived.Load().(type) {
	case *T:
		return kept
	case nil:
	default:
		return make(id)
	}
	v := make(id)
	if keepDerived(&id.derived, v) {
		return v
	}
	if kept, ok := id.derived.Load().(*T); ok {
		return kept
	}
	return v
}

// keepDerived keeps v in slot unless a value is kept there already, of
// whatever type, and reports whether it did.
func keepDerived(slot *atomic.Value, v any) (kept bool) {
	// The slot holds its value in place (read without a further pointer
	// to follow); storing a second type in it panics, which can happen
	// only when two types race to be first.
	defer func() {
		if recover() != nil {
			kept = false
		}
	}()
	return slot.CompareAndSwap(nil, v)
}

// Actor returns the identity as an Actor for the request.
func (id *Identity) Actor(meta RequestMeta) Actor {
	return Actor{User: id.User, Token: id.Token, IP: meta.IP, UserAgent: meta.UserAgent}
}

// Authenticate checks a presented token and returns who it proves.
//
// A malformed token (wrong prefix, bad checksum) is rejected before any
// store access. A revoked token is refused, except a token rotated out
// within the rotation grace window (see withinGrace) presented for
// PurposeAPI: it authenticates as itself, audited
// ActionAuthRotatedGrace. Presented to rotate, a revoked token, in its
// grace window or not, revokes its whole family. A valid token is usually answered from memory; its use is
// recorded (last used, IP, user agent) in memory and written in batches.
// Every failure is audited asynchronously. Errors are KindUnauthenticated
// with a Reason: ReasonTokenMalformed, ReasonTokenUnknown,
// ReasonTokenRevoked, ReasonTokenExpired, ReasonUserInactive; store
// failures are KindInternal.
func (s *Service) Authenticate(ctx context.Context, secret string, meta RequestMeta) (*Identity, error) {
	const op = "authority.Authenticate"
	digest, err := s.digester.CheckDigest(secret, s.prefix)
	if err != nil {
		s.failed(meta, nil, botgate.ReasonTokenMalformed)
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenMalformed}
	}
	now := s.clock.Now()
	e, ok := s.cache.Peek(digest)
	if !ok {
		var err error
		e, err = s.cache.Get(ctx, digest, func(ctx context.Context) (*cacheEntry, error) { return s.load(ctx, digest) })
		if err != nil {
			return nil, botgate.E(op, err)
		}
	}
	if e.id.Token == nil {
		s.failed(meta, nil, botgate.ReasonTokenUnknown)
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenUnknown}
	}
	t, u := e.id.Token, e.id.User
	graced := t.Revoked && meta.Purpose == PurposeAPI && s.withinGrace(t, e.successor, now)
	switch {
	case t.Revoked && !graced:
		if meta.Purpose == PurposeRotate {
			if err := s.revokeFamily(ctx, t, meta); err != nil {
				return nil, botgate.E(op, err)
			}
		} else {
			s.failed(meta, t, botgate.ReasonTokenRevoked)
		}
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenRevoked,
			Message: "Token was revoked. You have to re-authorize from the user."}
	case t.Expired(now):
		s.failed(meta, t, botgate.ReasonTokenExpired)
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenExpired,
			Message: "Token is expired. You can either do re-authorization or token refresh."}
	case !u.Active():
		s.failed(meta, t, botgate.ReasonUserInactive)
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonUserInactive}
	}
	if graced && e.graceAudited.CompareAndSwap(false, true) {
		s.graceUsed(t, e.successor, meta)
	}
	s.usage.note(t.ID, now, meta.IP, meta.UserAgent)
	return &e.id, nil
}

// withinGrace reports whether t, revoked, is a token rotated out less than
// the rotation grace window ago whose successor (the token that replaced
// it) is still active at now. Anything that ends the successor — revoking
// it, rotating it in turn, a family revocation, its expiry — ends the old
// token's grace with it; so does the window's end. Without a grace window
// nothing is within it.
func (s *Service) withinGrace(t, successor *botgate.Token, now time.Time) bool {
	return s.grace > 0 && t.Revoked && t.RevokedAt != nil && now.Before(t.RevokedAt.Add(s.grace)) &&
		successor != nil && successor.PreviousID == t.ID && successor.Active(now)
}

// graceSuccessor returns, for a token rotated out less than the grace
// window ago and not reported leaked since, the token that replaced it
// (withinGrace then decides with it); nil for any other token.
func (s *Service) graceSuccessor(ctx context.Context, tx botgate.Tx, t *botgate.Token, now time.Time) (*botgate.Token, error) {
	if !t.Revoked || s.grace <= 0 || t.RevokedAt == nil || !now.Before(t.RevokedAt.Add(s.grace)) {
		return nil, nil
	}
	succ, err := tx.SuccessorToken(ctx, t.ID)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, nil // revoked, not rotated
	}
	if err != nil {
		return nil, err
	}
	ended, err := tx.FindAudit(ctx, botgate.AuditFilter{Action: ActionTokenGraceEnd, TargetType: "token", TargetID: t.ID,
		Since: t.RevokedAt, Page: botgate.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		return nil, nil
	}
	return succ, nil
}

// ActionTokenGraceEnd is the audit action that ends a rotated-out token's
// grace window early: the token was revoked or reported leaked while the
// window still let it authenticate.
const ActionTokenGraceEnd = "token.grace_end"

// endGrace ends t's grace window if t, rotated out, is still within it,
// recording why in tx; it reports whether it did. Recording the event
// bumps the authentication revision, so every node stops accepting t.
func (s *Service) endGrace(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token, reason string) (bool, error) {
	now := s.clock.Now()
	succ, err := s.graceSuccessor(ctx, tx, t, now)
	if err != nil || !s.withinGrace(t, succ, now) {
		return false, err
	}
	e := s.event(a, ActionTokenGraceEnd, "token", t.ID, t.Name)
	e.Details = details("reason", reason, "successor_id", itoa(succ.ID))
	return true, s.record(ctx, tx, e)
}

// graceUsed audits a rotated-out token authenticating within the grace
// window: once per cached authentication (at most once per cache TTL per
// node, and again after any change), not once per request.
func (s *Service) graceUsed(t, successor *botgate.Token, meta RequestMeta) {
	e := &botgate.AuditEvent{
		Time: s.clock.Now(), Action: botgate.ActionAuthRotatedGrace, IP: meta.IP, UserAgent: meta.UserAgent,
		TokenID: t.ID, ActorID: t.UserID, TargetType: "token", TargetID: t.ID, TargetName: t.Name,
		Details: details("reason", "authenticated with rotated token within grace",
			"successor_id", itoa(successor.ID), "grace_until", t.RevokedAt.Add(s.grace).UTC().Format(time.RFC3339)),
	}
	s.auditor.enqueue(e)
}

// load reads the token and its user from the store, for the cache, which
// keeps the answer, including "unknown" for a short while. The cache is
// keyed by the exact digest, so a cached token is one whose digest was
// compared with the presented one here.
func (s *Service) load(ctx context.Context, digest [sha256.Size]byte) (*cacheEntry, error) {
	e := &cacheEntry{}
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		t, err := tx.TokenByDigest(ctx, digest[:])
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// The digest index found the row; compare in constant time anyway
		// so that a store which matched loosely cannot let a wrong token
		// through: such a row is "no such token".
		if subtle.ConstantTimeCompare(t.Digest, digest[:]) != 1 {
			return nil
		}
		u, err := tx.User(ctx, t.UserID)
		if err != nil {
			return err
		}
		e.id = Identity{User: s.users.get(u), Token: forDecisions(t)}
		e.successor, err = s.graceSuccessor(ctx, tx, t, s.clock.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// forDecisions returns t without what no decision on a presented token
// reads: its digest (compared already), description, last use time, and
// its recent client addresses and user agents (up to ten of each). The
// revocation time stays: the rotation grace window is counted from it. A cached token lives as long as it is used, so these would
// be most of the memory kept per active token; whoever shows a token's
// full record (GET /personal_access_tokens/self) reads it from the store.
func forDecisions(t *botgate.Token) *botgate.Token {
	t.Digest, t.Description, t.LastUsedAt = nil, "", nil
	t.LastUsedIPs, t.UserAgents = nil, nil
	// What many tokens have in common is kept once (see intern).
	t.Kind, t.Resource.Type, t.Automation = intern(t.Kind), intern(t.Resource.Type), intern(t.Automation)
	t.Scopes = internScopes(t.Scopes)
	return t
}

// revokeFamily answers the reuse of a rotated-out token on a rotate route:
// someone holds a copy of an old token, so every token of its family is
// revoked, and the event recorded.
func (s *Service) revokeFamily(ctx context.Context, t *botgate.Token, meta RequestMeta) error {
	var revoked []int64
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		var err error
		revoked, err = tx.RevokeTokenFamily(ctx, t.FamilyID, s.clock.Now())
		if err != nil {
			return err
		}
		e := s.event(Actor{IP: meta.IP, UserAgent: meta.UserAgent}, botgate.ActionTokenFamilyRevoke, "token", t.ID, t.Name)
		e.TokenID = t.ID
		e.ActorID = t.UserID
		e.Details = details("reason", "a rotated-out token was presented to rotate again", "family_id", itoa(t.FamilyID),
			"revoked_ids", joinIDs(revoked))
		if err := s.record(ctx, tx, e); err != nil {
			return err
		}
		// As every other revocation of a project or group access token:
		// its bot is deactivated with it.
		if t.Kind != botgate.ProjectAccessToken && t.Kind != botgate.GroupAccessToken {
			return nil
		}
		u, err := tx.User(ctx, t.UserID)
		if err != nil {
			return err
		}
		return s.deactivate(ctx, tx, Actor{System: true, IP: meta.IP, UserAgent: meta.UserAgent}, u, "its token family was revoked after a rotated-out token was presented to rotate again")
	})
	if err != nil {
		return err
	}
	s.log.Warn("token family revoked after reuse of a rotated token", "token_id", t.ID, "family_id", t.FamilyID, "revoked", len(revoked), "ip", meta.IP)
	s.changed(revoked)
	return nil
}

// joinIDs lists IDs comma-separated, as audit details record them.
func joinIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// failed queues an audit event for a failed authentication. It never
// blocks: under a flood, events beyond the queue are counted and summarised.
func (s *Service) failed(meta RequestMeta, t *botgate.Token, reason botgate.Reason) {
	e := &botgate.AuditEvent{
		Time: s.clock.Now(), Action: botgate.ActionAuthFailed, IP: meta.IP, UserAgent: meta.UserAgent,
		Details: map[string]string{"reason": string(reason)},
	}
	if t != nil {
		e.TokenID, e.ActorID, e.TargetType, e.TargetID, e.TargetName = t.ID, t.UserID, "token", t.ID, t.Name
	}
	s.auditor.enqueue(e)
}

// authCache maps token digests to recently loaded tokens and users. A
// purge while the store is read means the read may be stale: the entry is
// then used for the requests that waited for it but not kept.
type authCache = cache.Cache[[sha256.Size]byte, *cacheEntry]

type cacheEntry struct {
	// id is what Authenticate returns for the token, shared by every
	// request that presents it; id.Token is nil when there is no such
	// token.
	id Identity
	// successor is the token that replaced id.Token by rotation, loaded
	// only for a token rotated out within the grace window.
	successor *botgate.Token
	// graceAudited is set once a use within the grace window is audited.
	graceAudited atomic.Bool
}

// maxNegative bounds the unknown-token entries kept, so that a flood of
// unknown tokens never pushes out known ones.
const maxNegative = 64 * 1024

func newAuthCache(ttl time.Duration, clock botgate.Clock) *authCache {
	return cache.New(cache.Config[[sha256.Size]byte, *cacheEntry]{
		TTL: ttl, Now: clock.Now,
		Negative:    func(e *cacheEntry) bool { return e.id.Token == nil },
		NegativeTTL: time.Second, MaxNegative: maxNegative,
		FlightKey: func(d [sha256.Size]byte) string { return string(d[:]) },
	})
}

// usageBuffer coalesces token usage between flushes. It is sharded by
// token ID so that concurrent requests for different tokens do not contend.
type usageBuffer struct {
	shards [16]usageShard
}

type usageShard struct {
	mu      sync.Mutex
	pending map[int64]*pendingUse
}

// pendingUse is one token's usage since the last flush. The latest
// address and user agent are kept beside the lists, so that a request
// from the same client as the one before reads this record alone: over
// many active tokens, each further record read (the lists' arrays) is one
// more miss of the CPU caches on every request.
type pendingUse struct {
	last     time.Time
	ip, ua   string // ips[0] and uas[0], or ""
	ips, uas []string
}

func newUsageBuffer() *usageBuffer {
	b := &usageBuffer{}
	for i := range b.shards {
		b.shards[i].pending = make(map[int64]*pendingUse)
	}
	return b
}

func (b *usageBuffer) note(id int64, at time.Time, ip, ua string) {
	sh := &b.shards[uint64(id)%uint64(len(b.shards))]
	sh.mu.Lock()
	u, ok := sh.pending[id]
	if !ok {
		u = &pendingUse{}
		sh.pending[id] = u
	}
	if at.After(u.last) {
		u.last = at
	}
	if ip != "" && ip != u.ip {
		u.ips = botgate.MergeRecent([]string{ip}, u.ips, botgate.MaxRecentClients)
		u.ip = ip
	}
	if ua != "" && ua != u.ua {
		u.uas = botgate.MergeRecent([]string{ua}, u.uas, botgate.MaxRecentClients)
		u.ua = ua
	}
	sh.mu.Unlock()
}

func (b *usageBuffer) take() []botgate.TokenUsage {
	var out []botgate.TokenUsage
	for i := range b.shards {
		sh := &b.shards[i]
		sh.mu.Lock()
		for id, u := range sh.pending {
			out = append(out, botgate.TokenUsage{TokenID: id, LastUsedAt: u.last, IPs: u.ips, UserAgents: u.uas})
		}
		clear(sh.pending)
		sh.mu.Unlock()
	}
	return out
}

// FlushUsage writes the coalesced usage recorded since the last flush.
func (s *Service) FlushUsage(ctx context.Context) error {
	batch := s.usage.take()
	if len(batch) == 0 {
		return nil
	}
	err := s.store.Update(ctx, func(tx botgate.Tx) error { return tx.RecordTokenUsage(ctx, batch) })
	if err != nil {
		s.log.Error("writing token usage", "tokens", len(batch), "err", err)
		return botgate.E("authority.FlushUsage", err)
	}
	return nil
}

func (s *Service) usageLoop(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = s.FlushUsage(context.Background())
		}
	}
}
