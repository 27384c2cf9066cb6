package migrate

import (
	"cmp"
	"slices"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
)

// TokenUsage folds the requests into lint usage records per token ID, so
// that lint's reuse (BG001) and least-scope (BG004) rules can judge the
// tokens the log shows. Requests without a token ID are left out; failed
// requests count as clients but not as routes (they needed nothing).
func TokenUsage(reqs []Request) map[int64]*lint.Usage {
	type clientKey struct{ ua, ip string }
	type routeKey struct{ method, route, project, group, scope string }
	out := map[int64]*lint.Usage{}
	clients := map[int64]map[clientKey]int{}
	routes := map[int64]map[routeKey]int{}
	for i := range reqs {
		r := &reqs[i]
		if r.TokenID == 0 {
			continue
		}
		u, ok := out[r.TokenID]
		if !ok {
			u = &lint.Usage{Since: r.Time, Until: r.Time}
			out[r.TokenID] = u
			clients[r.TokenID] = map[clientKey]int{}
			routes[r.TokenID] = map[routeKey]int{}
		}
		if r.Time.Before(u.Since) {
			u.Since = r.Time
		}
		if r.Time.After(u.Until) {
			u.Until = r.Time
		}
		clients[r.TokenID][clientKey{r.UserAgent, r.RemoteIP}]++
		if r.Status >= 400 {
			continue
		}
		c := classify(r)
		routes[r.TokenID][routeKey{r.Method, c.route, r.Project, r.Group, string(c.scope)}]++
		if r.Client != "" && !slices.Contains(u.Automations, r.Client) {
			// A declared client id names the automation calling.
			u.Automations = append(u.Automations, r.Client)
		}
	}
	for id, u := range out {
		for k, n := range clients[id] {
			u.Clients = append(u.Clients, lint.Client{UserAgent: k.ua, IP: k.ip, Calls: n})
		}
		slices.SortFunc(u.Clients, func(a, b lint.Client) int {
			return cmp.Or(cmp.Compare(a.UserAgent, b.UserAgent), cmp.Compare(a.IP, b.IP))
		})
		for k, n := range routes[id] {
			u.Routes = append(u.Routes, lint.RouteUse{Method: k.method, Route: k.route, Project: k.project, Group: k.group, Needed: botgate.Scope(k.scope), Calls: n})
		}
		slices.SortFunc(u.Routes, func(a, b lint.RouteUse) int {
			return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Project, b.Project), cmp.Compare(a.Group, b.Group))
		})
		slices.Sort(u.Automations)
	}
	return out
}
