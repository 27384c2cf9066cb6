package governance

import (
	"context"
	"slices"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

// State reads the live instance as the planner sees it: every group,
// project, service account (with its owning team), direct membership,
// automation record and unrevoked token, by full path, in one consistent
// snapshot. Personal tokens are included (the planner never touches them).
func (g *Governor) State(ctx context.Context) (manifest.State, error) {
	st, _, err := g.readState(ctx)
	return st, err
}

// world is one consistent read of the instance, with lookups by ID.
type world struct {
	groups   map[int64]*botgate.Group
	projects map[int64]*botgate.Project
	users    map[int64]*botgate.User
	members  []*botgate.Member
	autos    []*botgate.Automation
	tokens   []*botgate.Token
	secrets  []*botgate.Secret
	notify   []*botgate.TeamNotify
	// routes are the tokens' recorded route usage, by token ID.
	routes map[int64][]botgate.RouteUsage
}

// readWorld reads everything governance looks at in one View. withUsage
// adds the route usage and the vault's secrets, which the planner does not
// need.
func (g *Governor) readWorld(ctx context.Context, withUsage bool) (*world, error) {
	w := &world{groups: map[int64]*botgate.Group{}, projects: map[int64]*botgate.Project{},
		users: map[int64]*botgate.User{}, routes: map[int64][]botgate.RouteUsage{}}
	err := g.store.View(ctx, func(tx botgate.Tx) error {
		gs, _, err := tx.FindGroups(ctx, botgate.GroupFilter{})
		if err != nil {
			return err
		}
		for _, x := range gs {
			w.groups[x.ID] = x
		}
		ps, _, err := tx.FindProjects(ctx, botgate.ProjectFilter{})
		if err != nil {
			return err
		}
		for _, x := range ps {
			w.projects[x.ID] = x
		}
		us, _, err := tx.FindUsers(ctx, botgate.UserFilter{})
		if err != nil {
			return err
		}
		for _, x := range us {
			w.users[x.ID] = x
		}
		if w.members, _, err = tx.FindMembers(ctx, botgate.MemberFilter{}); err != nil {
			return err
		}
		if w.autos, _, err = tx.FindAutomations(ctx, botgate.AutomationFilter{}); err != nil {
			return err
		}
		if w.tokens, _, err = tx.FindTokens(ctx, botgate.TokenFilter{Revoked: new(bool), Sort: "created_asc"}); err != nil {
			return err
		}
		if w.notify, err = tx.FindTeamNotify(ctx); err != nil {
			return err
		}
		if !withUsage {
			return nil
		}
		if w.secrets, _, err = tx.FindSecrets(ctx, botgate.SecretFilter{}); err != nil {
			return err
		}
		for _, t := range w.tokens {
			ru, err := tx.FindRouteUsage(ctx, t.ID)
			if err != nil {
				return err
			}
			if len(ru) > 0 {
				w.routes[t.ID] = ru
			}
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E("governance.readWorld", err)
	}
	return w, nil
}

// ref returns the full path of a project or group.
func (w *world) ref(r botgate.Resource) (manifest.Ref, bool) {
	switch r.Type {
	case botgate.ProjectResource:
		if p := w.projects[r.ID]; p != nil {
			return manifest.Ref{Type: r.Type, Path: p.PathWithNamespace}, true
		}
	case botgate.GroupResource:
		if gr := w.groups[r.ID]; gr != nil {
			return manifest.Ref{Type: r.Type, Path: gr.FullPath}, true
		}
	}
	return manifest.Ref{}, false
}

// groupPath returns the group's full path, "" if unknown.
func (w *world) groupPath(id int64) string {
	if gr := w.groups[id]; gr != nil {
		return gr.FullPath
	}
	return ""
}

// readState reads the planner's view and the automation records by name.
func (g *Governor) readState(ctx context.Context) (manifest.State, map[string]*botgate.Automation, error) {
	w, err := g.readWorld(ctx, false)
	if err != nil {
		return manifest.State{}, nil, err
	}
	var st manifest.State
	for _, id := range sortedKeys(w.groups) {
		st.Groups = append(st.Groups, manifest.LiveGroup{ID: id, FullPath: w.groups[id].FullPath})
	}
	for _, id := range sortedKeys(w.projects) {
		st.Projects = append(st.Projects, manifest.LiveProject{ID: id, FullPath: w.projects[id].PathWithNamespace})
	}
	for _, id := range sortedKeys(w.users) {
		u := w.users[id]
		if u.Kind != botgate.ServiceAccount {
			continue
		}
		sa := manifest.LiveServiceAccount{ID: u.ID, Username: u.Username}
		if u.Owner.Type == botgate.GroupResource {
			sa.Owner = w.groupPath(u.Owner.ID)
		}
		st.ServiceAccounts = append(st.ServiceAccounts, sa)
	}
	for _, m := range w.members {
		u := w.users[m.UserID]
		r, ok := w.ref(m.Resource)
		if u == nil || !ok {
			continue
		}
		st.Members = append(st.Members, manifest.LiveMember{Resource: r, User: u.Username, AccessLevel: m.AccessLevel})
	}
	for _, n := range w.notify {
		if path := w.groupPath(n.GroupID); path != "" {
			st.TeamNotify = append(st.TeamNotify, manifest.LiveTeamNotify{Team: path, WebhookDigest: manifest.WebhookDigest(n.WebhookURL),
				WebhookShown: botgate.RedactURL(n.WebhookURL), Email: slices.Clone(n.Emails)})
		}
	}
	recs := map[string]*botgate.Automation{}
	for _, a := range w.autos {
		recs[a.Name] = a
		la := manifest.LiveAutomation{Name: a.Name, Owner: w.groupPath(a.OwnerGroupID), Purpose: a.Purpose,
			Kind: manifest.Kind(a.Kind), Temporary: a.Temporary, Upstream: a.Upstream, Routes: slices.Clone(a.Routes),
			Enforcement: a.Enforcement.String()}
		if !a.RateLimit.IsZero() {
			la.RateLimit = manifest.FormatRateLimit(a.RateLimit)
		}
		for i := range a.Trust {
			la.Trust = append(la.Trust, a.Trust[i].String())
		}
		st.Automations = append(st.Automations, la)
	}
	for _, t := range w.tokens {
		lt := manifest.LiveToken{ID: t.ID, Name: t.Name, Automation: t.Automation, Kind: t.Kind,
			Scopes: slices.Clone(t.Scopes), AccessLevel: t.AccessLevel, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt, Revoked: t.Revoked}
		switch t.Kind {
		case botgate.ProjectAccessToken, botgate.GroupAccessToken:
			r, ok := w.ref(t.Resource)
			if !ok {
				continue
			}
			lt.Resource = r
		default:
			if u := w.users[t.UserID]; u != nil {
				lt.User = u.Username
			}
		}
		st.Tokens = append(st.Tokens, lt)
	}
	return st, recs, nil
}

func sortedKeys[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
