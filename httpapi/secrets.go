package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
)

// The vault's API, under /api/botgate/v1/secrets. {group} is a numeric id
// or a URL-encoded full path, as GitLab's :id:
//
//	GET    /secrets?group=G                 the team's secrets (metadata only)
//	GET    /secrets/{group}/{name}          one secret's metadata
//	GET    /secrets/{group}/{name}/value    its value (audited)
//	PUT    /secrets/{group}/{name}          create or replace (value, description)
//	DELETE /secrets/{group}/{name}          delete
//	PUT    /secrets/{group}/{name}/binding  bind to an automation token (token_id)
//	DELETE /secrets/{group}/{name}/binding  remove the binding
//
// The vault enforces its own rules (authority.Vault); the value route
// accepts any token scope and leaves the check to it, so that an
// automation's token holding only read_secret can read its bound secret.

func secretEntity(s *botgate.Secret) apiwire.Secret {
	return apiwire.Secret{
		ID: s.ID, GroupID: s.OwnerGroupID, Name: s.Name, Description: s.Description, KeyID: s.KeyID,
		BoundFamilyID: idPtr(s.BoundFamilyID), BoundAutomation: s.BoundAutomation, CreatedByID: s.CreatedByID,
		CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt), LastReadAt: tsPtr(s.LastReadAt), Version: s.Version,
	}
}

// Vault is the vault as the secrets routes use it (authority.Vault). Its
// methods return KindNotFound for a group, secret or token the actor may
// not see, KindForbidden for one the actor sees but may not change,
// KindInvalid for bad input and KindInternal from the store.
type Vault interface {
	GroupID(ctx context.Context, ref string) (int64, error)
	ListSecrets(ctx context.Context, a authority.Actor, groupID int64, page botgate.Page) ([]*botgate.Secret, int, error)
	SecretMetadata(ctx context.Context, a authority.Actor, groupID int64, name string) (*botgate.Secret, error)
	ReadSecret(ctx context.Context, a authority.Actor, groupID int64, name string) ([]byte, *botgate.Secret, error)
	PutSecret(ctx context.Context, a authority.Actor, in authority.NewSecret) (*botgate.Secret, bool, error)
	DeleteSecret(ctx context.Context, a authority.Actor, groupID int64, name string) error
	BindSecret(ctx context.Context, a authority.Actor, groupID int64, name string, tokenID int64) (*botgate.Secret, error)
}

var _ Vault = (*authority.Vault)(nil)

// secretHandlers serve the vault's routes (routes.go).
type secretHandlers struct {
	s *Server
	v Vault
}

// group resolves the {group} segment or the group parameter.
func (h *secretHandlers) group(r *http.Request, ref string) (int64, error) {
	if ref == "" {
		return 0, botgate.Invalid("group", "group is missing")
	}
	return h.v.GroupID(r.Context(), ref)
}

func (h *secretHandlers) list(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.s.readParams(w, r)
	if err != nil {
		return err
	}
	gid, err := h.group(r, p.str("group"))
	if err != nil {
		return err
	}
	pg, err := readPager(p)
	if err != nil {
		return err
	}
	secrets, total, err := h.v.ListSecrets(r.Context(), c.actor, gid, pg.storePage())
	if err != nil {
		return err
	}
	out := make([]apiwire.Secret, len(secrets))
	for i, sec := range secrets {
		out[i] = secretEntity(sec)
	}
	return h.s.writeList(w, r, pg, total, out)
}

func (h *secretHandlers) get(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	sec, err := h.v.SecretMetadata(r.Context(), c.actor, gid, r.PathValue("name"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, secretEntity(sec))
}

func (h *secretHandlers) value(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	val, sec, err := h.v.ReadSecret(r.Context(), c.actor, gid, r.PathValue("name"))
	if err != nil {
		return err
	}
	defer clear(val)
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, apiwire.SecretValue{Secret: secretEntity(sec), Value: string(val)})
}

func (h *secretHandlers) put(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	p, err := h.s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("value"); err != nil {
		return err
	}
	val := []byte(p.str("value"))
	defer clear(val)
	sec, created, err := h.v.PutSecret(r.Context(), c.actor, authority.NewSecret{
		GroupID: gid, Name: r.PathValue("name"), Description: p.str("description"), Value: val,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return WriteJSON(w, status, secretEntity(sec))
}

func (h *secretHandlers) remove(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	if err := h.v.DeleteSecret(r.Context(), c.actor, gid, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *secretHandlers) bind(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	p, err := h.s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("token_id"); err != nil {
		return err
	}
	tid, err := p.int64("token_id")
	if err != nil {
		return err
	}
	if tid <= 0 {
		return invalidParam("token_id")
	}
	sec, err := h.v.BindSecret(r.Context(), c.actor, gid, r.PathValue("name"), tid)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, secretEntity(sec))
}

func (h *secretHandlers) unbind(w http.ResponseWriter, r *http.Request, c *call) error {
	gid, err := h.group(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	sec, err := h.v.BindSecret(r.Context(), c.actor, gid, r.PathValue("name"), 0)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, secretEntity(sec))
}

// The upstream broker's API, under /api/botgate/v1/upstream_credentials:
//
//	GET    /upstream_credentials?group=G     the team's credentials
//	POST   /upstream_credentials             register one and mint its token
//	GET    /upstream_credentials/{id}        one credential
//	POST   /upstream_credentials/{id}/rotate rotate its upstream token now
//	DELETE /upstream_credentials/{id}        revoke upstream and forget it
//
// No answer ever holds a token value or the upstream admin credential: the
// minted token is in the team's vault (upstream-<automation>).

func upstreamEntity(c *botgate.UpstreamCredential) apiwire.UpstreamCredential {
	return apiwire.UpstreamCredential{
		ID: c.ID, GroupID: c.OwnerGroupID, Automation: c.Automation, UpstreamURL: c.UpstreamURL, Kind: string(c.Kind),
		Target: c.Target, ServiceAccountID: c.ServiceAccountID, TokenName: c.TokenName, Scopes: c.Scopes.Strings(),
		AccessLevel: int(c.AccessLevel), LifetimeDays: int(c.Lifetime / (24 * time.Hour)), RotateBeforeDays: int(c.RotateBefore / (24 * time.Hour)),
		AutoRotate: c.AutoRotate, Notify: c.Notify, State: string(c.State), UpstreamTokenID: c.UpstreamTokenID,
		ExpiresAt: datePtr(c.ExpiresAt), SecretID: c.SecretID, SecretName: broker.SecretName(c.Automation),
		AdminSecretID: c.AdminSecretID, PendingRevokeID: c.PendingRevokeID, Attempts: c.Attempts,
		NextAttemptAt: tsPtr(c.NextAttemptAt), LastError: c.LastError, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
	}
}

// Broker is the upstream broker as its routes use it (broker.Broker). Its
// methods return KindNotFound for a credential the actor may not see,
// KindForbidden for one the actor sees but may not change, KindInvalid for
// bad input and KindInternal from the store; Create returns the credential
// with the error when it is registered but its first mint failed.
type Broker interface {
	List(ctx context.Context, a authority.Actor, groupID int64) ([]*botgate.UpstreamCredential, error)
	Create(ctx context.Context, a authority.Actor, in broker.NewCredential) (*botgate.UpstreamCredential, error)
	Get(ctx context.Context, a authority.Actor, id int64) (*botgate.UpstreamCredential, error)
	Rotate(ctx context.Context, a authority.Actor, id int64) error
	Remove(ctx context.Context, a authority.Actor, id int64) error
}

var _ Broker = (*broker.Broker)(nil)

// upstreamHandlers serve the upstream broker's routes (routes.go),
// resolving groups through the vault.
type upstreamHandlers struct {
	s *Server
	b Broker
	v Vault
}

func (h *upstreamHandlers) list(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("group"); err != nil {
		return err
	}
	gid, err := h.v.GroupID(r.Context(), p.str("group"))
	if err != nil {
		return err
	}
	all, err := h.b.List(r.Context(), c.actor, gid)
	if err != nil {
		return err
	}
	out := make([]apiwire.UpstreamCredential, len(all))
	for i, u := range all {
		out[i] = upstreamEntity(u)
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (h *upstreamHandlers) create(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := h.s.readParams(w, r)
	if err != nil {
		return err
	}
	if err := p.missing("group", "automation", "upstream_url", "admin_secret", "kind", "target", "scopes"); err != nil {
		return err
	}
	gid, err := h.v.GroupID(r.Context(), p.str("group"))
	if err != nil {
		return err
	}
	in := broker.NewCredential{
		GroupID: gid, Automation: p.str("automation"), UpstreamURL: p.str("upstream_url"), AdminSecret: p.str("admin_secret"),
		Kind: botgate.TokenKind(p.str("kind")), Target: p.str("target"), TokenName: p.str("token_name"), Scopes: p.list("scopes"),
		Notify: p.str("notify"),
	}
	ints := []struct {
		name string
		set  func(int64)
	}{
		{"access_level", func(v int64) { in.AccessLevel = botgate.AccessLevel(v) }},
		{"service_account_id", func(v int64) { in.ServiceAccountID = v }},
		{"lifetime_days", func(v int64) { in.Lifetime = time.Duration(v) * 24 * time.Hour }},
		{"rotate_before_days", func(v int64) { in.RotateBefore = time.Duration(v) * 24 * time.Hour }},
	}
	for _, f := range ints {
		if !p.has(f.name) {
			continue
		}
		v, err := p.int64(f.name)
		if err != nil {
			return err
		}
		if v < 0 || v > 1<<20 {
			return invalidParam(f.name)
		}
		f.set(v)
	}
	if auto, err := p.boolPtr("auto_rotate"); err != nil {
		return err
	} else if auto != nil {
		in.AutoRotate = *auto
	}
	cred, err := h.b.Create(r.Context(), c.actor, in)
	if err != nil {
		if cred == nil {
			return err
		}
		// Registered, but the first mint failed: the scheduler retries.
		h.s.log.Warn("upstream credential registered, first mint failed", "credential_id", cred.ID, "err", botgate.MessageOf(err))
		return WriteJSON(w, http.StatusAccepted, upstreamEntity(cred))
	}
	return WriteJSON(w, http.StatusCreated, upstreamEntity(cred))
}

// credential returns the upstream credential in {id}, if the actor may see
// it.
func (h *upstreamHandlers) credential(r *http.Request, c *call) (*botgate.UpstreamCredential, error) {
	id, err := pathID(r, "id", "Upstream credential")
	if err != nil {
		return nil, err
	}
	return h.b.Get(r.Context(), c.actor, id)
}

func (h *upstreamHandlers) get(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := h.credential(r, c)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, upstreamEntity(cred))
}

func (h *upstreamHandlers) rotate(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := h.credential(r, c)
	if err != nil {
		return err
	}
	if err := h.b.Rotate(r.Context(), c.actor, cred.ID); err != nil {
		return err
	}
	if cred, err = h.b.Get(r.Context(), c.actor, cred.ID); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, upstreamEntity(cred))
}

func (h *upstreamHandlers) remove(w http.ResponseWriter, r *http.Request, c *call) error {
	cred, err := h.credential(r, c)
	if err != nil {
		return err
	}
	if err := h.b.Remove(r.Context(), c.actor, cred.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
