package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

const secretCols = `id, owner_group_id, name, description, key_id, sealed, bound_family_id, bound_automation,
	created_by_id, created_at, updated_at, last_read_at, version`

func scanSecret(r scanner) (*botgate.Secret, error) {
	var (
		s                botgate.Secret
		created, updated int64
		lastRead         sql.NullInt64
	)
	if err := r.Scan(&s.ID, &s.OwnerGroupID, &s.Name, &s.Description, &s.KeyID, &s.Sealed, &s.BoundFamilyID,
		&s.BoundAutomation, &s.CreatedByID, &created, &updated, &lastRead, &s.Version); err != nil {
		return nil, err
	}
	s.CreatedAt = fromMicro(created)
	s.UpdatedAt = fromMicro(updated)
	s.LastReadAt = fromMicroPtr(lastRead)
	return &s, nil
}

// CreateSecret inserts s and sets its ID and Version.
func (t *Tx) CreateSecret(ctx context.Context, s *botgate.Secret) error {
	const op = "CreateSecret"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&s.CreatedAt)
	truncate(&s.UpdatedAt)
	s.LastReadAt = truncatePtr(s.LastReadAt)
	if s.Sealed == nil {
		s.Sealed = []byte{}
	}
	id, err := t.insertID(ctx, `INSERT INTO secrets (owner_group_id, name, description, key_id, sealed, bound_family_id,
		bound_automation, created_by_id, created_at, updated_at, last_read_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		s.OwnerGroupID, s.Name, s.Description, s.KeyID, s.Sealed, s.BoundFamilyID, s.BoundAutomation,
		s.CreatedByID, toMicro(s.CreatedAt), toMicro(s.UpdatedAt), toMicroPtr(s.LastReadAt))
	if err != nil {
		err = t.dbError(op, err)
		if e, ok := err.(*botgate.Error); ok && e.Kind == botgate.KindConflict {
			e.Field, e.Message = "name", "name has already been taken"
		}
		return refError(err, "owner_group_id", "owner group does not exist")
	}
	s.ID, s.Version = id, 1
	return nil
}

// Secret returns the secret with the ID.
func (t *Tx) Secret(ctx context.Context, id int64) (*botgate.Secret, error) {
	s, err := scanSecret(t.queryRow(ctx, `SELECT `+secretCols+` FROM secrets WHERE id = ?`, id))
	if err != nil {
		return nil, t.notFound("Secret", "Secret", err)
	}
	return s, nil
}

// SecretByName returns the owner's secret with the name.
func (t *Tx) SecretByName(ctx context.Context, ownerGroupID int64, name string) (*botgate.Secret, error) {
	s, err := scanSecret(t.queryRow(ctx, `SELECT `+secretCols+` FROM secrets WHERE owner_group_id = ? AND name = ?`, ownerGroupID, name))
	if err != nil {
		return nil, t.notFound("SecretByName", "Secret", err)
	}
	return s, nil
}

// FindSecrets returns the secrets matching f, ordered by ID, and the total.
func (t *Tx) FindSecrets(ctx context.Context, f botgate.SecretFilter) ([]*botgate.Secret, int, error) {
	w := t.where()
	in(&w, "id", f.IDs)
	if f.OwnerGroupID != 0 {
		w.add("owner_group_id = ?", f.OwnerGroupID)
	}
	if f.BoundFamilyID != 0 {
		w.add("bound_family_id = ?", f.BoundFamilyID)
	}
	if f.NotKeyID != "" {
		w.add("key_id <> ?", f.NotKeyID)
	}
	if f.AfterID != 0 {
		w.add("id > ?", f.AfterID)
	}
	return find(ctx, t, "FindSecrets", secretCols, "secrets", &w, "id", f.Page, scanSecret)
}

// UpdateSecret writes s if its version is still the stored one.
func (t *Tx) UpdateSecret(ctx context.Context, s *botgate.Secret) error {
	const op = "UpdateSecret"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&s.UpdatedAt)
	s.LastReadAt = truncatePtr(s.LastReadAt)
	n, err := t.execGuarded(ctx, `UPDATE secrets SET description = ?, key_id = ?, sealed = ?, bound_family_id = ?,
		bound_automation = ?, updated_at = ?, last_read_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		s.Description, s.KeyID, s.Sealed, s.BoundFamilyID, s.BoundAutomation, toMicro(s.UpdatedAt),
		toMicroPtr(s.LastReadAt), s.ID, s.Version)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.lostWrite(ctx, op, "secrets", "Secret", s.ID)
	}
	s.Version++
	return nil
}

// lostWrite tells a conditional write that matched no row apart: the row
// is gone (KindNotFound) or its version moved on (KindConflict).
func (t *Tx) lostWrite(ctx context.Context, op, table, thing string, id int64) error {
	var exists bool
	if err := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&exists); err != nil {
		return t.dbError(op, err)
	}
	if !exists {
		return t.notFound(op, thing, sql.ErrNoRows)
	}
	return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Message: strings.ToLower(thing) + " was changed concurrently"}
}

// DeleteSecret removes the secret.
func (t *Tx) DeleteSecret(ctx context.Context, id int64) error {
	const op = "DeleteSecret"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `DELETE FROM secrets WHERE id = ?`, id)
	if err != nil {
		return refError(t.dbError(op, err), "id", "the secret is in use by an upstream credential")
	}
	if n == 0 {
		return t.notFound(op, "Secret", sql.ErrNoRows)
	}
	return nil
}

const upstreamCols = `id, owner_group_id, automation, upstream_url, admin_secret_id, secret_id, kind, target,
	service_account_id, token_name, scopes, access_level, lifetime_us, rotate_before_us, auto_rotate, notify,
	state, upstream_token_id, expires_at, pending_revoke_id, attempts, next_attempt_at, last_error, notified_at,
	created_by_id, created_at, updated_at, version`

func scanUpstream(r scanner) (*botgate.UpstreamCredential, error) {
	var (
		c                       botgate.UpstreamCredential
		scopes                  string
		lifetime, before        int64
		expires, next, notified sql.NullInt64
		created, updated        int64
	)
	if err := r.Scan(&c.ID, &c.OwnerGroupID, &c.Automation, &c.UpstreamURL, &c.AdminSecretID, &c.SecretID, &c.Kind,
		&c.Target, &c.ServiceAccountID, &c.TokenName, &scopes, &c.AccessLevel, &lifetime, &before, &c.AutoRotate,
		&c.Notify, &c.State, &c.UpstreamTokenID, &expires, &c.PendingRevokeID, &c.Attempts, &next, &c.LastError,
		&notified, &c.CreatedByID, &created, &updated, &c.Version); err != nil {
		return nil, err
	}
	for _, s := range strings.Fields(scopes) {
		c.Scopes = append(c.Scopes, botgate.Scope(s))
	}
	c.Lifetime = time.Duration(lifetime) * time.Microsecond
	c.RotateBefore = time.Duration(before) * time.Microsecond
	c.ExpiresAt = fromMicroPtr(expires)
	c.NextAttemptAt = fromMicroPtr(next)
	c.NotifiedAt = fromMicroPtr(notified)
	c.CreatedAt = fromMicro(created)
	c.UpdatedAt = fromMicro(updated)
	return &c, nil
}

func normalizeUpstream(c *botgate.UpstreamCredential) {
	truncate(&c.CreatedAt)
	truncate(&c.UpdatedAt)
	c.ExpiresAt = truncatePtr(c.ExpiresAt)
	c.NextAttemptAt = truncatePtr(c.NextAttemptAt)
	c.NotifiedAt = truncatePtr(c.NotifiedAt)
	c.Lifetime = c.Lifetime.Truncate(time.Microsecond)
	c.RotateBefore = c.RotateBefore.Truncate(time.Microsecond)
}

// CreateUpstreamCredential inserts c and sets its ID and Version.
func (t *Tx) CreateUpstreamCredential(ctx context.Context, c *botgate.UpstreamCredential) error {
	const op = "CreateUpstreamCredential"
	if err := t.writable(op); err != nil {
		return err
	}
	normalizeUpstream(c)
	id, err := t.insertID(ctx, `INSERT INTO upstream_credentials (owner_group_id, automation, upstream_url,
		admin_secret_id, secret_id, kind, target, service_account_id, token_name, scopes, access_level, lifetime_us,
		rotate_before_us, auto_rotate, notify, state, upstream_token_id, expires_at, pending_revoke_id, attempts,
		next_attempt_at, last_error, notified_at, created_by_id, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		c.OwnerGroupID, c.Automation, c.UpstreamURL, c.AdminSecretID, c.SecretID, string(c.Kind), c.Target,
		c.ServiceAccountID, c.TokenName, c.Scopes.String(), int(c.AccessLevel), c.Lifetime.Microseconds(),
		c.RotateBefore.Microseconds(), c.AutoRotate, c.Notify, string(c.State), c.UpstreamTokenID,
		toMicroPtr(c.ExpiresAt), c.PendingRevokeID, c.Attempts, toMicroPtr(c.NextAttemptAt), c.LastError,
		toMicroPtr(c.NotifiedAt), c.CreatedByID, toMicro(c.CreatedAt), toMicro(c.UpdatedAt))
	if err != nil {
		err = t.dbError(op, err)
		if e, ok := err.(*botgate.Error); ok && e.Kind == botgate.KindConflict {
			e.Field, e.Message = "automation", "the team already has an upstream credential for this automation"
		}
		return refError(err, "owner_group_id", "owner group or admin secret does not exist")
	}
	c.ID, c.Version = id, 1
	return nil
}

// UpstreamCredential returns the credential with the ID.
func (t *Tx) UpstreamCredential(ctx context.Context, id int64) (*botgate.UpstreamCredential, error) {
	c, err := scanUpstream(t.queryRow(ctx, `SELECT `+upstreamCols+` FROM upstream_credentials WHERE id = ?`, id))
	if err != nil {
		return nil, t.notFound("UpstreamCredential", "Upstream credential", err)
	}
	return c, nil
}

// FindUpstreamCredentials returns the credentials matching f, by ID.
func (t *Tx) FindUpstreamCredentials(ctx context.Context, f botgate.UpstreamCredentialFilter) ([]*botgate.UpstreamCredential, int, error) {
	w := t.where()
	in(&w, "id", f.IDs)
	if f.OwnerGroupID != 0 {
		w.add("owner_group_id = ?", f.OwnerGroupID)
	}
	if f.Automation != "" {
		w.add("automation = ?", f.Automation)
	}
	states := make([]string, len(f.States))
	for i, s := range f.States {
		states[i] = string(s)
	}
	in(&w, "state", states)
	return find(ctx, t, "FindUpstreamCredentials", upstreamCols, "upstream_credentials", &w, "id", f.Page, scanUpstream)
}

// UpdateUpstreamCredential writes c if its version is still the stored one.
func (t *Tx) UpdateUpstreamCredential(ctx context.Context, c *botgate.UpstreamCredential) error {
	const op = "UpdateUpstreamCredential"
	if err := t.writable(op); err != nil {
		return err
	}
	normalizeUpstream(c)
	n, err := t.execGuarded(ctx, `UPDATE upstream_credentials SET upstream_url = ?, admin_secret_id = ?, secret_id = ?,
		kind = ?, target = ?, service_account_id = ?, token_name = ?, scopes = ?, access_level = ?, lifetime_us = ?,
		rotate_before_us = ?, auto_rotate = ?, notify = ?, state = ?, upstream_token_id = ?, expires_at = ?,
		pending_revoke_id = ?, attempts = ?, next_attempt_at = ?, last_error = ?, notified_at = ?, updated_at = ?,
		version = version + 1
		WHERE id = ? AND version = ?`,
		c.UpstreamURL, c.AdminSecretID, c.SecretID, string(c.Kind), c.Target, c.ServiceAccountID, c.TokenName,
		c.Scopes.String(), int(c.AccessLevel), c.Lifetime.Microseconds(), c.RotateBefore.Microseconds(), c.AutoRotate,
		c.Notify, string(c.State), c.UpstreamTokenID, toMicroPtr(c.ExpiresAt), c.PendingRevokeID, c.Attempts,
		toMicroPtr(c.NextAttemptAt), c.LastError, toMicroPtr(c.NotifiedAt), toMicro(c.UpdatedAt), c.ID, c.Version)
	if err != nil {
		return refError(t.dbError(op, err), "admin_secret_id", "admin secret does not exist")
	}
	if n == 0 {
		return t.lostWrite(ctx, op, "upstream_credentials", "Upstream credential", c.ID)
	}
	c.Version++
	return nil
}

// DeleteUpstreamCredential removes the credential.
func (t *Tx) DeleteUpstreamCredential(ctx context.Context, id int64) error {
	const op = "DeleteUpstreamCredential"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `DELETE FROM upstream_credentials WHERE id = ?`, id)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "Upstream credential", sql.ErrNoRows)
	}
	return nil
}

// AcquireLease takes or renews the lease in one conditional upsert.
func (t *Tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (botgate.Lease, error) {
	const op = "AcquireLease"
	if err := t.writable(op); err != nil {
		return botgate.Lease{}, err
	}
	switch {
	case name == "":
		return botgate.Lease{}, botgate.E(t.op(op), botgate.Invalid("name", "a lease needs a name"))
	case holder == "":
		return botgate.Lease{}, botgate.E(t.op(op), botgate.Invalid("holder", "a lease needs a holder"))
	case ttl <= 0:
		return botgate.Lease{}, botgate.E(t.op(op), botgate.Invalid("ttl", "a lease needs a positive ttl"))
	}
	now = now.UTC().Truncate(time.Microsecond)
	exp := now.Add(ttl).Truncate(time.Microsecond)
	n, err := t.execGuarded(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, toMicro(exp), toMicro(now))
	if err != nil {
		return botgate.Lease{}, t.dbError(op, err)
	}
	if n == 0 {
		var cur string
		var until int64
		if err := t.queryRow(ctx, `SELECT holder, expires_at FROM leases WHERE name = ?`, name).Scan(&cur, &until); err != nil {
			return botgate.Lease{}, t.dbError(op, err)
		}
		return botgate.Lease{}, &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict,
			Message: fmt.Sprintf("lease %q is held by %s until %s", name, cur, fromMicro(until).Format(time.RFC3339))}
	}
	return botgate.Lease{Name: name, Holder: holder, ExpiresAt: exp}, nil
}

// ReleaseLease deletes the lease if holder holds it.
func (t *Tx) ReleaseLease(ctx context.Context, name, holder string) error {
	const op = "ReleaseLease"
	if err := t.writable(op); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return t.dbError(op, err)
	}
	return nil
}
