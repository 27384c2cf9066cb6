package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/notify"
)

// LeaseName is the store lease the rotation scheduler runs under.
const LeaseName = "broker.rotation-scheduler"

// SchedulerConfig configures a Scheduler. Broker and Holder are required.
type SchedulerConfig struct {
	Broker *Broker
	// Holder names this server in the lease (e.g. hostname and pid); it
	// must differ between servers.
	Holder string
	// Interval is the time between runs (default 1 minute). The lease is
	// held for three intervals, so that another server takes over when
	// this one stops.
	Interval time.Duration
	// NotifyWithin is the notice period: owners are told about tokens
	// expiring within it (default 14 days). Negative turns notices off.
	NotifyWithin time.Duration
	// HTTPClient posts webhooks (default: a client with a 10s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Scheduler rotates upstream tokens whose policy says so and tells their
// owners about tokens that expire soon. One Scheduler runs per server;
// the store lease makes sure one server at a time does the work.
type Scheduler struct {
	b        *Broker
	holder   string
	interval time.Duration
	notify   time.Duration
	hc       *http.Client
	log      *slog.Logger
}

// NewScheduler returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Broker == nil || cfg.Holder == "" {
		return nil, fmt.Errorf("broker: SchedulerConfig.Broker and Holder are required")
	}
	s := &Scheduler{b: cfg.Broker, holder: cfg.Holder, interval: cfg.Interval, notify: cfg.NotifyWithin, hc: cfg.HTTPClient, log: cfg.Logger}
	if s.interval <= 0 {
		s.interval = time.Minute
	}
	if s.notify == 0 {
		s.notify = 14 * 24 * time.Hour
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = cfg.Broker.log
	}
	return s, nil
}

// Report says what one run did.
type Report struct {
	// Skipped is true when another server holds the lease; Holder names it.
	Skipped bool
	Holder  string

	Minted   []int64 // credentials whose first token was minted
	Rotated  []int64 // credentials rotated
	Revoked  []int64 // replaced tokens revoked (retries)
	Notified []int64 // credentials whose owners were told of the expiry
	Failed   []int64 // credentials with a failed step (audited, retried later)
	// GrantsRevoked counts the job tokens (upstream grants) revoked
	// because their time passed.
	GrantsRevoked int
}

// RunOnce runs one pass, if this server gets the lease.
func (s *Scheduler) RunOnce(ctx context.Context) (Report, error) {
	const op = "broker.Scheduler.RunOnce"
	now := s.b.clock.Now()
	err := s.b.store.Update(ctx, func(tx botgate.Tx) error {
		_, err := tx.AcquireLease(ctx, LeaseName, s.holder, now, 3*s.interval)
		return err
	})
	if botgate.IsKind(err, botgate.KindConflict) {
		return Report{Skipped: true, Holder: botgate.MessageOf(err)}, nil
	}
	if err != nil {
		return Report{}, botgate.E(op, err)
	}
	var rep Report
	// Job tokens first: each one past its time is a live credential
	// nobody should hold any more.
	if rep.GrantsRevoked, err = s.b.SweepGrants(ctx, 100); err != nil {
		s.log.Warn("sweeping expired job tokens failed", "err", err)
	}
	var all []*botgate.UpstreamCredential
	err = s.b.store.View(ctx, func(tx botgate.Tx) (err error) {
		all, _, err = tx.FindUpstreamCredentials(ctx, botgate.UpstreamCredentialFilter{
			States: []botgate.UpstreamState{botgate.UpstreamPending, botgate.UpstreamActive}})
		return err
	})
	if err != nil {
		return rep, botgate.E(op, err)
	}
	for _, c := range all {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		// Renew the lease before each step, so that a long run keeps it
		// and a run that lost it (it lapsed, another server took over)
		// stops at once.
		err := s.b.store.Update(ctx, func(tx botgate.Tx) error {
			_, err := tx.AcquireLease(ctx, LeaseName, s.holder, s.b.clock.Now(), 3*s.interval)
			return err
		})
		if botgate.IsKind(err, botgate.KindConflict) {
			s.log.Warn("rotation scheduler lost its lease mid-run; stopping", "holder", s.holder)
			return rep, nil
		}
		if err != nil {
			return rep, botgate.E(op, err)
		}
		s.step(ctx, c, now, &rep)
	}
	return rep, nil
}

// step does what one credential needs at now.
func (s *Scheduler) step(ctx context.Context, c *botgate.UpstreamCredential, now time.Time, rep *Report) {
	due := c.NextAttemptAt == nil || !now.Before(*c.NextAttemptAt)
	switch {
	case c.State == botgate.UpstreamPending:
		if !due {
			return
		}
		if err := s.b.Mint(ctx, c.ID); err != nil {
			rep.Failed = append(rep.Failed, c.ID)
			return
		}
		rep.Minted = append(rep.Minted, c.ID)
		return
	case c.PendingRevokeID != 0 && due:
		if err := s.b.RetryRevoke(ctx, c.ID); err != nil {
			rep.Failed = append(rep.Failed, c.ID)
			return
		}
		rep.Revoked = append(rep.Revoked, c.ID)
	}
	if c.State == botgate.UpstreamActive && c.AutoRotate && c.ExpiresAt != nil && due &&
		!now.Before(c.ExpiresAt.Add(-c.RotateBefore)) {
		fresh, err := s.b.Credential(ctx, c.ID)
		if err != nil || fresh.State != botgate.UpstreamActive || fresh.UpstreamTokenID != c.UpstreamTokenID {
			return // changed meanwhile (rotated elsewhere)
		}
		if err := s.b.replace(ctx, fresh, botgate.ActionUpstreamRotate, botgate.ActionUpstreamRotateFailed); err != nil {
			rep.Failed = append(rep.Failed, c.ID)
		} else {
			rep.Rotated = append(rep.Rotated, c.ID)
		}
		return
	}
	if s.notify > 0 && c.Notify != "" && c.ExpiresAt != nil && c.NotifiedAt == nil && c.ExpiresAt.Sub(now) <= s.notify {
		if err := s.notifyExpiring(ctx, c, now); err != nil {
			s.log.Warn("expiry webhook failed", "credential_id", c.ID, "err", err)
			rep.Failed = append(rep.Failed, c.ID)
			return
		}
		rep.Notified = append(rep.Notified, c.ID)
	}
}

// ExpiryNotice is the JSON body of the expiry webhook.
type ExpiryNotice struct {
	Event           string    `json:"event"` // "upstream_token_expiring"
	Automation      string    `json:"automation"`
	OwnerGroupID    int64     `json:"owner_group_id"`
	UpstreamURL     string    `json:"upstream_url"`
	Kind            string    `json:"kind"`
	Target          string    `json:"target"`
	TokenName       string    `json:"token_name"`
	UpstreamTokenID int64     `json:"upstream_token_id"`
	ExpiresAt       string    `json:"expires_at"`
	DaysLeft        int       `json:"days_left"`
	AutoRotate      bool      `json:"auto_rotate"`
	SentAt          time.Time `json:"sent_at"`
}

// notifyExpiring posts the expiry notice and records it (once per token).
func (s *Scheduler) notifyExpiring(ctx context.Context, c *botgate.UpstreamCredential, now time.Time) error {
	n := ExpiryNotice{
		Event: "upstream_token_expiring", Automation: c.Automation, OwnerGroupID: c.OwnerGroupID, UpstreamURL: c.UpstreamURL,
		Kind: string(c.Kind), Target: c.Target, TokenName: c.TokenName, UpstreamTokenID: c.UpstreamTokenID,
		ExpiresAt: c.ExpiresAt.Format(botgate.DateFormat), DaysLeft: int(c.ExpiresAt.Sub(botgate.Date(now)).Hours() / 24),
		AutoRotate: c.AutoRotate, SentAt: now.UTC(),
	}
	// The webhook URL can itself be a credential: PostJSON's errors never
	// name it.
	status, err := notify.PostJSON(ctx, s.hc, notify.Webhook{URL: c.Notify, Event: n.Event}, n)
	if err != nil {
		return fmt.Errorf("the expiry notice: %w", err)
	}
	return s.b.store.Update(ctx, func(tx botgate.Tx) error {
		cur, err := tx.UpstreamCredential(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.NotifiedAt = &now
		if err := tx.UpdateUpstreamCredential(ctx, cur); err != nil {
			return err
		}
		d := s.b.details(cur)
		d["expires_at"], d["days_left"], d["webhook_status"] = n.ExpiresAt, itoa(int64(n.DaysLeft)), itoa(int64(status))
		return s.b.vault.Audit(ctx, tx, authority.SystemActor(), botgate.ActionUpstreamExpiring, "upstream_credential", cur.ID, cur.Automation, d)
	})
}

// Run runs a pass every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		rep, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("rotation scheduler run failed", "err", err)
		} else if len(rep.Minted)+len(rep.Rotated)+len(rep.Revoked)+len(rep.Notified)+len(rep.Failed) > 0 {
			s.log.Info("rotation scheduler run", "minted", len(rep.Minted), "rotated", len(rep.Rotated),
				"revoked", len(rep.Revoked), "notified", len(rep.Notified), "failed", len(rep.Failed))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
