package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
)

// tokenUsageJSON is how a token has been used, as the gateway recorded it:
// its recent clients and every route it called with the scope that call
// needed. GET /api/botgate/v1/tokens/{id}/usage.
type tokenUsageJSON struct {
	TokenID     int64    `json:"token_id"`
	Name        string   `json:"name"`
	Automation  string   `json:"automation"`
	Scopes      []string `json:"scopes"`
	LastUsedAt  *string  `json:"last_used_at"`
	LastUsedIPs []string `json:"last_used_ips"`
	// UserAgents are the client fingerprints seen, newest first.
	UserAgents []string `json:"user_agents"`
	// ScopesUsed are the scopes the calls needed (the weakest scope that
	// allowed each), in canonical order: a token whose ScopesUsed is
	// narrower than Scopes holds more than it uses.
	ScopesUsed []string         `json:"scopes_used"`
	Calls      int64            `json:"calls"`
	Routes     []routeUsageJSON `json:"routes"`
}

// routeUsageJSON is one route a token called.
type routeUsageJSON struct {
	Method    string `json:"method"`
	Route     string `json:"route"`
	Scope     string `json:"scope"`
	Count     int64  `json:"count"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
}

func (s *Server) handleTokenUsage(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return err
	}
	// Token checks that the caller may manage the token (and hides it
	// otherwise).
	t, err := s.auth.Token(r.Context(), c.actor, id)
	if err != nil {
		return err
	}
	var routes []botgate.RouteUsage
	err = s.store.View(r.Context(), func(tx botgate.Tx) (err error) {
		routes, err = tx.FindRouteUsage(r.Context(), id)
		return err
	})
	if err != nil {
		return err
	}
	j := tokenUsageJSON{
		TokenID: t.ID, Name: t.Name, Automation: t.Automation, Scopes: t.Scopes.Strings(),
		LastUsedAt: tsPtr(t.LastUsedAt), LastUsedIPs: t.LastUsedIPs, UserAgents: t.UserAgents,
		ScopesUsed: []string{}, Routes: make([]routeUsageJSON, len(routes)),
	}
	if j.LastUsedIPs == nil {
		j.LastUsedIPs = []string{}
	}
	if j.UserAgents == nil {
		j.UserAgents = []string{}
	}
	var used botgate.Scopes
	for i, u := range routes {
		j.Routes[i] = routeUsageJSON{Method: u.Method, Route: u.Route, Scope: string(u.Scope), Count: u.Count,
			FirstSeen: ts(u.FirstSeen), LastSeen: ts(u.LastSeen)}
		j.Calls += u.Count
		if u.Scope != "" {
			used = append(used, u.Scope)
		}
	}
	j.ScopesUsed = append(j.ScopesUsed, botgate.NormalizeScopes(used).Strings()...)
	return WriteJSON(w, http.StatusOK, j)
}
