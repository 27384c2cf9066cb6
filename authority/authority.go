// Package authority holds botgate's domain rules: who may create, rotate and
// revoke which tokens, role caps, bot users, service accounts, rotation
// families, expiry policy, authentication and the audit trail.
//
// Every rule lives here, above botgate.Store, so every storage backend gets
// the same behaviour. Every state change runs in one Store.Update together
// with its audit event: nothing is half-written, and nothing happens
// unrecorded.
package authority

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// Config configures a Service. Store and Pepper are required.
type Config struct {
	Store  botgate.Store
	Pepper []byte // at least 32 bytes, kept outside the database
	Clock  botgate.Clock
	Rand   io.Reader
	Logger *slog.Logger
	// Prefix is the token prefix (default "glpat-").
	Prefix string
	// Host names this instance in bot e-mail addresses
	// ("{username}@noreply.{Host}"); default "botgate.local".
	Host string
	// MaxLifetime caps a token's expiry (default 365 days); a negative
	// value removes the cap.
	MaxLifetime time.Duration
	// RequireExpiry makes expires_at mandatory: a token created without
	// one gets the maximum lifetime, and a rotation without one gets 7 days,
	// as GitLab does. Off by default: expiry is optional.
	RequireExpiry bool
	// CacheTTL bounds how long an authenticated token is trusted from
	// memory before the store is asked again (default 1 minute). Changes
	// made through this Service take effect at once; changes made by other
	// processes and nodes are seen through the store's revision (see
	// RevisionPoll) or a fan-out (OnChange); the TTL is only the backstop.
	CacheTTL time.Duration
	// RevisionPoll is how often the store's authentication revision is
	// read (default 1s; negative disables). Every change that can
	// invalidate an authentication (a token revoked or rotated, a user
	// deactivated, a membership changed) bumps it in the same
	// transaction, so a change made by another process or node on the same
	// store empties this Service's cache within one poll.
	RevisionPoll time.Duration
	// OnPurge, if set, is called after the revision watcher emptied the
	// cache, so that other caches (the gateway's memberships) follow.
	OnPurge func()
	// UsageFlushInterval is how often coalesced usage is written (default 10s).
	UsageFlushInterval time.Duration
	// RotationGrace is how long after a rotation the rotated-out token
	// still authenticates for ordinary calls, so that jobs still holding
	// it finish (see Authenticate). 0, the default, refuses it at once, as
	// GitLab does.
	RotationGrace time.Duration
	// OnChange, if set, is called after a committed change that may
	// invalidate authentication caches (revocation, rotation, deactivation),
	// with the affected token IDs (nil for "anything may have changed").
	// Multi-node deployments use it to fan out invalidations.
	OnChange func(tokenIDs []int64)
}

// Service applies the domain rules. It is safe for concurrent use. Create it
// with New and stop it with Close.
type Service struct {
	store       botgate.Store
	clock       botgate.Clock
	rand        io.Reader
	log         *slog.Logger
	prefix      string
	host        string
	maxLifetime time.Duration
	requireExp  bool
	grace       time.Duration
	onChange    func([]int64)
	onPurge     func()
	digester    *tokenfmt.Digester
	auditKey    []byte

	cache   *authCache
	users   *userIntern
	usage   *usageBuffer
	auditor *asyncAuditor

	// flushEvery and pollEvery pace Run's usage flushing and revision
	// watching (pollEvery < 0: no watching).
	flushEvery, pollEvery time.Duration
	stop                  chan struct{}
	runMu                 sync.Mutex // guards closed and done.Add
	closed                bool
	done                  sync.WaitGroup
	closeOne              sync.Once
	running               atomic.Bool // Run's loops are up
}

// New returns a Service. It starts nothing: Run does the background work
// (usage flushing, the asynchronous audit of failed authentications,
// watching the store's authentication revision), and Close writes what is
// pending, so a one-shot command needs neither.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("authority: Config.Store is required")
	}
	d, err := tokenfmt.NewDigester(cfg.Pepper)
	if err != nil {
		return nil, fmt.Errorf("authority: %w", err)
	}
	s := &Service{
		store:       cfg.Store,
		clock:       cfg.Clock,
		rand:        cfg.Rand,
		log:         cfg.Logger,
		prefix:      cfg.Prefix,
		host:        cfg.Host,
		maxLifetime: cfg.MaxLifetime,
		requireExp:  cfg.RequireExpiry,
		grace:       max(cfg.RotationGrace, 0),
		onChange:    cfg.OnChange,
		onPurge:     cfg.OnPurge,
		digester:    d,
		auditKey:    AuditKey(cfg.Pepper),
		stop:        make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = botgate.SystemClock{}
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.prefix == "" {
		s.prefix = tokenfmt.DefaultPrefix
	}
	if s.host == "" {
		s.host = "botgate.local"
	}
	if s.maxLifetime == 0 {
		s.maxLifetime = 365 * 24 * time.Hour
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = time.Minute
	}
	poll := cfg.RevisionPoll
	if poll == 0 {
		poll = time.Second
	}
	flush := cfg.UsageFlushInterval
	if flush == 0 {
		flush = 10 * time.Second
	}
	s.cache = newAuthCache(ttl, s.clock)
	s.users = newUserIntern()
	s.usage = newUsageBuffer()
	s.auditor = newAsyncAuditor(s, 4096)
	s.flushEvery, s.pollEvery = flush, poll
	return s, nil
}

// Run does the service's background work until ctx is done or Close is
// called: it flushes coalesced usage, writes the audit events of failed
// authentications, and (unless RevisionPoll is negative) polls the store's
// authentication revision to purge cached answers. It returns nil when
// stopped. A Service that is never run still authenticates; Close then
// writes its pending usage and audit events.
func (s *Service) Run(ctx context.Context) error {
	s.runMu.Lock()
	if s.closed {
		s.runMu.Unlock()
		return nil
	}
	s.done.Add(1)
	s.runMu.Unlock()
	defer s.done.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.running.Store(true)
	defer s.running.Store(false)
	var wg sync.WaitGroup
	wg.Add(2)
	go s.usageLoop(ctx.Done(), &wg)
	go s.auditor.run(ctx.Done(), &wg)
	if s.pollEvery > 0 {
		wg.Add(1)
		go s.watchRevision(ctx, &wg)
	}
	select {
	case <-ctx.Done():
	case <-s.stop:
		cancel()
	}
	wg.Wait()
	return nil
}

// Close stops Run, if it runs, and writes pending usage and audit events.
func (s *Service) Close() error {
	var err error
	s.closeOne.Do(func() {
		s.runMu.Lock()
		s.closed = true
		s.runMu.Unlock()
		close(s.stop)
		s.done.Wait()
		s.auditor.drain()
		err = s.FlushUsage(context.Background())
	})
	return err
}

// AuditKey derives the audit chain key from the pepper.
func AuditKey(pepper []byte) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("botgate audit chain v1"))
	return m.Sum(nil)
}

// Prefix returns the token prefix this instance issues.
func (s *Service) Prefix() string { return s.prefix }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// Actor is who asks for an operation: a user, the token they used, and where
// the request came from. The zero Actor with System set is botgate itself
// (init, offline CLI commands).
type Actor struct {
	User      *botgate.User
	Token     *botgate.Token
	IP        string
	UserAgent string
	System    bool
	// Name names a System actor in the audit log (default "botgate").
	Name string
}

// SystemActor is botgate acting on its own behalf.
func SystemActor() Actor { return Actor{System: true} }

// SecretDetectionActor is GitLab's secret detection reporting leaked
// tokens through the token revocation API, from the address and user agent
// given. It is a System actor: give it to ReportLeak only, once the
// caller has proved the pre-shared token.
func SecretDetectionActor(ip, userAgent string) Actor {
	return Actor{System: true, Name: "gitlab-secret-detection", IP: ip, UserAgent: userAgent}
}

// isAdmin reports whether the actor has instance-wide power.
func (a Actor) isAdmin() bool { return a.System || (a.User != nil && a.User.Admin && a.User.Active()) }

func (a Actor) userID() int64 {
	if a.User == nil {
		return 0
	}
	return a.User.ID
}

func (a Actor) tokenID() int64 {
	if a.Token == nil {
		return 0
	}
	return a.Token.ID
}

// event starts an audit event for the actor.
func (s *Service) event(a Actor, action, targetType string, targetID int64, targetName string) *botgate.AuditEvent {
	e := &botgate.AuditEvent{
		Time:       s.clock.Now(),
		ActorID:    a.userID(),
		TokenID:    a.tokenID(),
		Action:     action,
		TargetType: targetType,
		TargetID:   targetID,
		TargetName: targetName,
		IP:         a.IP,
		UserAgent:  a.UserAgent,
	}
	switch {
	case a.User != nil:
		e.ActorName = a.User.Username
	case a.System && a.Name != "":
		e.ActorName = a.Name
	case a.System:
		e.ActorName = "botgate"
	}
	return e
}

// record seals and appends events inside tx, on the audit lane the
// transaction holds, and moves the lane's recorded head, signed (see
// audithead.go), so that a truncated lane is detected. A change that can
// invalidate cached authentications also moves the lane's revision, which
// every node polls.
func (s *Service) record(ctx context.Context, tx botgate.Tx, events ...*botgate.AuditEvent) error {
	from, seqs, err := tx.LockAuditLane(ctx, len(events))
	if err != nil {
		return err
	}
	if len(seqs) != len(events) {
		return botgate.Errorf(botgate.KindInternal, "the store reserved %d audit sequence numbers for %d events", len(seqs), len(events))
	}
	head := from
	var rev int64
	for i, e := range events {
		e.Seal(s.auditKey, head, seqs[i])
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		head = botgate.AuditHead{Lane: e.Lane, Seq: e.LaneSeq, Hash: e.Hash}
		if invalidates(e.Action) {
			rev = e.Seq
		}
	}
	return tx.AdvanceAuditLane(ctx, from, botgate.AuditLane{AuditHead: head, Signed: signHead(s.auditKey, headUseRecorded, head), Revision: rev})
}

// update runs fn in a transaction beside other shared updates when the
// store allows it (see botgate.SharedUpdater), and in an ordinary Update
// otherwise; shared tells fn which. fn, when shared, must decide each race
// with a conditional write and touch only rows of its own: a case that
// needs more (a bot to deactivate, a membership to change) returns
// errWriterLock, and fn runs again in an ordinary Update.
func (s *Service) update(ctx context.Context, fn func(tx botgate.Tx, shared bool) error) error {
	if su, ok := s.store.(botgate.SharedUpdater); ok {
		err := su.UpdateShared(ctx, func(tx botgate.Tx) error { return fn(tx, true) })
		if !errors.Is(err, errWriterLock) {
			return err
		}
	}
	return s.store.Update(ctx, func(tx botgate.Tx) error { return fn(tx, false) })
}

// errWriterLock asks update to run its function again under the store's
// writer lock.
var errWriterLock = errors.New("this change needs the store's writer lock")

// changed tells the cache and any fan-out that tokens changed.
func (s *Service) changed(ids []int64) {
	s.cache.Purge()
	if s.onChange != nil {
		s.onChange(ids)
	}
}

// Purge drops every cached authentication, so that the next use of any
// token is checked against the store. Fan-out receivers call it.
func (s *Service) Purge() { s.cache.Purge() }

func (s *Service) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", botgate.E("authority.randomHex", botgate.KindInternal, err)
	}
	return hex.EncodeToString(b), nil
}

// details builds an audit details map from key/value pairs.
func details(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// forbidden is a KindForbidden refusal saying why, in plain words; the
// HTTP edge puts GitLab's status line before them.
func forbidden(format string, args ...any) error {
	return botgate.Errorf(botgate.KindForbidden, format, args...)
}

// notEmpty is a KindConflict refusal to delete what still holds others.
func notEmpty(format string, args ...any) error {
	return &botgate.Error{Kind: botgate.KindConflict, Reason: botgate.ReasonNotEmpty, Message: fmt.Sprintf(format, args...)}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Today returns today's date (00:00 UTC) on the service clock.
func (s *Service) Today() time.Time { return botgate.Date(s.clock.Now()) }

// maxScan bounds the rows read when every row of a set must be acted on
// (the memberships a token would carry, the users a deleted group owns);
// lists are filtered, sorted and paged by the store.
const maxScan = 100000

// setField sets *field to *v when v is given and differs from it, and then
// returns changed with name appended; otherwise it returns changed as is.
func setField[T comparable](changed []string, name string, field, v *T) []string {
	if v == nil || *v == *field {
		return changed
	}
	*field = *v
	return append(changed, name)
}

// recordChanged records e, an update's audit event, with the names of the
// fields it changed.
func (s *Service) recordChanged(ctx context.Context, tx botgate.Tx, e *botgate.AuditEvent, changed []string) error {
	e.Details = details("changed", strings.Join(changed, ","))
	return s.record(ctx, tx, e)
}
