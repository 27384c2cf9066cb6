package authority

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/vault"
)

// Vault applies the vault's rules above the store: who may write, read,
// list, bind and delete a team's secrets, envelope encryption with the
// keyring, and an audit event for every read, write and denied attempt.
// Audit details name a secret by id, owner, name and master key id, never
// by its value.
//
// Who may do what:
//   - write (put, bind, delete): the owning team's Maintainers and Owners
//     (human users), administrators, botgate itself;
//   - read a value: the same, plus the automation token the secret is bound
//     to, which must hold the read_secret scope; a human's token must hold
//     api or read_secret;
//   - list (metadata only, never a value): members of the team at Reporter
//     or above, administrators.
//
// Bots read only through a binding, never through a membership: a group
// access token at Maintainer does not serve itself from its team's vault.
//
// A Vault is safe for concurrent use.
type Vault struct {
	s  *Service
	kr *vault.Keyring
}

// Vault returns the service's vault over the keyring. The keyring's current
// key seals new values; older keys open values not yet rewrapped.
func (s *Service) Vault(kr *vault.Keyring) *Vault { return &Vault{s: s, kr: kr} }

// Keyring returns the vault's keyring.
func (v *Vault) Keyring() *vault.Keyring { return v.kr }

// settingCanary holds the vault canary (base64 of vault.Sealed's encoding).
const settingCanary = "vault_canary"

// HasVaultCanary reports whether store holds a vault canary, that is
// whether a master key was ever set up for it. Errors are the store's
// (KindInternal); a store without a canary is not an error.
func HasVaultCanary(ctx context.Context, store botgate.Store) (bool, error) {
	return hasSetting(ctx, store, settingCanary)
}

// EnsureCanary stores a canary sealed under the current master key when the
// database has none (a new instance, or one set up before the vault), and
// reports whether it stored one.
func (v *Vault) EnsureCanary(ctx context.Context) (bool, error) {
	const op = "authority.Vault.EnsureCanary"
	stored := false
	err := v.s.store.Update(ctx, func(tx botgate.Tx) error {
		_, err := tx.Setting(ctx, settingCanary)
		if err == nil {
			return nil
		}
		if !botgate.IsKind(err, botgate.KindNotFound) {
			return err
		}
		c, err := vault.NewCanary(v.kr)
		if err != nil {
			return err
		}
		b, err := c.MarshalBinary()
		if err != nil {
			return err
		}
		stored = true
		return tx.PutSetting(ctx, settingCanary, base64.StdEncoding.EncodeToString(b))
	})
	if err != nil {
		return false, botgate.E(op, err)
	}
	return stored, nil
}

// VerifyMasterKey checks the stored canary against the keyring: a server
// calls it before serving, so that a wrong master key stops it at start
// with a message naming the expected key id. KindNotFound if the database
// has no canary yet.
func (v *Vault) VerifyMasterKey(ctx context.Context) error {
	const op = "authority.Vault.VerifyMasterKey"
	c, err := v.canary(ctx)
	if err != nil {
		return botgate.E(op, err)
	}
	if err := vault.VerifyMasterKey(v.kr, c); err != nil {
		return botgate.E(op, err)
	}
	return nil
}

func (v *Vault) canary(ctx context.Context) (vault.Sealed, error) {
	var enc string
	err := v.s.store.View(ctx, func(tx botgate.Tx) (err error) {
		enc, err = tx.Setting(ctx, settingCanary)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return vault.Sealed{}, botgate.Errorf(botgate.KindNotFound, "the vault has no canary yet")
	}
	if err != nil {
		return vault.Sealed{}, err
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return vault.Sealed{}, botgate.Errorf(botgate.KindInternal, "the stored vault canary is not valid base64")
	}
	return vault.ParseSealed(b)
}

// NewSecret describes a value to store.
type NewSecret struct {
	GroupID     int64
	Name        string
	Description string
	// Value is the plaintext; the caller should zero it afterwards.
	Value []byte
}

// PutSecret stores a value under the team's name, creating the secret or
// replacing its value (with a fresh data key). It reports whether the
// secret was created. The returned Secret carries metadata only.
//
// Errors: KindInvalid for a bad name or value; KindNotFound for a group the
// actor cannot see; KindForbidden below Maintainer; KindConflict if a
// concurrent write won.
func (v *Vault) PutSecret(ctx context.Context, a Actor, in NewSecret) (*botgate.Secret, bool, error) {
	const op = "authority.Vault.PutSecret"
	if err := botgate.ValidateSecretName(in.Name); err != nil {
		return nil, false, botgate.E(op, err)
	}
	if len(in.Value) == 0 {
		return nil, false, botgate.E(op, botgate.Invalid("value", "value is missing"))
	}
	if len(in.Value) > vault.MaxPlaintext {
		return nil, false, botgate.E(op, botgate.Invalid("value", "value is at most %d bytes", vault.MaxPlaintext))
	}
	var out *botgate.Secret
	created := false
	err := v.s.store.Update(ctx, func(tx botgate.Tx) (err error) {
		out, created, err = v.PutSecretTx(ctx, tx, a, in)
		return err
	})
	if err != nil {
		v.denied(ctx, a, botgate.ActionSecretDenied, in.GroupID, in.Name, err)
		return nil, false, botgate.E(op, err)
	}
	return metadata(out), created, nil
}

// PutSecretTx is PutSecret inside the caller's transaction, so that a
// value and the state that refers to it (an upstream credential) change
// together. It neither validates the input as PutSecret does nor records
// denials; the returned Secret still holds its sealed value.
func (v *Vault) PutSecretTx(ctx context.Context, tx botgate.Tx, a Actor, in NewSecret) (*botgate.Secret, bool, error) {
	if err := botgate.ValidateSecretName(in.Name); err != nil {
		return nil, false, err
	}
	g, err := v.writable(ctx, tx, a, in.GroupID)
	if err != nil {
		return nil, false, err
	}
	now := v.s.clock.Now()
	created := false
	sec, err := tx.SecretByName(ctx, g.ID, in.Name)
	switch {
	case botgate.IsKind(err, botgate.KindNotFound):
		created = true
		// The id is part of the AAD: insert first, then seal and write.
		sec = &botgate.Secret{OwnerGroupID: g.ID, Name: in.Name, Description: in.Description,
			KeyID: v.kr.Current().String(), CreatedByID: a.userID(), CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateSecret(ctx, sec); err != nil {
			return nil, false, err
		}
	case err != nil:
		return nil, false, err
	default:
		if in.Description != "" {
			sec.Description = in.Description
		}
		sec.UpdatedAt = now
	}
	if err := v.seal(sec, in.Value); err != nil {
		return nil, false, err
	}
	if err := tx.UpdateSecret(ctx, sec); err != nil {
		return nil, false, err
	}
	action := botgate.ActionSecretUpdate
	if created {
		action = botgate.ActionSecretCreate
	}
	return sec, created, v.s.record(ctx, tx, v.event(a, action, sec, g))
}

// DeleteSecretTx removes a secret by id inside the caller's transaction,
// with its audit event. KindNotFound.
func (v *Vault) DeleteSecretTx(ctx context.Context, tx botgate.Tx, a Actor, id int64) error {
	sec, err := tx.Secret(ctx, id)
	if err != nil {
		return err
	}
	g, err := v.writable(ctx, tx, a, sec.OwnerGroupID)
	if err != nil {
		return err
	}
	if err := tx.DeleteSecret(ctx, id); err != nil {
		return err
	}
	return v.s.record(ctx, tx, v.event(a, botgate.ActionSecretDelete, sec, g))
}

// Audit records an event for the actor inside tx, for services built on the
// vault (the upstream broker) that change state and record it atomically.
// details must never hold a secret value.
func (v *Vault) Audit(ctx context.Context, tx botgate.Tx, a Actor, action, targetType string, targetID int64, targetName string, details map[string]string) error {
	e := v.s.event(a, action, targetType, targetID, targetName)
	e.Details = details
	return v.s.record(ctx, tx, e)
}

// Now returns the time on the vault's clock.
func (v *Vault) Now() time.Time { return v.s.clock.Now() }

// seal seals value for sec under the current master key, in place.
func (v *Vault) seal(sec *botgate.Secret, value []byte) error {
	s, err := vault.Seal(v.kr, value, aadOf(sec))
	if err != nil {
		return err
	}
	b, err := s.MarshalBinary()
	if err != nil {
		return err
	}
	sec.Sealed, sec.KeyID = b, s.KeyID.String()
	return nil
}

func aadOf(sec *botgate.Secret) vault.AAD {
	return vault.AAD{SecretID: sec.ID, OwnerGroupID: sec.OwnerGroupID, Name: sec.Name}
}

// ReadSecret returns the value of the team's secret and its metadata. The
// caller should zero the value once done with it.
//
// Errors: KindNotFound for a secret (or group) the actor may not know of;
// KindForbidden for one it knows of but may not read; KindInternal (with
// vault.ErrCorrupt or vault.ErrKeyNotLoaded) for a value that does not open,
// reported for that secret alone.
func (v *Vault) ReadSecret(ctx context.Context, a Actor, groupID int64, name string) ([]byte, *botgate.Secret, error) {
	return v.read(ctx, a, func(tx botgate.Tx) (*botgate.Secret, error) {
		return tx.SecretByName(ctx, groupID, name)
	}, groupID, name)
}

// ReadSecretByID is ReadSecret for a secret id.
func (v *Vault) ReadSecretByID(ctx context.Context, a Actor, id int64) ([]byte, *botgate.Secret, error) {
	return v.read(ctx, a, func(tx botgate.Tx) (*botgate.Secret, error) { return tx.Secret(ctx, id) }, 0, "#"+itoa(id))
}

// ReadSecretRef is ReadSecret for a reference "vault:<group-path>/<name>".
func (v *Vault) ReadSecretRef(ctx context.Context, a Actor, ref string) ([]byte, *botgate.Secret, error) {
	r, err := botgate.ParseSecretRef(ref)
	if err != nil {
		return nil, nil, botgate.E("authority.Vault.ReadSecretRef", err)
	}
	return v.read(ctx, a, func(tx botgate.Tx) (*botgate.Secret, error) {
		g, err := tx.GroupByPath(ctx, r.GroupPath)
		if err != nil {
			return nil, err
		}
		return tx.SecretByName(ctx, g.ID, r.Name)
	}, 0, r.String())
}

func (v *Vault) read(ctx context.Context, a Actor, find func(tx botgate.Tx) (*botgate.Secret, error), groupID int64, what string) ([]byte, *botgate.Secret, error) {
	const op = "authority.Vault.ReadSecret"
	var (
		value []byte
		out   *botgate.Secret
		secID int64
		bad   error // a value that does not open, reported after the transaction
	)
	err := v.s.store.Update(ctx, func(tx botgate.Tx) error {
		sec, err := find(tx)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Secret")
		}
		if err != nil {
			return err
		}
		groupID, what, secID = sec.OwnerGroupID, sec.Name, sec.ID
		g, err := tx.Group(ctx, sec.OwnerGroupID)
		if err != nil {
			return err
		}
		how, err := v.mayRead(ctx, tx, a, sec)
		if err != nil {
			return err
		}
		value, err = v.open(sec)
		if err != nil {
			bad = err
			e := v.event(a, botgate.ActionSecretCorrupt, sec, g)
			e.Details["reason"] = corruptReason(err)
			return v.s.record(ctx, tx, e)
		}
		now := v.s.clock.Now()
		sec.LastReadAt = &now
		if err := tx.UpdateSecret(ctx, sec); err != nil {
			return err
		}
		e := v.event(a, botgate.ActionSecretRead, sec, g)
		e.Details["access"] = how
		out = sec
		return v.s.record(ctx, tx, e)
	})
	if err == nil && bad != nil {
		v.s.log.Error("vault secret does not open", "secret_id", secID, "group_id", groupID, "name", what, "err", bad)
		return nil, nil, botgate.E(op, bad)
	}
	if err != nil {
		clear(value)
		v.denied(ctx, a, botgate.ActionSecretReadDenied, groupID, what, err)
		return nil, nil, botgate.E(op, err)
	}
	return value, metadata(out), nil
}

func corruptReason(err error) string {
	switch {
	case errors.Is(err, vault.ErrKeyNotLoaded):
		return "master key not loaded"
	case errors.Is(err, vault.ErrCorrupt):
		return "corrupted or copied from another secret"
	}
	return "does not open"
}

// mayRead decides whether the actor may read sec's value, and says how.
func (v *Vault) mayRead(ctx context.Context, tx botgate.Tx, a Actor, sec *botgate.Secret) (string, error) {
	if a.System {
		return "system", nil
	}
	if a.User == nil || !a.User.Active() {
		return "", botgate.NotFound("Secret")
	}
	t := a.Token
	if t != nil && sec.BoundFamilyID != 0 && t.FamilyID == sec.BoundFamilyID {
		if !t.Scopes.Has(botgate.ScopeReadSecret) {
			return "", &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: string(botgate.ScopeReadSecret)}
		}
		// The caller's copy may be stale (a cached authentication): ask
		// the store whether the token is still active.
		cur, err := tx.Token(ctx, t.ID)
		if err != nil {
			return "", err
		}
		if !cur.Active(v.s.clock.Now()) {
			return "", botgate.Errorf(botgate.KindForbidden, "the bound token is revoked or expired")
		}
		return "bound_token", nil
	}
	if t != nil && !t.Scopes.HasAny(botgate.ScopeAPI, botgate.ScopeReadSecret) {
		return "", &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: string(botgate.ScopeReadSecret)}
	}
	if a.isAdmin() {
		return "admin", nil
	}
	level, err := AccessOn(ctx, tx, a.User.ID, botgate.Resource{Type: botgate.GroupResource, ID: sec.OwnerGroupID}, v.s.clock.Now())
	if err != nil {
		return "", err
	}
	switch {
	case a.User.Kind != botgate.HumanUser && level >= botgate.ReporterAccess:
		return "", forbidden("a bot reads a team secret only through a binding to its token")
	case level >= botgate.MaintainerAccess:
		return "member:" + level.String(), nil
	case level >= botgate.ReporterAccess:
		return "", forbidden("reading a secret requires the Maintainer role on its team; you have %s", level)
	}
	return "", botgate.NotFound("Secret")
}

// writable loads the group and checks that the actor may change its vault.
func (v *Vault) writable(ctx context.Context, tx botgate.Tx, a Actor, groupID int64) (*botgate.Group, error) {
	g, err := tx.Group(ctx, groupID)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Group")
	}
	if err != nil {
		return nil, err
	}
	if a.Token != nil && !a.Token.Scopes.Has(botgate.ScopeAPI) {
		return nil, &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: string(botgate.ScopeAPI)}
	}
	if !a.isAdmin() && (a.User == nil || a.User.Kind != botgate.HumanUser) {
		if a.User == nil {
			return nil, botgate.NotFound("Group")
		}
		return nil, forbidden("bots cannot change a team's vault")
	}
	if _, err := v.s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, botgate.MaintainerAccess); err != nil {
		return nil, err
	}
	return g, nil
}

// ListSecrets returns the metadata of the team's secrets (never a value).
// Members at Reporter or above and administrators may list.
func (v *Vault) ListSecrets(ctx context.Context, a Actor, groupID int64, page botgate.Page) ([]*botgate.Secret, int, error) {
	const op = "authority.Vault.ListSecrets"
	var (
		out   []*botgate.Secret
		total int
	)
	err := v.s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := tx.Group(ctx, groupID); botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Group")
		} else if err != nil {
			return err
		}
		if _, err := v.s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: groupID}, botgate.ReporterAccess); err != nil {
			return err
		}
		var err error
		out, total, err = tx.FindSecrets(ctx, botgate.SecretFilter{OwnerGroupID: groupID, Page: page})
		return err
	})
	if err != nil {
		return nil, 0, botgate.E(op, err)
	}
	for i, s := range out {
		out[i] = metadata(s)
	}
	return out, total, nil
}

// SecretMetadata returns one secret's metadata, for those who may list.
func (v *Vault) SecretMetadata(ctx context.Context, a Actor, groupID int64, name string) (*botgate.Secret, error) {
	var out *botgate.Secret
	err := v.s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := v.s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: groupID}, botgate.ReporterAccess); err != nil {
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("Secret")
			}
			return err
		}
		sec, err := tx.SecretByName(ctx, groupID, name)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Secret")
		}
		out = sec
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.Vault.SecretMetadata", err)
	}
	return metadata(out), nil
}

// writableSecret returns the group groupID and its secret called name, if
// the actor may change the group's vault.
func (v *Vault) writableSecret(ctx context.Context, tx botgate.Tx, a Actor, groupID int64, name string) (*botgate.Group, *botgate.Secret, error) {
	g, err := v.writable(ctx, tx, a, groupID)
	if err != nil {
		return nil, nil, err
	}
	sec, err := tx.SecretByName(ctx, g.ID, name)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, nil, botgate.NotFound("Secret")
	}
	if err != nil {
		return nil, nil, err
	}
	return g, sec, nil
}

// DeleteSecret removes the team's secret. Maintainers, Owners, admins.
func (v *Vault) DeleteSecret(ctx context.Context, a Actor, groupID int64, name string) error {
	const op = "authority.Vault.DeleteSecret"
	err := v.s.store.Update(ctx, func(tx botgate.Tx) error {
		g, sec, err := v.writableSecret(ctx, tx, a, groupID, name)
		if err != nil {
			return err
		}
		if err := tx.DeleteSecret(ctx, sec.ID); err != nil {
			if botgate.IsKind(err, botgate.KindInvalid) {
				return botgate.Errorf(botgate.KindConflict, "the secret is used by an upstream credential; remove that first")
			}
			return err
		}
		return v.s.record(ctx, tx, v.event(a, botgate.ActionSecretDelete, sec, g))
	})
	if err != nil {
		v.denied(ctx, a, botgate.ActionSecretDenied, groupID, name, err)
		return botgate.E(op, err)
	}
	return nil
}

// BindSecret lets the automation token tokenID (and the tokens that replace
// it by rotation: its family) read the team's secret; tokenID 0 removes the
// binding. The token must be active, belong to a bot or service account of
// the team (its group, a subgroup or one of their projects), and hold the
// read_secret scope.
func (v *Vault) BindSecret(ctx context.Context, a Actor, groupID int64, name string, tokenID int64) (*botgate.Secret, error) {
	const op = "authority.Vault.BindSecret"
	var out *botgate.Secret
	err := v.s.store.Update(ctx, func(tx botgate.Tx) error {
		g, sec, err := v.writableSecret(ctx, tx, a, groupID, name)
		if err != nil {
			return err
		}
		sec.BoundFamilyID, sec.BoundAutomation = 0, ""
		var t *botgate.Token
		if tokenID != 0 {
			if t, err = v.bindable(ctx, tx, g, tokenID); err != nil {
				return err
			}
			sec.BoundFamilyID, sec.BoundAutomation = t.FamilyID, t.Automation
		}
		sec.UpdatedAt = v.s.clock.Now()
		if err := tx.UpdateSecret(ctx, sec); err != nil {
			return err
		}
		e := v.event(a, botgate.ActionSecretBind, sec, g)
		if t != nil {
			e.Details["token_id"] = itoa(t.ID)
			e.Details["family_id"] = itoa(t.FamilyID)
		} else {
			e.Details["unbound"] = "true"
		}
		out = sec
		return v.s.record(ctx, tx, e)
	})
	if err != nil {
		v.denied(ctx, a, botgate.ActionSecretDenied, groupID, name, err)
		return nil, botgate.E(op, err)
	}
	return metadata(out), nil
}

// bindable checks that the token may be bound to a secret of g.
func (v *Vault) bindable(ctx context.Context, tx botgate.Tx, g *botgate.Group, tokenID int64) (*botgate.Token, error) {
	t, err := tx.Token(ctx, tokenID)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.Invalid("token_id", "token %d does not exist", tokenID)
	}
	if err != nil {
		return nil, err
	}
	if !t.Active(v.s.clock.Now()) {
		return nil, botgate.Invalid("token_id", "token %d is revoked or expired", tokenID)
	}
	if !t.Scopes.Has(botgate.ScopeReadSecret) {
		return nil, botgate.Invalid("token_id", "token %d lacks the read_secret scope; an automation reads its secrets with a token holding read_secret", tokenID)
	}
	u, err := tx.User(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Kind.Bot() {
		return nil, botgate.Invalid("token_id", "token %d is a person's token; bind a secret to an automation's token (project, group or service account)", tokenID)
	}
	inside, err := within(ctx, tx, u.Owner, g.ID)
	if err != nil {
		return nil, err
	}
	if !inside {
		return nil, botgate.Invalid("token_id", "token %d belongs to an automation outside the team %s", tokenID, g.FullPath)
	}
	return t, nil
}

// within reports whether r is the group groupID or lies below it.
func within(ctx context.Context, tx botgate.Tx, r botgate.Resource, groupID int64) (bool, error) {
	id := r.ID
	switch r.Type {
	case botgate.ProjectResource:
		p, err := tx.Project(ctx, r.ID)
		if err != nil {
			return false, err
		}
		id = p.NamespaceID
	case botgate.GroupResource:
	default:
		return false, nil
	}
	for depth := 0; id != 0 && depth < 32; depth++ {
		if id == groupID {
			return true, nil
		}
		g, err := tx.Group(ctx, id)
		if err != nil {
			return false, err
		}
		id = g.ParentID
	}
	return false, nil
}

// event builds a vault audit event with the secret's metadata.
func (v *Vault) event(a Actor, action string, sec *botgate.Secret, g *botgate.Group) *botgate.AuditEvent {
	e := v.s.event(a, action, "secret", sec.ID, g.FullPath+"/"+sec.Name)
	e.Details = details("owner_group_id", itoa(g.ID), "name", sec.Name, "key_id", sec.KeyID,
		"bound_automation", sec.BoundAutomation)
	return e
}

// denied records a refused or failed vault operation in its own
// transaction (the operation's own was rolled back). Failures that are the
// caller's mistake (bad input) are not denials and are not recorded.
func (v *Vault) denied(ctx context.Context, a Actor, action string, groupID int64, what string, cause error) {
	k := botgate.KindOf(cause)
	if k == botgate.KindInvalid || k == botgate.KindConflict || k == botgate.KindInternal {
		return
	}
	e := v.s.event(a, action, "secret", 0, what)
	e.Details = details("owner_group_id", idStr(groupID), "name", what, "reason", strings.ToLower(k.String()),
		"message", botgate.MessageOf(cause))
	wctx := context.WithoutCancel(ctx) // a caller that gave up is still recorded
	if err := v.s.store.Update(wctx, func(tx botgate.Tx) error { return v.s.record(wctx, tx, e) }); err != nil {
		v.s.log.Error("recording a vault denial", "action", action, "err", err)
	}
}

// metadata returns a copy of s without its sealed value.
func metadata(s *botgate.Secret) *botgate.Secret {
	if s == nil {
		return nil
	}
	c := *s
	c.Sealed = nil
	return &c
}

// RewrapReport is the outcome of a master key rotation pass.
type RewrapReport struct {
	Rewrapped int      // secrets whose data key is now wrapped by the current key
	Failed    []string // secrets that do not open ("id name: reason"); left as they were
	Canary    bool     // whether the canary was rewrapped (only when nothing failed)
}

// Rewrap re-wraps, in batches and online, every secret's data key that the
// current master key does not wrap yet, with a conditional write per secret
// (a lost race is read again and retried). The canary is rewrapped last,
// and only if every secret was: from then on the old key is not needed.
// A secret that does not open is reported (and audited) and left alone.
func (v *Vault) Rewrap(ctx context.Context, a Actor, batch int) (RewrapReport, error) {
	const op = "authority.Vault.Rewrap"
	if !a.isAdmin() {
		return RewrapReport{}, botgate.E(op, forbidden("only administrators may rotate the master key"))
	}
	if batch <= 0 {
		batch = 100
	}
	cur := v.kr.Current().String()
	var rep RewrapReport
	var after int64
	for {
		var page []*botgate.Secret
		err := v.s.store.View(ctx, func(tx botgate.Tx) (err error) {
			page, _, err = tx.FindSecrets(ctx, botgate.SecretFilter{NotKeyID: cur, AfterID: after, Page: botgate.Page{Limit: batch}})
			return err
		})
		if err != nil {
			return rep, botgate.E(op, err)
		}
		if len(page) == 0 {
			break
		}
		for _, sec := range page {
			after = sec.ID
			done, err := v.rewrapOne(ctx, a, sec.ID)
			if err != nil {
				if botgate.KindOf(err) == botgate.KindInternal && (errors.Is(err, vault.ErrCorrupt) || errors.Is(err, vault.ErrKeyNotLoaded)) {
					rep.Failed = append(rep.Failed, fmt.Sprintf("%d %s: %s", sec.ID, sec.Name, corruptReason(err)))
					v.s.log.Error("vault secret cannot be rewrapped", "secret_id", sec.ID, "err", err)
					continue
				}
				return rep, botgate.E(op, err)
			}
			if done {
				rep.Rewrapped++
			}
		}
	}
	if len(rep.Failed) > 0 {
		return rep, nil
	}
	c, err := v.canary(ctx)
	if err != nil {
		return rep, botgate.E(op, err)
	}
	if c.KeyID != v.kr.Current() {
		nc, err := vault.RewrapCanary(v.kr, c)
		if err != nil {
			return rep, botgate.E(op, err)
		}
		b, err := nc.MarshalBinary()
		if err != nil {
			return rep, botgate.E(op, err)
		}
		err = v.s.store.Update(ctx, func(tx botgate.Tx) error {
			if err := tx.PutSetting(ctx, settingCanary, base64.StdEncoding.EncodeToString(b)); err != nil {
				return err
			}
			e := v.s.event(a, botgate.ActionVaultRotated, "vault", 0, "")
			e.Details = details("from_key_id", c.KeyID.String(), "to_key_id", cur, "rewrapped", itoa(int64(rep.Rewrapped)))
			return v.s.record(ctx, tx, e)
		})
		if err != nil {
			return rep, botgate.E(op, err)
		}
	}
	rep.Canary = true
	return rep, nil
}

// rewrapOne rewraps one secret with a conditional write, retrying a lost
// race a few times. It reports whether it wrote.
func (v *Vault) rewrapOne(ctx context.Context, a Actor, id int64) (bool, error) {
	for attempt := 0; ; attempt++ {
		var sec *botgate.Secret
		err := v.s.store.View(ctx, func(tx botgate.Tx) (err error) {
			sec, err = tx.Secret(ctx, id)
			return err
		})
		if botgate.IsKind(err, botgate.KindNotFound) {
			return false, nil // deleted meanwhile
		}
		if err != nil {
			return false, err
		}
		if sec.KeyID == v.kr.Current().String() {
			return false, nil // rewritten meanwhile
		}
		s, err := vault.ParseSealed(sec.Sealed)
		if err == nil {
			s, err = vault.Rewrap(v.kr, s, aadOf(sec))
		}
		if err != nil {
			return false, err
		}
		from := sec.KeyID
		b, err := s.MarshalBinary()
		if err != nil {
			return false, err
		}
		sec.Sealed, sec.KeyID = b, s.KeyID.String()
		err = v.s.store.Update(ctx, func(tx botgate.Tx) error {
			if err := tx.UpdateSecret(ctx, sec); err != nil {
				return err
			}
			g, err := tx.Group(ctx, sec.OwnerGroupID)
			if err != nil {
				return err
			}
			e := v.event(a, botgate.ActionSecretRewrap, sec, g)
			e.Details["from_key_id"] = from
			return v.s.record(ctx, tx, e)
		})
		if botgate.IsKind(err, botgate.KindConflict) && attempt < 5 {
			continue
		}
		return err == nil, err
	}
}

// GroupID resolves a group reference (a numeric id or a full path) for the
// vault's callers. KindNotFound if there is no such group; callers' next
// step checks access and answers not found alike for groups the actor may
// not see.
func (v *Vault) GroupID(ctx context.Context, ref string) (int64, error) {
	var id int64
	err := v.s.store.View(ctx, func(tx botgate.Tx) error {
		g, err := byRef(ctx, tx, groupLookup, ref)
		if err != nil {
			return err
		}
		id = g.ID
		return nil
	})
	return id, err
}

// Damaged names a secret whose value does not open.
type Damaged struct {
	ID      int64
	GroupID int64
	Name    string
	Reason  string // "corrupted or copied from another secret", "master key not loaded"
}

// Check opens every secret, in pages, and reports those that do not open,
// without stopping at them: a server runs it after start so that damage is
// reported per secret (and logged) while every other secret keeps working.
// Values are zeroed at once and never leave the function.
func (v *Vault) Check(ctx context.Context) ([]Damaged, error) {
	var out []Damaged
	var after int64
	for {
		var page []*botgate.Secret
		err := v.s.store.View(ctx, func(tx botgate.Tx) (err error) {
			page, _, err = tx.FindSecrets(ctx, botgate.SecretFilter{AfterID: after, Page: botgate.Page{Limit: 200}})
			return err
		})
		if err != nil {
			return out, botgate.E("authority.Vault.Check", err)
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, sec := range page {
			after = sec.ID
			pt, err := v.open(sec)
			clear(pt)
			if err != nil {
				d := Damaged{ID: sec.ID, GroupID: sec.OwnerGroupID, Name: sec.Name, Reason: corruptReason(err)}
				v.s.log.Error("vault secret does not open", "secret_id", sec.ID, "group_id", sec.OwnerGroupID, "name", sec.Name, "reason", d.Reason)
				out = append(out, d)
			}
		}
	}
}

// open parses a secret's sealed value and opens it under the keyring; the
// caller zeroes the plaintext when done.
func (v *Vault) open(sec *botgate.Secret) ([]byte, error) {
	s, err := vault.ParseSealed(sec.Sealed)
	if err != nil {
		return nil, err
	}
	return vault.Open(v.kr, s, aadOf(sec))
}
