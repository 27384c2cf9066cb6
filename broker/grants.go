package broker

import (
	"context"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// Grant is an upstream token minted for one job.
type Grant struct {
	// ID is the grant's record, which the job's end (EndGrant) or the
	// sweeper revokes.
	ID int64
	// Value is the upstream token; it is handed to the job and never
	// stored or logged.
	Value string
	// UpstreamURL is where the token works.
	UpstreamURL string
	// ExpiresAt is when botgate revokes it at the latest (the upstream
	// expiry, a date, is later: GitLab's shortest lifetime is one day).
	ExpiresAt time.Time
}

// JobGrant asks for an upstream token of an automation for one job.
type JobGrant struct {
	// OwnerGroupID and Automation name the automation's upstream
	// credential (the owner team's, for that automation).
	OwnerGroupID int64
	Automation   string
	// TTL is how long the job may use it.
	TTL time.Duration
	// Subject and Identity say who the job is, for the audit log.
	Subject  string
	Identity map[string]string
}

// GrantJob mints a fresh upstream token of the automation's active
// credential (same kind, target, scopes and role; GitLab's shortest
// lifetime, one day), records the grant with its botgate expiry (now+TTL)
// and audits it with the job's identity. If the grant cannot be recorded
// the token is revoked upstream at once. Errors: KindNotFound if the
// automation has no active upstream credential; the upstream's errors.
func (b *Broker) GrantJob(ctx context.Context, j JobGrant) (*Grant, error) {
	const op = "broker.GrantJob"
	var c *botgate.UpstreamCredential
	err := b.store.View(ctx, func(tx botgate.Tx) error {
		cs, _, err := tx.FindUpstreamCredentials(ctx, botgate.UpstreamCredentialFilter{OwnerGroupID: j.OwnerGroupID,
			Automation: j.Automation, States: []botgate.UpstreamState{botgate.UpstreamActive}})
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return botgate.Errorf(botgate.KindNotFound, "automation %s has no active upstream credential: register one (botgate broker add) to get upstream tokens", j.Automation)
		}
		c = cs[0]
		return nil
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	admin, err := b.adminCredential(ctx, c)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	defer clear(admin)
	now := b.clock.Now()
	job := *c
	job.TokenName = c.TokenName + " (job)"
	m, err := b.up.Mint(ctx, &job, string(admin), botgate.Date(now).AddDate(0, 0, 1))
	if err != nil {
		return nil, botgate.E(op, err)
	}
	g := &botgate.UpstreamGrant{CredentialID: c.ID, UpstreamTokenID: m.TokenID, Subject: j.Subject,
		ExpiresAt: now.Add(j.TTL), CreatedAt: now}
	err = b.store.Update(ctx, func(tx botgate.Tx) error {
		if err := tx.CreateUpstreamGrant(ctx, g); err != nil {
			return err
		}
		d := b.details(c)
		d["upstream_token_id"], d["expires_at"], d["subject"] = itoa(m.TokenID), g.ExpiresAt.UTC().Format(time.RFC3339), j.Subject
		for k, v := range j.Identity {
			if v != "" {
				d["job."+k] = v
			}
		}
		return b.vault.Audit(ctx, tx, authority.SystemActor(), botgate.ActionUpstreamGrant, "upstream_grant", g.ID, c.Automation, d)
	})
	if err != nil {
		if rerr := b.up.Revoke(context.WithoutCancel(ctx), &job, string(admin), m.TokenID); rerr != nil {
			b.log.Error("revoking an unrecorded job token", "credential_id", c.ID, "upstream_token_id", m.TokenID, "err", rerr)
		}
		return nil, botgate.E(op, err)
	}
	b.log.Info("upstream job token granted", "credential_id", c.ID, "automation", c.Automation, "grant_id", g.ID, "upstream_token_id", m.TokenID)
	return &Grant{ID: g.ID, Value: m.Value, UpstreamURL: c.UpstreamURL, ExpiresAt: g.ExpiresAt}, nil
}

// EndGrant revokes the grant's token upstream and marks it revoked (the
// job ended, or its time passed). A grant already ended is left alone.
func (b *Broker) EndGrant(ctx context.Context, id int64, reason string) error {
	const op = "broker.EndGrant"
	var (
		g *botgate.UpstreamGrant
		c *botgate.UpstreamCredential
	)
	err := b.store.View(ctx, func(tx botgate.Tx) (err error) {
		if g, err = tx.UpstreamGrant(ctx, id); err != nil {
			return err
		}
		c, err = tx.UpstreamCredential(ctx, g.CredentialID)
		return err
	})
	if err != nil {
		return botgate.E(op, err)
	}
	if g.RevokedAt != nil {
		return nil
	}
	admin, err := b.adminCredential(ctx, c)
	if err != nil {
		return botgate.E(op, err)
	}
	defer clear(admin)
	if err := b.up.Revoke(ctx, c, string(admin), g.UpstreamTokenID); err != nil {
		return botgate.E(op, err)
	}
	err = b.store.Update(ctx, func(tx botgate.Tx) error {
		if err := tx.RevokeUpstreamGrant(ctx, g.ID, b.clock.Now()); err != nil {
			return err
		}
		d := b.details(c)
		d["upstream_token_id"], d["reason"], d["subject"] = itoa(g.UpstreamTokenID), reason, g.Subject
		return b.vault.Audit(ctx, tx, authority.SystemActor(), botgate.ActionUpstreamGrantRevoke, "upstream_grant", g.ID, c.Automation, d)
	})
	if err != nil && !botgate.IsKind(err, botgate.KindConflict) { // conflict: ended concurrently
		return botgate.E(op, err)
	}
	return nil
}

// SweepGrants revokes the job tokens whose time has passed, up to limit
// of them, and returns how many it revoked. A failure is logged and the
// grant retried on the next sweep.
func (b *Broker) SweepGrants(ctx context.Context, limit int) (int, error) {
	var due []*botgate.UpstreamGrant
	err := b.store.View(ctx, func(tx botgate.Tx) (err error) {
		due, err = tx.FindExpiredUpstreamGrants(ctx, b.clock.Now(), limit)
		return err
	})
	if err != nil {
		return 0, botgate.E("broker.SweepGrants", err)
	}
	n := 0
	for _, g := range due {
		if err := b.EndGrant(ctx, g.ID, "expired"); err != nil {
			b.log.Warn("revoking an expired job token failed; retrying on the next sweep", "grant_id", g.ID, "err", err)
			continue
		}
		n++
	}
	return n, nil
}
