package httpapi

import (
	"net/http"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
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

// secretJSON is a secret's metadata; the value is never part of it.
type secretJSON struct {
	ID              int64   `json:"id"`
	GroupID         int64   `json:"group_id"`
	Name            string  `json:"name"`
	Description     string  `json:"description"`
	KeyID           string  `json:"key_id"`
	BoundFamilyID   *int64  `json:"bound_family_id"`
	BoundAutomation string  `json:"bound_automation"`
	CreatedByID     int64   `json:"created_by_id"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
	LastReadAt      *string `json:"last_read_at"`
	Version         int64   `json:"version"`
}

// secretValueJSON is a secret's value, answered by the value route only.
type secretValueJSON struct {
	secretJSON
	Value string `json:"value"`
}

func secretEntity(s *botgate.Secret) secretJSON {
	return secretJSON{
		ID: s.ID, GroupID: s.OwnerGroupID, Name: s.Name, Description: s.Description, KeyID: s.KeyID,
		BoundFamilyID: idPtr(s.BoundFamilyID), BoundAutomation: s.BoundAutomation, CreatedByID: s.CreatedByID,
		CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt), LastReadAt: tsPtr(s.LastReadAt), Version: s.Version,
	}
}

// EnableVault registers the vault's routes, served by v. A server without
// a vault (no master key loaded) answers them 404.
func (s *Server) EnableVault(v *authority.Vault) {
	h := &secretHandlers{s: s, v: v}
	route := func(pattern string, n need, fn authedFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.Handle(method+" /api/botgate/v1"+path, s.adapt(s.authed(n, fn)))
	}
	route("GET /secrets", needRead, h.list)
	route("GET /secrets/{group}/{name}", needRead, h.get)
	route("GET /secrets/{group}/{name}/value", needAny, h.value)
	route("PUT /secrets/{group}/{name}", needWrite, h.put)
	route("DELETE /secrets/{group}/{name}", needWrite, h.remove)
	route("PUT /secrets/{group}/{name}/binding", needWrite, h.bind)
	route("DELETE /secrets/{group}/{name}/binding", needWrite, h.unbind)
}

type secretHandlers struct {
	s *Server
	v *authority.Vault
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
	out := make([]secretJSON, len(secrets))
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
	return WriteJSON(w, http.StatusOK, secretValueJSON{secretJSON: secretEntity(sec), Value: string(val)})
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
