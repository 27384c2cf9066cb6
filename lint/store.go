package lint

import (
	"slices"

	"github.com/botgate/botgate"
)

// TokenFromStore turns a stored token into what the rules look at: its
// owner (username), the user agents recorded on it (Token.UserAgents) as
// clients, and the route usage the gateway recorded for it over the window
// the caller chose (botgate.RouteUsage of this token; none means no usage
// verdicts). The token's secret digest is not carried over.
func TokenFromStore(t *botgate.Token, owner *botgate.User, routes []botgate.RouteUsage) Token {
	out := Token{ID: t.ID, Name: t.Name, Kind: t.Kind, Automation: t.Automation, UserID: t.UserID,
		Scopes: slices.Clone(t.Scopes), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, Revoked: t.Revoked}
	if owner != nil {
		out.Username = owner.Username
	}
	if len(routes) == 0 && len(t.UserAgents) == 0 {
		return out
	}
	u := &Usage{}
	for _, ua := range t.UserAgents {
		u.Clients = append(u.Clients, Client{UserAgent: ua})
	}
	for _, r := range routes {
		if r.TokenID != t.ID {
			continue
		}
		if u.Since.IsZero() || r.FirstSeen.Before(u.Since) {
			u.Since = r.FirstSeen
		}
		if r.LastSeen.After(u.Until) {
			u.Until = r.LastSeen
		}
		u.Routes = append(u.Routes, RouteUse{Method: r.Method, Route: r.Route, Needed: r.Scope, Calls: int(r.Count)})
	}
	out.Usage = u
	return out
}

// UserFromStore turns a stored user into the rules' view of it.
func UserFromStore(u *botgate.User) User {
	return User{ID: u.ID, Username: u.Username, Kind: u.Kind}
}
