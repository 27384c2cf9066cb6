// Package broker mints, stores, rotates and revokes real tokens on an
// upstream GitLab for botgate's automations, and runs the rotation
// scheduler.
//
// Each automation gets its own upstream token (a project access token, a
// group access token, or a group service account's personal access
// token), never a copy of a shared one. The upstream admin or owner
// credential that mints it is a secret in the owning team's vault; the
// broker reads it for each upstream call and never returns, logs or
// stores it anywhere else. The minted token goes into the same team's
// vault, as the secret "upstream-<automation>", where the automation's
// bound token or the gateway reads it.
//
// # Rotation without a gap
//
// The broker rotates by overlap: it mints a new token, stores it in the
// vault together with the credential's new state (one transaction, a
// conditional write), and only then revokes the old token upstream. An
// upstream that fails before the new token is stored leaves the old token
// in place and valid; the attempt is audited and retried with exponential
// backoff. A failed revocation of the old token is remembered
// (PendingRevokeID) and retried the same way. With a RevokeGrace, the old
// token stays valid that long after its successor is stored (readers such
// as the gateway cache a value for a while) and the scheduler revokes it
// afterwards. Overlap means a project or
// group access token's rotation creates a new bot user upstream (as
// creating any project access token does); the token's name, scopes and
// role stay the same.
//
// # Scheduler
//
// Scheduler.RunOnce runs under a lease held in the store, so that of
// several botgate servers on one database one at a time does the work;
// it mints pending credentials, retries pending revocations, rotates
// tokens within their lead time (RotateBefore) and tells owners by webhook
// about tokens expiring within the notice period.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// Config configures a Broker. Store and Vault are required.
type Config struct {
	Store    botgate.Store
	Vault    *authority.Vault
	Upstream Upstream // default: &GitLab{}
	Clock    botgate.Clock
	Logger   *slog.Logger
	// BackoffBase is the wait after the first failure (default 1 minute);
	// each further failure doubles it, up to BackoffMax (default 1 hour).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// RevokeGrace is how long a replaced upstream token stays valid after
	// its successor is stored, for readers that cache the old value (the
	// gateway keeps vault values for a minute). The scheduler revokes it
	// once the grace has passed. Zero revokes at once.
	RevokeGrace time.Duration
}

// Broker manages upstream credentials. It is safe for concurrent use.
type Broker struct {
	store   botgate.Store
	vault   *authority.Vault
	up      Upstream
	clock   botgate.Clock
	log     *slog.Logger
	base    time.Duration
	maxWait time.Duration
	grace   time.Duration
}

// New returns a Broker.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil || cfg.Vault == nil {
		return nil, fmt.Errorf("broker: Config.Store and Config.Vault are required")
	}
	b := &Broker{store: cfg.Store, vault: cfg.Vault, up: cfg.Upstream, clock: cfg.Clock, log: cfg.Logger,
		base: cfg.BackoffBase, maxWait: cfg.BackoffMax, grace: max(cfg.RevokeGrace, 0)}
	if b.up == nil {
		b.up = &GitLab{}
	}
	if b.clock == nil {
		b.clock = botgate.SystemClock{}
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.base <= 0 {
		b.base = time.Minute
	}
	if b.maxWait <= 0 {
		b.maxWait = time.Hour
	}
	return b, nil
}

// NewCredential describes an upstream credential to register.
type NewCredential struct {
	GroupID     int64  // the owning team
	Automation  string // what the token serves; unique per team
	UpstreamURL string
	// AdminSecret names the team's vault secret holding the upstream
	// credential that mints (an admin's, or an Owner's of the target).
	AdminSecret      string
	Kind             botgate.TokenKind
	Target           string // upstream project or group: id or full path
	ServiceAccountID int64  // existing upstream service account (optional)
	TokenName        string // default: the automation
	Scopes           []string
	AccessLevel      botgate.AccessLevel // default Developer, for project and group tokens
	Lifetime         time.Duration       // default 30 days
	RotateBefore     time.Duration       // default 7 days
	AutoRotate       bool
	Notify           string // webhook URL for expiry notices (optional)
}

// SecretName is the vault secret that holds an automation's minted token.
func SecretName(automation string) string { return "upstream-" + automation }

// Create registers an upstream credential for an automation and mints its
// first token. The credential is stored even when minting fails (state
// pending, with the error), so that the scheduler retries it. Maintainers
// and Owners of the team (people) and administrators may.
//
// Errors: KindInvalid for bad input; KindNotFound for a group or admin
// secret the actor cannot see; KindForbidden; KindConflict if the team
// already has a credential for the automation; the mint's error, with
// the credential left pending.
func (b *Broker) Create(ctx context.Context, a authority.Actor, in NewCredential) (*botgate.UpstreamCredential, error) {
	const op = "broker.Create"
	c, err := b.validate(in)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	err = b.store.Update(ctx, func(tx botgate.Tx) error {
		g, err := b.authorize(ctx, tx, a, in.GroupID)
		if err != nil {
			return err
		}
		admin, err := tx.SecretByName(ctx, g.ID, in.AdminSecret)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.Invalid("admin_secret", "the team %s has no vault secret %q", g.FullPath, in.AdminSecret)
		}
		if err != nil {
			return err
		}
		now := b.clock.Now()
		c.OwnerGroupID, c.AdminSecretID, c.CreatedAt, c.UpdatedAt = g.ID, admin.ID, now, now
		if a.User != nil {
			c.CreatedByID = a.User.ID
		}
		if err := tx.CreateUpstreamCredential(ctx, c); err != nil {
			return err
		}
		return b.vault.Audit(ctx, tx, a, botgate.ActionUpstreamCreate, "upstream_credential", c.ID, g.FullPath+"/"+c.Automation,
			b.details(c))
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	if err := b.Mint(ctx, c.ID); err != nil {
		fresh, _ := b.Credential(ctx, c.ID)
		if fresh != nil {
			c = fresh
		}
		return c, botgate.E(op, err)
	}
	return b.Credential(ctx, c.ID)
}

func (b *Broker) validate(in NewCredential) (*botgate.UpstreamCredential, error) {
	if err := botgate.ValidateSecretName(in.Automation); err != nil {
		return nil, botgate.Invalid("automation", "automation %q: letters, digits, '_', '.' and '-' only", in.Automation)
	}
	if _, err := botgate.ParseHTTPURL("upstream_url", in.UpstreamURL); err != nil {
		return nil, err
	}
	if in.AdminSecret == "" {
		return nil, botgate.Invalid("admin_secret", "admin_secret is missing")
	}
	if in.Target == "" {
		return nil, botgate.Invalid("target", "target is missing: the upstream project or group, by id or full path")
	}
	scopes, err := botgate.ParseScopes(in.Scopes)
	if err != nil {
		return nil, err
	}
	level := in.AccessLevel
	switch in.Kind {
	case botgate.ProjectAccessToken, botgate.GroupAccessToken:
		if level == 0 {
			level = botgate.DeveloperAccess
		}
		if !level.ValidTokenLevel() {
			return nil, botgate.Invalid("access_level", "access_level does not have a valid value (10, 15, 20, 30, 40 or 50)")
		}
	case botgate.ServiceAccountToken:
		level = 0
	default:
		return nil, botgate.Invalid("kind", "kind must be project_access, group_access or service_account")
	}
	name := in.TokenName
	if name == "" {
		name = in.Automation
	}
	if err := botgate.ValidateTokenName(name); err != nil {
		return nil, err
	}
	lifetime, before := in.Lifetime, in.RotateBefore
	if lifetime == 0 {
		lifetime = 30 * 24 * time.Hour
	}
	if before == 0 {
		before = 7 * 24 * time.Hour
	}
	if lifetime < 48*time.Hour {
		return nil, botgate.Invalid("lifetime", "lifetime must be at least 2 days")
	}
	if before <= 0 || before >= lifetime {
		return nil, botgate.Invalid("rotate_before", "rotate_before must be positive and shorter than the lifetime")
	}
	if in.Notify != "" {
		if _, err := botgate.ParseHTTPURL("notify", in.Notify); err != nil {
			return nil, err
		}
	}
	return &botgate.UpstreamCredential{
		Automation: in.Automation, UpstreamURL: strings.TrimRight(in.UpstreamURL, "/"), Kind: in.Kind, Target: in.Target,
		ServiceAccountID: in.ServiceAccountID, TokenName: name, Scopes: scopes, AccessLevel: level,
		Lifetime: lifetime, RotateBefore: before, AutoRotate: in.AutoRotate, Notify: in.Notify, State: botgate.UpstreamPending,
	}, nil
}

// authorize checks that the actor may manage the team's upstream
// credentials: administrators and botgate itself, or a person with the
// Maintainer role on the team.
func (b *Broker) authorize(ctx context.Context, tx botgate.Tx, a authority.Actor, groupID int64) (*botgate.Group, error) {
	g, err := tx.Group(ctx, groupID)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Group")
	}
	if err != nil {
		return nil, err
	}
	if a.System {
		return g, nil
	}
	if a.User == nil || !a.User.Active() {
		return nil, botgate.NotFound("Group")
	}
	if a.Token != nil && !a.Token.Scopes.Has(botgate.ScopeAPI) {
		return nil, &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: string(botgate.ScopeAPI)}
	}
	if a.User.Admin {
		return g, nil
	}
	level, err := authority.AccessOn(ctx, tx, a.User.ID, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, b.clock.Now())
	if err != nil {
		return nil, err
	}
	switch {
	case level == botgate.NoAccess:
		return nil, botgate.NotFound("Group")
	case a.User.Kind != botgate.HumanUser:
		return nil, botgate.Errorf(botgate.KindForbidden, "bots cannot manage upstream credentials")
	case level < botgate.MaintainerAccess:
		return nil, botgate.Errorf(botgate.KindForbidden, "managing upstream credentials requires the Maintainer role on the team; you have %s", level)
	}
	return g, nil
}

// Credential returns a credential by id (no authorization: for callers
// that already checked, and the scheduler).
func (b *Broker) Credential(ctx context.Context, id int64) (*botgate.UpstreamCredential, error) {
	var c *botgate.UpstreamCredential
	err := b.store.View(ctx, func(tx botgate.Tx) (err error) {
		c, err = tx.UpstreamCredential(ctx, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("broker.Credential", err)
	}
	return c, nil
}

// Get returns one credential, for those who may manage its team's
// credentials. One they may not reads as not found.
func (b *Broker) Get(ctx context.Context, a authority.Actor, id int64) (*botgate.UpstreamCredential, error) {
	var c *botgate.UpstreamCredential
	err := b.store.View(ctx, func(tx botgate.Tx) (err error) {
		c, err = tx.UpstreamCredential(ctx, id)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Upstream credential")
		}
		if err != nil {
			return err
		}
		if _, err := b.authorize(ctx, tx, a, c.OwnerGroupID); err != nil {
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("Upstream credential")
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E("broker.Get", err)
	}
	return c, nil
}

// List returns the team's upstream credentials, for those who may manage
// them.
func (b *Broker) List(ctx context.Context, a authority.Actor, groupID int64) ([]*botgate.UpstreamCredential, error) {
	var out []*botgate.UpstreamCredential
	err := b.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := b.authorize(ctx, tx, a, groupID); err != nil {
			return err
		}
		var err error
		out, _, err = tx.FindUpstreamCredentials(ctx, botgate.UpstreamCredentialFilter{OwnerGroupID: groupID})
		return err
	})
	if err != nil {
		return nil, botgate.E("broker.List", err)
	}
	return out, nil
}

// adminCredential reads the upstream admin credential from the vault, as
// botgate (the read is audited). The caller zeroes it after use.
func (b *Broker) adminCredential(ctx context.Context, c *botgate.UpstreamCredential) ([]byte, error) {
	v, _, err := b.vault.ReadSecretByID(ctx, authority.SystemActor(), c.AdminSecretID)
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInternal, "the upstream admin credential (vault secret %d) cannot be read: %s", c.AdminSecretID, botgate.MessageOf(err))
	}
	return v, nil
}

func (b *Broker) expiry(c *botgate.UpstreamCredential) time.Time {
	d := botgate.Date(b.clock.Now().Add(c.Lifetime))
	if today := botgate.Date(b.clock.Now()); !d.After(today) {
		d = today.AddDate(0, 0, 1)
	}
	return d
}

// Mint mints the first token of a pending credential. A credential that
// is already active is left alone (KindConflict).
func (b *Broker) Mint(ctx context.Context, id int64) error {
	c, err := b.Credential(ctx, id)
	if err != nil {
		return err
	}
	if c.State != botgate.UpstreamPending {
		return botgate.E("broker.Mint", botgate.Errorf(botgate.KindConflict, "upstream credential %d is %s, not pending", id, c.State))
	}
	return b.replace(ctx, c, botgate.ActionUpstreamMint, botgate.ActionUpstreamMintFailed)
}

// Rotate replaces the credential's upstream token now: a new token is
// minted and stored, then the old one is revoked upstream. Actors as for
// Create; the scheduler rotates as botgate.
func (b *Broker) Rotate(ctx context.Context, a authority.Actor, id int64) error {
	const op = "broker.Rotate"
	c, err := b.Credential(ctx, id)
	if err != nil {
		return botgate.E(op, err)
	}
	if err := b.store.View(ctx, func(tx botgate.Tx) error { _, err := b.authorize(ctx, tx, a, c.OwnerGroupID); return err }); err != nil {
		return botgate.E(op, err)
	}
	if c.State != botgate.UpstreamActive {
		return botgate.E(op, botgate.Errorf(botgate.KindConflict, "upstream credential %d is %s; only an active one rotates", id, c.State))
	}
	return b.replace(ctx, c, botgate.ActionUpstreamRotate, botgate.ActionUpstreamRotateFailed)
}

// replace mints a new token for c and stores it with c's new state; for
// an active c the old token is then revoked.
func (b *Broker) replace(ctx context.Context, c *botgate.UpstreamCredential, okAction, failAction string) error {
	const op = "broker.replace"
	admin, err := b.adminCredential(ctx, c)
	if err != nil {
		return b.failed(ctx, c.ID, failAction, err, 0)
	}
	defer clear(admin)
	m, err := b.up.Mint(ctx, c, string(admin), b.expiry(c))
	if err != nil {
		return b.failed(ctx, c.ID, failAction, err, m.ServiceAccountID)
	}
	value := []byte(m.Value)
	defer clear(value)
	old := c.UpstreamTokenID
	err = b.store.Update(ctx, func(tx botgate.Tx) error {
		cur, err := tx.UpstreamCredential(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.Version != c.Version {
			return botgate.Errorf(botgate.KindConflict, "upstream credential %d changed while its token was minted", c.ID)
		}
		sec, _, err := b.vault.PutSecretTx(ctx, tx, authority.SystemActor(), authority.NewSecret{
			GroupID: cur.OwnerGroupID, Name: SecretName(cur.Automation), Value: value,
			Description: "upstream token of " + cur.Automation + " at " + cur.UpstreamURL + ", minted by botgate",
		})
		if err != nil {
			return err
		}
		now := b.clock.Now()
		exp := m.ExpiresAt
		cur.SecretID, cur.UpstreamTokenID, cur.ExpiresAt, cur.State = sec.ID, m.TokenID, &exp, botgate.UpstreamActive
		if m.ServiceAccountID != 0 {
			cur.ServiceAccountID = m.ServiceAccountID
		}
		cur.Attempts, cur.NextAttemptAt, cur.LastError, cur.NotifiedAt, cur.UpdatedAt = 0, nil, "", nil, now
		if old != 0 {
			cur.PendingRevokeID = old
			if b.grace > 0 {
				// The scheduler revokes it once readers caching it moved on.
				at := now.Add(b.grace)
				cur.NextAttemptAt = &at
			}
		}
		if err := tx.UpdateUpstreamCredential(ctx, cur); err != nil {
			return err
		}
		d := b.details(cur)
		d["upstream_token_id"] = itoa(m.TokenID)
		d["expires_at"] = exp.Format(botgate.DateFormat)
		if old != 0 {
			d["previous_upstream_token_id"] = itoa(old)
		}
		*c = *cur
		return b.vault.Audit(ctx, tx, authority.SystemActor(), okAction, "upstream_credential", cur.ID, cur.Automation, d)
	})
	if err != nil {
		// The new token was not stored: take it back upstream, so nothing
		// valid is left that botgate does not hold.
		owner := *c
		if m.ServiceAccountID != 0 {
			owner.ServiceAccountID = m.ServiceAccountID
		}
		rerr := b.up.Revoke(ctx, &owner, string(admin), m.TokenID)
		if rerr != nil {
			b.log.Error("revoking an unstored upstream token", "credential_id", c.ID, "upstream_token_id", m.TokenID, "err", rerr)
		}
		if botgate.IsKind(err, botgate.KindConflict) {
			// Another rotation (another server, a person) won: the
			// credential is fine; only this attempt's token goes.
			d := b.details(c)
			d["upstream_token_id"], d["reason"] = itoa(m.TokenID), "a concurrent rotation won; this attempt's token was revoked"
			if rerr != nil {
				d["reason"] = "a concurrent rotation won; revoking this attempt's token failed: " + botgate.MessageOf(rerr)
			}
			if aerr := b.store.Update(context.WithoutCancel(ctx), func(tx botgate.Tx) error {
				return b.vault.Audit(ctx, tx, authority.SystemActor(), failAction, "upstream_credential", c.ID, c.Automation, d)
			}); aerr != nil {
				b.log.Error("recording a lost rotation race", "credential_id", c.ID, "err", aerr)
			}
			return botgate.E("broker", err)
		}
		return b.failed(ctx, c.ID, failAction, fmt.Errorf("storing the new token: %w", err), m.ServiceAccountID)
	}
	b.log.Info("upstream token stored", "credential_id", c.ID, "automation", c.Automation, "upstream_token_id", m.TokenID, "action", okAction)
	if c.PendingRevokeID != 0 && b.grace == 0 {
		return b.revokePending(ctx, c, admin)
	}
	return nil
}

// revokePending revokes the replaced token upstream and clears the mark.
func (b *Broker) revokePending(ctx context.Context, c *botgate.UpstreamCredential, admin []byte) error {
	tokenID := c.PendingRevokeID
	if err := b.up.Revoke(ctx, c, string(admin), tokenID); err != nil {
		return b.failed(ctx, c.ID, botgate.ActionUpstreamRevokeFailed, err, 0)
	}
	return b.store.Update(ctx, func(tx botgate.Tx) error {
		cur, err := tx.UpstreamCredential(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.PendingRevokeID == tokenID {
			cur.PendingRevokeID, cur.Attempts, cur.NextAttemptAt, cur.LastError, cur.UpdatedAt = 0, 0, nil, "", b.clock.Now()
			if err := tx.UpdateUpstreamCredential(ctx, cur); err != nil {
				return err
			}
		}
		d := b.details(cur)
		d["upstream_token_id"] = itoa(tokenID)
		d["reason"] = "replaced by rotation"
		*c = *cur
		return b.vault.Audit(ctx, tx, authority.SystemActor(), botgate.ActionUpstreamRevoke, "upstream_credential", cur.ID, cur.Automation, d)
	})
}

// RetryRevoke retries the revocation of a replaced token.
func (b *Broker) RetryRevoke(ctx context.Context, id int64) error {
	c, err := b.Credential(ctx, id)
	if err != nil {
		return err
	}
	if c.PendingRevokeID == 0 {
		return nil
	}
	admin, err := b.adminCredential(ctx, c)
	if err != nil {
		return b.failed(ctx, c.ID, botgate.ActionUpstreamRevokeFailed, err, 0)
	}
	defer clear(admin)
	return b.revokePending(ctx, c, admin)
}

// failed records a failed attempt: the error (its safe message), one more
// attempt, the time of the next one (exponential backoff), and an audit
// event. It returns cause.
func (b *Broker) failed(ctx context.Context, id int64, action string, cause error, serviceAccount int64) error {
	msg := botgate.MessageOf(cause)
	if msg == "" {
		msg = botgate.KindOf(cause).String()
	}
	ctx = context.WithoutCancel(ctx) // a failure is recorded even if the caller gave up
	err := b.store.Update(ctx, func(tx botgate.Tx) error {
		cur, err := tx.UpstreamCredential(ctx, id)
		if err != nil {
			return err
		}
		now := b.clock.Now()
		cur.Attempts++
		next := now.Add(b.backoff(cur.Attempts))
		cur.NextAttemptAt, cur.LastError, cur.UpdatedAt = &next, msg, now
		if serviceAccount != 0 && cur.ServiceAccountID == 0 {
			cur.ServiceAccountID = serviceAccount
		}
		if err := tx.UpdateUpstreamCredential(ctx, cur); err != nil {
			return err
		}
		d := b.details(cur)
		d["error"], d["attempt"], d["next_attempt_at"] = msg, itoa(int64(cur.Attempts)), next.UTC().Format(time.RFC3339)
		return b.vault.Audit(ctx, tx, authority.SystemActor(), action, "upstream_credential", cur.ID, cur.Automation, d)
	})
	if err != nil {
		b.log.Error("recording an upstream failure", "credential_id", id, "err", err)
	}
	b.log.Warn("upstream credential attempt failed", "credential_id", id, "action", action, "err", msg)
	return botgate.E("broker", cause)
}

// backoff is the wait after the n-th consecutive failure.
func (b *Broker) backoff(n int) time.Duration {
	d := b.base
	for i := 1; i < n && d < b.maxWait; i++ {
		d *= 2
	}
	return min(d, b.maxWait)
}

// Remove revokes the automation's upstream tokens (the current one and any
// still pending revocation), deletes the minted token from the vault and
// the credential itself. The upstream admin credential stays in the vault.
// If the upstream fails, nothing is removed (the attempt is audited), so
// that Remove can be retried.
func (b *Broker) Remove(ctx context.Context, a authority.Actor, id int64) error {
	const op = "broker.Remove"
	c, err := b.Credential(ctx, id)
	if err != nil {
		return botgate.E(op, err)
	}
	if err := b.store.View(ctx, func(tx botgate.Tx) error { _, err := b.authorize(ctx, tx, a, c.OwnerGroupID); return err }); err != nil {
		return botgate.E(op, err)
	}
	if c.UpstreamTokenID != 0 || c.PendingRevokeID != 0 {
		admin, err := b.adminCredential(ctx, c)
		if err != nil {
			return b.failed(ctx, c.ID, botgate.ActionUpstreamRevokeFailed, err, 0)
		}
		defer clear(admin)
		for _, tid := range []int64{c.PendingRevokeID, c.UpstreamTokenID} {
			if tid == 0 {
				continue
			}
			if err := b.up.Revoke(ctx, c, string(admin), tid); err != nil {
				return b.failed(ctx, c.ID, botgate.ActionUpstreamRevokeFailed, err, 0)
			}
		}
	}
	err = b.store.Update(ctx, func(tx botgate.Tx) error {
		cur, err := tx.UpstreamCredential(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteUpstreamCredential(ctx, id); err != nil {
			return err
		}
		if cur.SecretID != 0 {
			if err := b.vault.DeleteSecretTx(ctx, tx, authority.SystemActor(), cur.SecretID); err != nil && !botgate.IsKind(err, botgate.KindNotFound) {
				return err
			}
		}
		d := b.details(cur)
		d["upstream_token_id"] = idStr(cur.UpstreamTokenID)
		d["reason"] = "automation removed"
		return b.vault.Audit(ctx, tx, a, botgate.ActionUpstreamRevoke, "upstream_credential", cur.ID, cur.Automation, d)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	return nil
}

// RemoveAutomation is Remove for the team's credential of the automation.
// It does nothing if there is none.
func (b *Broker) RemoveAutomation(ctx context.Context, a authority.Actor, groupID int64, automation string) error {
	var found []*botgate.UpstreamCredential
	err := b.store.View(ctx, func(tx botgate.Tx) (err error) {
		found, _, err = tx.FindUpstreamCredentials(ctx, botgate.UpstreamCredentialFilter{OwnerGroupID: groupID, Automation: automation})
		return err
	})
	if err != nil {
		return botgate.E("broker.RemoveAutomation", err)
	}
	for _, c := range found {
		if err := b.Remove(ctx, a, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// details is the audit detail of a credential; it never holds a secret.
func (b *Broker) details(c *botgate.UpstreamCredential) map[string]string {
	d := map[string]string{
		"automation":      c.Automation,
		"upstream_url":    c.UpstreamURL,
		"kind":            string(c.Kind),
		"target":          c.Target,
		"token_name":      c.TokenName,
		"scopes":          c.Scopes.String(),
		"owner_group_id":  itoa(c.OwnerGroupID),
		"admin_secret_id": itoa(c.AdminSecretID),
	}
	if c.AccessLevel != 0 {
		d["access_level"] = itoa(int64(c.AccessLevel))
	}
	if c.ServiceAccountID != 0 {
		d["service_account_id"] = itoa(c.ServiceAccountID)
	}
	return d
}

func itoa(v int64) string { return fmt.Sprint(v) }

func idStr(v int64) string {
	if v == 0 {
		return ""
	}
	return itoa(v)
}
