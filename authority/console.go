package authority

import (
	"context"
	"slices"
	"time"

	"github.com/botgate/botgate"
)

// Audit actions of the web console.
const (
	ActionConsoleSignIn  = "console.sign_in"
	ActionConsoleSignOut = "console.sign_out"
)

// InventoryLevel is the role on a team (the group that owns automations)
// that shows a person the team's automations and tokens in the console.
// Administrators see every team.
const InventoryLevel = botgate.ReporterAccess

// SignIn authenticates a console sign-in exactly as Authenticate does an
// API request, refuses a rotated-out token still in its grace window
// (KindUnauthenticated, ReasonTokenRevoked), and then admits only a person's personal access token with
// the read_api or api scope: bots, service accounts and project or group
// access tokens cannot sign in (KindForbidden, saying so). The sign-in is
// audited.
func (s *Service) SignIn(ctx context.Context, secret string, meta RequestMeta) (*Identity, error) {
	const op = "authority.SignIn"
	id, err := s.Authenticate(ctx, secret, meta)
	if err != nil {
		return nil, err
	}
	if id.Token.Revoked {
		// Rotated out, within the grace window: that keeps running jobs
		// going, and is no way in for a person.
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenRevoked,
			Message: "this token was rotated; sign in with the token that replaced it"}
	}
	if err := consoleEligible(id.User, id.Token); err != nil {
		return nil, botgate.E(op, err)
	}
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
		e := s.event(id.Actor(meta), ActionConsoleSignIn, "user", id.User.ID, id.User.Username)
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return id, nil
}

// SignedOut audits the end of a console session.
func (s *Service) SignedOut(ctx context.Context, a Actor) error {
	if a.User == nil {
		return nil
	}
	return s.store.Update(ctx, func(tx botgate.Tx) error {
		return s.record(ctx, tx, s.event(a, ActionConsoleSignOut, "user", a.User.ID, a.User.Username))
	})
}

// consoleEligible admits a person's personal token that may read the API.
func consoleEligible(u *botgate.User, t *botgate.Token) error {
	if u.Kind != botgate.HumanUser || t.Kind != botgate.PersonalToken {
		return forbidden("only a person's personal access token signs in to the console; %s cannot", kindWords(u.Kind))
	}
	if !t.Scopes.HasAny(botgate.ScopeAPI, botgate.ScopeReadAPI) {
		return forbidden("the token needs the read_api or api scope to sign in to the console")
	}
	return nil
}

// SessionIdentity returns who a console session signed in with the token
// tokenID is now, with the checks Authenticate makes on a presented token:
// a token revoked or expired since, or a person deactivated since, ends
// the session (KindUnauthenticated with the reason).
func (s *Service) SessionIdentity(ctx context.Context, tokenID int64) (*Identity, error) {
	const op = "authority.SessionIdentity"
	var id Identity
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		t, err := tx.Token(ctx, tokenID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return &botgate.Error{Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenUnknown}
		}
		if err != nil {
			return err
		}
		u, err := tx.User(ctx, t.UserID)
		if err != nil {
			return err
		}
		id = Identity{User: u, Token: t}
		return nil
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	switch {
	case id.Token.Revoked:
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenRevoked}
	case id.Token.Expired(s.clock.Now()):
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonTokenExpired}
	case !id.User.Active():
		return nil, &botgate.Error{Op: op, Kind: botgate.KindUnauthenticated, Reason: botgate.ReasonUserInactive}
	}
	if err := consoleEligible(id.User, id.Token); err != nil {
		return nil, botgate.E(op, err)
	}
	return &id, nil
}

// InventoryQuery selects one page of the credentials inventory.
type InventoryQuery struct {
	// TeamID narrows the inventory to one team; 0 shows every team the
	// actor may see (and, to an administrator, every active token,
	// declared or not).
	TeamID int64
	// Project narrows it to the automations that act on the project (by
	// full path); UserID to the tokens of one user (a bot, a service
	// account or a person).
	Project string
	UserID  int64
	Search  string
	Page    botgate.Page
}

// InventoryRow is one active token in the inventory, with what the console
// shows beside it.
type InventoryRow struct {
	Token *botgate.Token
	// Bot is the token's user: the project or group bot, the service
	// account, or the person.
	Bot *botgate.User
	// Automation is the record that declares the token, nil when no
	// applied manifest does (drift).
	Automation *botgate.Automation
	// Team is the automation's owning group, nil when not declared.
	Team *botgate.Group
	// Usage is the token's route usage through the gateway, most recent
	// first.
	Usage []botgate.RouteUsage
	// LoopTrips and Refusals count the loop breaker's trips and the
	// refused authentications of the token in the last RecentWindow.
	LoopTrips, Refusals int
}

// ScopesUsed returns the scopes the row's usage needed.
func (r InventoryRow) ScopesUsed() botgate.Scopes {
	var used botgate.Scopes
	for _, u := range r.Usage {
		if u.Scope != "" {
			used = append(used, u.Scope)
		}
	}
	return botgate.NormalizeScopes(used)
}

// Inventory is one page of tokens and the teams the actor may see.
type Inventory struct {
	Teams []*botgate.Group
	Rows  []InventoryRow
	Total int
}

// RecentWindow is how far back the inventory counts refusals and loop
// breaker trips.
const RecentWindow = 24 * time.Hour

// inventoryScope is the part of the instance an actor sees in the
// inventory: the teams, their automations by name, and whether every
// token is visible (administrators).
type inventoryScope struct {
	all   bool
	teams []*botgate.Group
	autos map[string]*botgate.Automation
	byID  map[int64]*botgate.Group
}

// names returns the automations of the team (0: of every visible team)
// that act on the project ("": on anything).
func (sc *inventoryScope) names(teamID int64, project string) []string {
	var out []string
	for name, a := range sc.autos {
		if (teamID == 0 || a.OwnerGroupID == teamID) && (project == "" || slices.Contains(a.Projects, project)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// scope reads the teams whose inventory the actor may see: the groups
// that own automations on which the actor has InventoryLevel (all of them
// for an administrator).
func (s *Service) inventoryScope(ctx context.Context, tx botgate.Tx, a Actor) (*inventoryScope, error) {
	if a.User == nil && !a.System {
		return nil, botgate.E(botgate.KindUnauthenticated)
	}
	autos, _, err := tx.FindAutomations(ctx, botgate.AutomationFilter{})
	if err != nil {
		return nil, err
	}
	owners := map[int64]bool{}
	for _, au := range autos {
		owners[au.OwnerGroupID] = true
	}
	ids := make([]int64, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sc := &inventoryScope{all: a.isAdmin(), autos: map[string]*botgate.Automation{}, byID: map[int64]*botgate.Group{}}
	if len(ids) > 0 {
		groups, _, err := tx.FindGroups(ctx, botgate.GroupFilter{IDs: ids})
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if !sc.all {
				have, err := s.accessOn(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID})
				if err != nil {
					return nil, err
				}
				if have < InventoryLevel {
					continue
				}
			}
			sc.teams = append(sc.teams, g)
			sc.byID[g.ID] = g
		}
	}
	for _, au := range autos {
		if sc.byID[au.OwnerGroupID] != nil {
			sc.autos[au.Name] = au
		}
	}
	return sc, nil
}

// inventoryFilter is the token filter of the query within the scope; ok
// is false when the actor may see no token at all.
func (s *Service) inventoryFilter(sc *inventoryScope, q InventoryQuery) (f botgate.TokenFilter, ok bool, err error) {
	if q.TeamID != 0 && sc.byID[q.TeamID] == nil {
		return f, false, botgate.NotFound("Group")
	}
	active := true
	f = botgate.TokenFilter{Active: &active, At: s.clock.Now(), UserID: q.UserID, Search: q.Search, Sort: "name_asc", Page: q.Page}
	if sc.all && q.TeamID == 0 && q.Project == "" {
		return f, true, nil
	}
	f.Automations = sc.names(q.TeamID, q.Project)
	return f, len(f.Automations) > 0, nil
}

// Inventory returns a page of the active tokens the actor may see, by
// name: an administrator every token (or one team's), anyone else the
// tokens of the automations of the teams where they have InventoryLevel.
// Each row carries its bot, its declaring automation, its route usage and
// its recent refusals and loop breaker trips. A team the actor may not
// see is KindNotFound.
func (s *Service) Inventory(ctx context.Context, a Actor, q InventoryQuery) (*Inventory, error) {
	const op = "authority.Inventory"
	out := &Inventory{}
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		sc, err := s.inventoryScope(ctx, tx, a)
		if err != nil {
			return err
		}
		out.Teams = sc.teams
		f, ok, err := s.inventoryFilter(sc, q)
		if err != nil || !ok {
			return err
		}
		tokens, total, err := tx.FindTokens(ctx, f)
		if err != nil {
			return err
		}
		out.Total = total
		return s.inventoryRows(ctx, tx, sc, tokens, out)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return out, nil
}

// inventoryRows fills out.Rows for tokens.
func (s *Service) inventoryRows(ctx context.Context, tx botgate.Tx, sc *inventoryScope, tokens []*botgate.Token, out *Inventory) error {
	if len(tokens) == 0 {
		return nil
	}
	userIDs := make([]int64, len(tokens))
	index := make(map[int64]int, len(tokens))
	for i, t := range tokens {
		userIDs[i] = t.UserID
		index[t.ID] = i
	}
	users, _, err := tx.FindUsers(ctx, botgate.UserFilter{IDs: userIDs, Page: botgate.Page{Limit: len(userIDs)}})
	if err != nil {
		return err
	}
	byUser := make(map[int64]*botgate.User, len(users))
	for _, u := range users {
		byUser[u.ID] = u
	}
	out.Rows = make([]InventoryRow, len(tokens))
	for i, t := range tokens {
		row := InventoryRow{Token: t, Bot: byUser[t.UserID], Automation: sc.autos[t.Automation]}
		if row.Automation != nil {
			row.Team = sc.byID[row.Automation.OwnerGroupID]
		}
		if row.Usage, err = tx.FindRouteUsage(ctx, t.ID); err != nil {
			return err
		}
		out.Rows[i] = row
	}
	since := s.clock.Now().Add(-RecentWindow)
	for _, c := range []struct {
		action string
		count  func(*InventoryRow)
	}{
		{ActionGatewayLoopTripped, func(r *InventoryRow) { r.LoopTrips++ }},
		{botgate.ActionAuthFailed, func(r *InventoryRow) { r.Refusals++ }},
	} {
		events, err := tx.FindAudit(ctx, botgate.AuditFilter{Action: c.action, Since: &since, Page: botgate.Page{Limit: maxRecentEvents}})
		if err != nil {
			return err
		}
		for _, e := range events {
			if i, ok := index[e.TokenID]; ok && e.TokenID != 0 {
				c.count(&out.Rows[i])
			}
		}
	}
	return nil
}

// maxRecentEvents bounds the audit events one inventory or chart reads.
const maxRecentEvents = 20000

// Charts are the console's pictures for what an actor may see: tokens by
// expiry month, and refusals and loop breaker trips per automation per
// hour over the last RecentWindow.
type Charts struct {
	// ExpiryMonths counts active tokens by the month they expire in, for
	// the next twelve months from the current one; NoExpiry counts those
	// that never expire.
	ExpiryMonths []MonthCount
	NoExpiry     int
	// Requests maps an automation ("" for an undeclared token) to its
	// requests through the gateway per hour, and Refusals to its refused
	// authentications and loop breaker trips per hour; both are oldest
	// first, the last bucket being the current hour.
	Requests map[string][]int
	Refusals map[string][]int
	Hours    []time.Time
}

// MonthCount is a number of tokens expiring in a month.
type MonthCount struct {
	Month time.Time
	Count int
}

// Charts computes the console's charts for the actor and team (0: every
// team the actor may see), under Inventory's visibility rule.
func (s *Service) Charts(ctx context.Context, a Actor, teamID int64) (*Charts, error) {
	const op = "authority.Charts"
	now := s.clock.Now().UTC()
	out := &Charts{Requests: map[string][]int{}, Refusals: map[string][]int{}}
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		sc, err := s.inventoryScope(ctx, tx, a)
		if err != nil {
			return err
		}
		f, ok, err := s.inventoryFilter(sc, InventoryQuery{TeamID: teamID, Page: botgate.Page{Limit: 1}})
		if err != nil || !ok {
			return err
		}
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		for i := range 12 {
			from, to := month.AddDate(0, i, 0), month.AddDate(0, i+1, 0)
			mf := f
			mf.ExpiresAfter, mf.ExpiresBefore = &from, &to
			_, n, err := tx.FindTokens(ctx, mf)
			if err != nil {
				return err
			}
			out.ExpiryMonths = append(out.ExpiryMonths, MonthCount{Month: from, Count: n})
		}
		_, all, err := tx.FindTokens(ctx, f)
		if err != nil {
			return err
		}
		out.NoExpiry = all
		{
			far := month.AddDate(100, 0, 0)
			ef := f
			ef.ExpiresAfter, ef.ExpiresBefore = &month, &far
			_, n, err := tx.FindTokens(ctx, ef)
			if err != nil {
				return err
			}
			out.NoExpiry -= n
		}
		return s.byHour(ctx, tx, sc, teamID, now, out)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return out, nil
}

// byHour buckets the recent requests, refusals and loop trips of the
// tokens the actor may see by automation and hour.
func (s *Service) byHour(ctx context.Context, tx botgate.Tx, sc *inventoryScope, teamID int64, now time.Time, out *Charts) error {
	hours := int(RecentWindow / time.Hour)
	first := now.Truncate(time.Hour).Add(-time.Duration(hours-1) * time.Hour)
	for i := range hours {
		out.Hours = append(out.Hours, first.Add(time.Duration(i)*time.Hour))
	}
	// seen says whether a token's automation label is in the actor's
	// view, and under which name.
	seen := func(label string) (string, bool) {
		au := sc.autos[label]
		if au == nil {
			return "", sc.all && teamID == 0
		}
		return au.Name, teamID == 0 || au.OwnerGroupID == teamID
	}
	add := func(series map[string][]int, name string, at time.Time, n int) {
		b := int(at.Sub(first) / time.Hour)
		if b < 0 || b >= hours {
			return
		}
		if series[name] == nil {
			series[name] = make([]int, hours)
		}
		series[name][b] += n
	}
	usage, err := tx.FindHourlyUsage(ctx, first)
	if err != nil {
		return err
	}
	for _, u := range usage {
		if name, ok := seen(u.Automation); ok {
			add(out.Requests, name, u.Hour, int(u.Requests))
		}
	}
	labels := map[int64]string{} // token ID → automation label, for the audited tokens
	for _, action := range []string{botgate.ActionAuthFailed, ActionGatewayLoopTripped} {
		events, err := tx.FindAudit(ctx, botgate.AuditFilter{Action: action, Since: &first, Page: botgate.Page{Limit: maxRecentEvents}})
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.TokenID == 0 {
				continue
			}
			label, ok := labels[e.TokenID]
			if !ok {
				t, err := tx.Token(ctx, e.TokenID)
				if err != nil && !botgate.IsKind(err, botgate.KindNotFound) {
					return err
				}
				if t != nil {
					label = t.Automation
				}
				labels[e.TokenID] = label
			}
			if name, ok := seen(label); ok {
				add(out.Refusals, name, e.Time, 1)
			}
		}
	}
	return nil
}
