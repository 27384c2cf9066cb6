package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
)

// adminTokenJSON is the raw token record POST /admin/token answers with.
type adminTokenJSON struct {
	ID                               int64    `json:"id"`
	UserID                           int64    `json:"user_id"`
	Name                             string   `json:"name"`
	Revoked                          bool     `json:"revoked"`
	ExpiresAt                        *string  `json:"expires_at"`
	CreatedAt                        string   `json:"created_at"`
	UpdatedAt                        string   `json:"updated_at"`
	Scopes                           []string `json:"scopes"`
	Impersonation                    bool     `json:"impersonation"`
	ExpireNotificationDelivered      bool     `json:"expire_notification_delivered"`
	LastUsedAt                       *string  `json:"last_used_at"`
	AfterExpiryNotificationDelivered bool     `json:"after_expiry_notification_delivered"`
	PreviousPersonalAccessTokenID    *int64   `json:"previous_personal_access_token_id"`
	AdvancedScopes                   *string  `json:"advanced_scopes"`
	OrganizationID                   int64    `json:"organization_id"`
	Description                      *string  `json:"description"`
}

func adminTokenEntity(t *botgate.Token) adminTokenJSON {
	j := adminTokenJSON{
		ID: t.ID, UserID: t.UserID, Name: t.Name, Revoked: t.Revoked, ExpiresAt: datePtr(t.ExpiresAt),
		CreatedAt: ts(t.CreatedAt), UpdatedAt: ts(t.CreatedAt), Scopes: t.Scopes.Strings(),
		LastUsedAt: tsPtr(t.LastUsedAt), OrganizationID: 1, Description: emptyNil(t.Description),
	}
	if t.RevokedAt != nil {
		j.UpdatedAt = ts(*t.RevokedAt)
	}
	if t.PreviousID != 0 {
		prev := t.PreviousID
		j.PreviousPersonalAccessTokenID = &prev
	}
	return j
}

// adminSecret reads the token an administrator asks about.
func (s *Server) adminSecret(w http.ResponseWriter, r *http.Request, c *call) (string, error) {
	if c.actor.User == nil || !c.actor.User.Admin {
		return "", botgate.E(botgate.KindForbidden)
	}
	p, err := s.readParams(w, r)
	if err != nil {
		return "", err
	}
	if err := p.missing("token"); err != nil {
		return "", err
	}
	return p.str("token"), nil
}

func (s *Server) handleAdminTokenLookup(w http.ResponseWriter, r *http.Request, c *call) error {
	secret, err := s.adminSecret(w, r, c)
	if err != nil {
		return err
	}
	t, err := s.auth.LookupToken(r.Context(), c.actor, secret)
	if err != nil {
		return adminTokenError(err)
	}
	return WriteJSON(w, http.StatusOK, adminTokenEntity(t))
}

func (s *Server) handleAdminTokenRevoke(w http.ResponseWriter, r *http.Request, c *call) error {
	secret, err := s.adminSecret(w, r, c)
	if err != nil {
		return err
	}
	if err := s.auth.RevokeTokenBySecret(r.Context(), c.actor, secret); err != nil {
		return adminTokenError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminTokenError renders an unknown token as GitLab's /admin/token does:
// render_api_error!({ error: 'Not found' }, :not_found).
func adminTokenError(err error) error {
	if botgate.KindOf(err) != botgate.KindNotFound {
		return err
	}
	return &rendered{status: http.StatusNotFound, body: map[string]any{"message": map[string]string{"error": "Not found"}}, err: err}
}
