package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// RevocableTokenTypes are the token types the token revocation API
// revokes: the identifiers GitLab's secret detection gives findings of
// GitLab personal access tokens (the analyzer's primary identifier type
// "gitleaks_rule_id" joined to the rule), in the legacy, routable and
// versioned routable layouts. botgate's tokens use the routable layout.
var RevocableTokenTypes = []string{
	"gitleaks_rule_id_gitlab_personal_access_token",
	"gitleaks_rule_id_gitlab_personal_access_token_routable",
	"gitleaks_rule_id_gitlab_personal_access_token_routable_versioned",
}

// revocationItem is one token in a POST /v1/revoke_tokens body, as
// GitLab's Security::TokenRevocationService sends it.
type revocationItem struct {
	Type     string `json:"type"`
	Token    string `json:"token"`
	Location string `json:"location"`
}

// revocationAuthorized checks the request's Authorization header against
// the configured pre-shared token, in constant time (both sides hashed,
// so that neither the value nor its length shows in the timing). GitLab
// sends the token as the header's whole value; "Bearer <token>" is
// accepted too. Without a configured token nothing is authorized.
func (s *Server) revocationAuthorized(r *http.Request) bool {
	if len(s.revocationToken) == 0 {
		return false
	}
	got := strings.TrimSpace(r.Header.Get("Authorization"))
	if v, ok := cutPrefixFold(got, "Bearer "); ok {
		got = strings.TrimSpace(v)
	}
	if got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], s.revocationToken) == 1
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// tokenRevocation wraps a token revocation API handler: it refuses a
// caller without the pre-shared token (401; when none is configured, every
// caller, saying so) and applies the API rate limit to the service as one
// client (429, which GitLab retries later).
func (s *Server) tokenRevocation(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if len(s.revocationToken) == 0 {
			s.log.Warn("token revocation API called but not configured", "ip", r.RemoteAddr)
			return WriteJSON(w, http.StatusUnauthorized, map[string]string{
				"message": "401 Unauthorized - the token revocation API is not configured on this botgate (set its pre-shared token)"})
		}
		if !s.revocationAuthorized(r) {
			ip, _ := s.trust.ClientIP(r.RemoteAddr, r.Header)
			s.log.Warn("token revocation API: credentials refused", "ip", ip, "request_id", w.Header().Get("X-Request-Id"))
			return WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		}
		if s.rateLimitKey(w, r, "token_revocation") {
			return nil
		}
		return h(w, r)
	}
}

// handleRevocableTokenTypes is GET /v1/revocable_token_types: the types
// POST /v1/revoke_tokens accepts, as {"types": [...]}.
func (s *Server) handleRevocableTokenTypes(w http.ResponseWriter, r *http.Request) error {
	return WriteJSON(w, http.StatusOK, map[string][]string{"types": RevocableTokenTypes})
}

// handleRevokeTokens is POST /v1/revoke_tokens: GitLab's secret detection
// reports leaked tokens as a JSON array of {type, token, location}. Each
// active token of this instance is revoked and its owning team told, as
// POST /api/botgate/v1/leaks does. The answer is 204 whatever the tokens
// were (revoked, already inactive, another system's, or never issued), so
// that it tells nothing about any of them; 400 (not to be retried) when
// the body is not such an array or names a type not in
// RevocableTokenTypes, before any token is looked at.
func (s *Server) handleRevokeTokens(w http.ResponseWriter, r *http.Request) error {
	var items []revocationItem
	if err := s.decodeJSONBody(w, r, &items, "a JSON array of {type, token, location}"); err != nil {
		return err
	}
	for i, it := range items {
		switch {
		case !slices.Contains(RevocableTokenTypes, it.Type):
			return botgate.Invalid("", "item %d: the token type is not supported; GET /v1/revocable_token_types lists the supported ones", i)
		case it.Token == "":
			return botgate.Invalid("", "item %d: token is missing", i)
		}
	}
	ip, _ := s.trust.ClientIP(r.RemoteAddr, r.Header)
	actor := authority.SecretDetectionActor(ip, r.UserAgent())
	seen := make(map[string]bool, len(items))
	revoked := 0
	for _, it := range items {
		if seen[it.Token] {
			continue
		}
		seen[it.Token] = true
		res, err := s.reportLeak(r, actor, it.Token, it.Location)
		if err != nil {
			return err
		}
		if res.Status == authority.LeakRevoked {
			revoked++
		}
	}
	s.log.Info("token revocation API: leaked tokens reported", "reported", len(seen), "revoked", revoked, "ip", ip)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// reportLeak reports one leaked token to the authority and, when that
// revoked it, tells its owning team.
func (s *Server) reportLeak(r *http.Request, a authority.Actor, secret, location string) (authority.LeakResult, error) {
	res, err := s.auth.ReportLeak(r.Context(), a, authority.LeakReport{Secret: secret, Location: location})
	if err != nil {
		return res, err
	}
	if res.Status == authority.LeakRevoked && s.leaks != nil {
		s.leaks.NotifyLeak(res.Token, res.User, res.Location)
	}
	return res, nil
}
