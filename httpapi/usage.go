package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
)

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
	j := apiwire.TokenUsage{
		TokenID: t.ID, Name: t.Name, Automation: t.Automation, Scopes: t.Scopes.Strings(),
		LastUsedAt: tsPtr(t.LastUsedAt), LastUsedIPs: t.LastUsedIPs, UserAgents: t.UserAgents,
		ScopesUsed: []string{}, Routes: make([]apiwire.RouteUsage, len(routes)),
	}
	if j.LastUsedIPs == nil {
		j.LastUsedIPs = []string{}
	}
	if j.UserAgents == nil {
		j.UserAgents = []string{}
	}
	var used botgate.Scopes
	for i, u := range routes {
		j.Routes[i] = apiwire.RouteUsage{Method: u.Method, Route: u.Route, Scope: string(u.Scope), Count: u.Count,
			FirstSeen: ts(u.FirstSeen), LastSeen: ts(u.LastSeen)}
		j.Calls += u.Count
		if u.Scope != "" {
			used = append(used, u.Scope)
		}
	}
	j.ScopesUsed = append(j.ScopesUsed, botgate.NormalizeScopes(used).Strings()...)
	return WriteJSON(w, http.StatusOK, j)
}
