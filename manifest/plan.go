package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// Op is what an Action does.
type Op string

// The operations, in the order Plan emits them.
const (
	OpCreateGroup          Op = "create_group"
	OpCreateProject        Op = "create_project"
	OpCreateServiceAccount Op = "create_service_account"
	OpSetMember            Op = "set_member"
	// OpRemoveMember takes a service account off a resource no declared
	// automation needs it on (always a Prune step).
	OpRemoveMember  Op = "remove_member"
	OpPutAutomation Op = "put_automation"
	OpCreateToken   Op = "create_token"
	// OpRotateToken replaces a token by rotation: same name and scopes, a
	// new secret and expiry; the old one is revoked.
	OpRotateToken Op = "rotate_token"
	// OpReplaceToken creates a new token and then revokes Old: used when the
	// scopes, access level, kind or target changed, because a token's scopes
	// cannot be edited.
	OpReplaceToken Op = "replace_token"
	OpRevokeToken  Op = "revoke_token"
	// OpSetTeamNotify stores a team's notice destinations (an empty
	// NotifySpec removes them).
	OpSetTeamNotify Op = "set_team_notify"
)

// Action is one step of a plan. Exactly the fields its Op needs are set.
type Action struct {
	Op Op `json:"op"`
	// Reason says why the step is needed.
	Reason string `json:"reason"`
	// Prune marks a revocation the manifest does not ask for explicitly (a
	// token no declared automation claims). Apply callers run such steps
	// only when asked to prune; see Changes.WithoutPrune.
	Prune bool `json:"prune,omitempty"`
	// Automation names the automation the step serves, if any.
	Automation string `json:"automation,omitempty"`

	Group          *GroupSpec          `json:"group,omitempty"`
	Project        *ProjectSpec        `json:"project,omitempty"`
	ServiceAccount *ServiceAccountSpec `json:"service_account,omitempty"`
	Member         *MemberSpec         `json:"member,omitempty"`
	// Spec is the automation record to write, for OpPutAutomation.
	Spec *Automation `json:"spec,omitempty"`
	// Token is the token to create, for OpCreateToken and OpReplaceToken;
	// for OpRotateToken only its ExpiresAt is used.
	Token *TokenSpec `json:"token,omitempty"`
	// Old is the existing token rotated, replaced or revoked.
	Old *LiveToken `json:"old,omitempty"`
	// Notify is a team's notice destinations, for OpSetTeamNotify.
	Notify *NotifySpec `json:"notify,omitempty"`
	// Diffs lists what changes, for ~ steps.
	Diffs []Diff `json:"diffs,omitempty"`
}

// Diff is one field's change.
type Diff struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// GroupSpec is a group to create.
type GroupSpec struct {
	FullPath    string `json:"full_path"`
	Path        string `json:"path"`
	Name        string `json:"name"`
	Parent      string `json:"parent,omitempty"`
	Description string `json:"description,omitempty"`
}

// ProjectSpec is a project to create.
type ProjectSpec struct {
	FullPath    string `json:"full_path"`
	Path        string `json:"path"`
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description,omitempty"`
}

// ServiceAccountSpec is a service account to create.
type ServiceAccountSpec struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Description string `json:"description,omitempty"`
}

// MemberSpec is a membership to create or change.
type MemberSpec struct {
	Resource    Ref                 `json:"resource"`
	User        string              `json:"user"`
	AccessLevel botgate.AccessLevel `json:"access_level"`
	// From is the current level, 0 for a new membership.
	From botgate.AccessLevel `json:"from,omitempty"`
}

// NotifySpec is the notice destinations to store for a team. Webhook is
// the URL itself, for Apply alone: it never goes to JSON or text, which
// show WebhookShown (botgate.RedactURL).
type NotifySpec struct {
	Team         string   `json:"team"`
	Webhook      string   `json:"-"`
	WebhookShown string   `json:"webhook,omitempty"`
	Email        []string `json:"email,omitempty"`
}

// TokenSpec is a token to issue for an automation.
type TokenSpec struct {
	Automation  string            `json:"automation"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Kind        botgate.TokenKind `json:"kind"`
	// Resource is the project or group, for project and group tokens.
	Resource Ref `json:"resource,omitzero"`
	// ServiceAccount is the owner, for service account tokens.
	ServiceAccount string         `json:"service_account,omitempty"`
	Scopes         botgate.Scopes `json:"scopes"`
	// AccessLevel is the bot's role, for project and group tokens.
	AccessLevel botgate.AccessLevel `json:"access_level,omitempty"`
	// ExpiresAt is the expiry date, nil for none.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *TokenSpec) target() string {
	if s.Kind == botgate.ServiceAccountToken {
		return "service account " + s.ServiceAccount
	}
	return s.Resource.String()
}

// Changes is a plan: the ordered steps that make the live state match the
// manifest. An empty plan means they match.
type Changes struct {
	// At is the time the plan was made for.
	At      time.Time `json:"at"`
	Actions []Action  `json:"actions"`
	// Warnings are differences apply does not change, for a person to
	// look at (such as a service account owned by another team).
	Warnings []string `json:"warnings,omitempty"`
}

// Empty reports whether there is nothing to do.
func (c *Changes) Empty() bool { return len(c.Actions) == 0 }

// WithoutPrune returns the plan without its Prune steps: what apply does
// unless asked to prune.
func (c *Changes) WithoutPrune() *Changes {
	out := &Changes{At: c.At, Warnings: c.Warnings}
	for _, a := range c.Actions {
		if !a.Prune {
			out.Actions = append(out.Actions, a)
		}
	}
	return out
}

// Summary counts the steps by effect.
type Summary struct {
	Create int `json:"create"`
	Change int `json:"change"`
	Revoke int `json:"revoke"`
}

// Summary counts the plan's steps.
func (c *Changes) Summary() Summary {
	var s Summary
	for _, a := range c.Actions {
		switch a.symbol() {
		case "+":
			s.Create++
		case "~":
			s.Change++
		case "-":
			s.Revoke++
		}
	}
	return s
}

// Plan compares the manifest with the live state at now and returns the
// steps that make them agree, in a safe order: groups (parents first),
// projects, service accounts, memberships, automation records, tokens to
// create, rotate or replace, and last the revocations and the removal of
// service-account memberships no automation needs.
//
// A token is matched to an automation by its Automation name. A matching
// token with other scopes, access level, kind or target is replaced (scopes
// cannot be edited); one expiring within the policy's rotation lead time,
// or later than the declared lifetime allows, is rotated. Tokens no
// declared automation claims are revoked as Prune steps when they were
// made for an automation or sit on a declared project, group or service
// account (drift). Personal tokens are never touched, even when an
// automation uses one: lint reports that (BG002).
func Plan(m *Manifest, live State, now time.Time) *Changes {
	pl := &planner{m: m, live: live, now: now, out: &Changes{At: now}}
	pl.rotateBefore = DefaultRotateBefore
	if d, err := ParseDays(m.Policy.RotateBefore); err == nil {
		pl.rotateBefore = d
	}
	pl.groups()
	pl.projects()
	pl.serviceAccounts()
	pl.members()
	pl.teamNotify()
	pl.automations()
	pl.tokens()
	for _, r := range pl.removals {
		pl.add(r)
	}
	return pl.out
}

type planner struct {
	m            *Manifest
	live         State
	now          time.Time
	rotateBefore int
	out          *Changes
	removals     []Action // memberships to remove, emitted last
}

func (pl *planner) add(a Action) { pl.out.Actions = append(pl.out.Actions, a) }

func (pl *planner) groups() {
	have := map[string]bool{}
	for _, g := range pl.live.Groups {
		have[strings.ToLower(g.FullPath)] = true
	}
	for _, t := range pl.m.Teams {
		if have[strings.ToLower(t.FullPath())] {
			continue
		}
		pl.add(Action{Op: OpCreateGroup, Reason: "declared team does not exist", Group: &GroupSpec{
			FullPath: t.FullPath(), Path: t.Path, Name: cmp.Or(t.Name, t.Path), Parent: t.Parent, Description: t.Description,
		}})
	}
}

func (pl *planner) projects() {
	have := map[string]bool{}
	for _, p := range pl.live.Projects {
		have[strings.ToLower(p.FullPath)] = true
	}
	for _, p := range pl.m.Projects {
		if have[strings.ToLower(p.FullPath())] {
			continue
		}
		pl.add(Action{Op: OpCreateProject, Reason: "declared project does not exist", Project: &ProjectSpec{
			FullPath: p.FullPath(), Path: p.Path, Name: cmp.Or(p.Name, p.Path), Group: p.Group, Description: p.Description,
		}})
	}
}

func (pl *planner) serviceAccounts() {
	have := map[string]bool{}
	owners := map[string]string{}
	for _, s := range pl.live.ServiceAccounts {
		have[strings.ToLower(s.Username)] = true
		owners[strings.ToLower(s.Username)] = s.Owner
	}
	for _, s := range pl.m.ServiceAccounts {
		if have[strings.ToLower(s.Name)] {
			if o := owners[strings.ToLower(s.Name)]; !strings.EqualFold(o, s.Owner) {
				pl.out.Warnings = append(pl.out.Warnings, fmt.Sprintf("service account %s is owned by %q, the manifest says %q: apply does not move ownership; do it by hand or fix the manifest", s.Name, o, s.Owner))
			}
			continue
		}
		pl.add(Action{Op: OpCreateServiceAccount, Reason: "declared service account does not exist",
			ServiceAccount: &ServiceAccountSpec{Name: s.Name, Owner: s.Owner, Description: s.Description}})
	}
}

// members ensures team members and service-account memberships on the
// targets of the automations that use them (the highest level asked).
func (pl *planner) members() {
	type want struct {
		ref   Ref
		user  string
		level botgate.AccessLevel
		why   string
	}
	var wants []*want
	index := map[string]*want{}
	put := func(ref Ref, user string, level botgate.AccessLevel, why string) {
		k := ref.key() + "|" + strings.ToLower(user)
		if w, ok := index[k]; ok {
			if level > w.level {
				w.level, w.why = level, why
			}
			return
		}
		w := &want{ref: ref, user: user, level: level, why: why}
		index[k] = w
		wants = append(wants, w)
	}
	for _, t := range pl.m.Teams {
		for _, mem := range t.Members {
			l, _ := ParseAccessLevel(mem.AccessLevel)
			put(Ref{botgate.GroupResource, t.FullPath()}, mem.User, l, "member of team "+t.FullPath())
		}
	}
	for i := range pl.m.Automations {
		a := &pl.m.Automations[i]
		if a.EffectiveKind() != KindServiceAccount {
			continue
		}
		for _, p := range a.Projects {
			put(Ref{botgate.ProjectResource, p}, a.ServiceAccount, a.Level(), "automation "+a.Name+" acts on it")
		}
		for _, g := range a.Groups {
			put(Ref{botgate.GroupResource, g}, a.ServiceAccount, a.Level(), "automation "+a.Name+" acts on it")
		}
	}
	have := map[string]botgate.AccessLevel{}
	for _, mem := range pl.live.Members {
		have[mem.Resource.key()+"|"+strings.ToLower(mem.User)] = mem.AccessLevel
	}
	for _, w := range wants {
		cur, ok := have[w.ref.key()+"|"+strings.ToLower(w.user)]
		switch {
		case !ok:
			pl.add(Action{Op: OpSetMember, Reason: w.why, Member: &MemberSpec{Resource: w.ref, User: w.user, AccessLevel: w.level}})
		case cur != w.level:
			pl.add(Action{Op: OpSetMember, Reason: w.why, Member: &MemberSpec{Resource: w.ref, User: w.user, AccessLevel: w.level, From: cur},
				Diffs: []Diff{{"access_level", LevelName(cur), LevelName(w.level)}}})
		}
	}
	// Service accounts on declared resources no automation gives them:
	// access someone added by hand. Its owning team is exempt: owning is
	// not acting.
	managed := pl.managedRefs()
	for _, mem := range pl.live.Members {
		k := mem.Resource.key() + "|" + strings.ToLower(mem.User)
		sa := pl.m.ServiceAccountByName(mem.User)
		if _, wanted := index[k]; wanted || !managed[mem.Resource.key()] || sa == nil ||
			(mem.Resource.Type == botgate.GroupResource && strings.EqualFold(mem.Resource.Path, sa.Owner)) {
			continue
		}
		pl.removals = append(pl.removals, Action{Op: OpRemoveMember, Prune: true, Member: &MemberSpec{Resource: mem.Resource, User: mem.User, AccessLevel: mem.AccessLevel},
			Reason: fmt.Sprintf("drift: no declared automation gives service account %s access to %s", mem.User, mem.Resource)})
	}
}

func (pl *planner) automations() {
	have := map[string]*LiveAutomation{}
	for i := range pl.live.Automations {
		have[pl.live.Automations[i].Name] = &pl.live.Automations[i]
	}
	for i := range pl.m.Automations {
		a := pl.m.Automations[i]
		a.Kind = a.EffectiveKind()
		cur, ok := have[a.Name]
		if !ok {
			pl.add(Action{Op: OpPutAutomation, Automation: a.Name, Reason: "declared automation has no record yet", Spec: &a})
			continue
		}
		var diffs []Diff
		diff := func(f, from, to string) {
			if from != to {
				diffs = append(diffs, Diff{f, from, to})
			}
		}
		diff("owner", cur.Owner, a.Owner)
		diff("purpose", cur.Purpose, a.Purpose)
		diff("kind", string(cur.Kind), string(a.Kind))
		diff("temporary", fmt.Sprint(cur.Temporary), fmt.Sprint(a.Temporary))
		diff("rate_limit", cur.RateLimit, a.RateLimit)
		diff("enforcement", enforcementName(cur.Enforcement), a.Mode().String())
		diff("upstream", cur.Upstream, a.Upstream)
		diff("routes", strings.Join(cur.Routes, ", "), strings.Join(a.Routes, ", "))
		diffs = append(diffs, trustDiffs(cur.Trust, a.TrustPolicies())...)
		if len(diffs) > 0 {
			pl.add(Action{Op: OpPutAutomation, Automation: a.Name, Reason: "automation record differs from the manifest", Spec: &a, Diffs: diffs})
		}
	}
}

// enforcementName is a live record's mode as the plan shows it: enforce
// for "", whatever else the record says as it says it.
func enforcementName(s string) string {
	if s == "" {
		return botgate.EnforcementEnforce.String()
	}
	return s
}

// spec is the token the automation should have, were it issued at now.
func (pl *planner) spec(a *Automation) *TokenSpec {
	s := &TokenSpec{Automation: a.Name, Name: a.Name, Description: a.Purpose, Kind: a.EffectiveKind().TokenKind(), Scopes: a.ScopeSet()}
	switch a.EffectiveKind() {
	case KindServiceAccount:
		s.ServiceAccount = a.ServiceAccount
	case KindGroupToken:
		s.Resource = Ref{botgate.GroupResource, a.Target()}
		s.AccessLevel = a.Level()
	default:
		s.Resource = Ref{botgate.ProjectResource, a.Target()}
		s.AccessLevel = a.Level()
	}
	if d := a.Lifetime(); d > 0 {
		e := botgate.Date(pl.now).AddDate(0, 0, d)
		s.ExpiresAt = &e
	}
	return s
}

// trustDiffs lists the trust policies removed (From) and added (To), one
// Diff each, so that a plan shows exactly which workload identities gain or
// lose the automation.
func trustDiffs(live []string, declared []botgate.TrustPolicy) []Diff {
	want := map[string]bool{}
	for i := range declared {
		want[declared[i].String()] = true
	}
	have := map[string]bool{}
	var d []Diff
	for _, s := range live {
		have[s] = true
		if !want[s] {
			d = append(d, Diff{"trust", s, ""})
		}
	}
	for i := range declared {
		if s := declared[i].String(); !have[s] {
			d = append(d, Diff{"trust", "", s})
		}
	}
	return d
}

// tokenDiffs lists how an existing token differs from the spec in what a
// token cannot change in place.
func tokenDiffs(t *LiveToken, s *TokenSpec) []Diff {
	var d []Diff
	if t.Kind != s.Kind {
		d = append(d, Diff{"kind", string(t.Kind), string(s.Kind)})
	}
	if s.Kind == botgate.ServiceAccountToken {
		if !strings.EqualFold(t.User, s.ServiceAccount) {
			d = append(d, Diff{"service_account", t.User, s.ServiceAccount})
		}
	} else if t.Resource.key() != s.Resource.key() {
		d = append(d, Diff{"target", t.target(), s.target()})
	}
	if !slices.Equal(botgate.NormalizeScopes(t.Scopes), s.Scopes) {
		d = append(d, Diff{"scopes", t.Scopes.String(), s.Scopes.String()})
	}
	if s.Kind != botgate.ServiceAccountToken && t.AccessLevel != s.AccessLevel {
		d = append(d, Diff{"access_level", LevelName(t.AccessLevel), LevelName(s.AccessLevel)})
	}
	return d
}

func newestFirst(ts []*LiveToken) {
	slices.SortFunc(ts, func(a, b *LiveToken) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

func (pl *planner) tokens() {
	byAutomation := map[string][]*LiveToken{}
	var unclaimed []*LiveToken
	declared := map[string]bool{}
	for i := range pl.m.Automations {
		declared[pl.m.Automations[i].Name] = true
	}
	for i := range pl.live.Tokens {
		t := &pl.live.Tokens[i]
		if !t.active(pl.now) || t.Kind == botgate.PersonalToken {
			// A person's own token is never replaced or revoked by a plan,
			// even one used by an automation: lint (BG002) reports that.
			continue
		}
		if t.Automation != "" && declared[t.Automation] {
			byAutomation[t.Automation] = append(byAutomation[t.Automation], t)
		} else {
			unclaimed = append(unclaimed, t)
		}
	}
	var revokes []Action
	for i := range pl.m.Automations {
		a := &pl.m.Automations[i]
		want := pl.spec(a)
		cands := byAutomation[a.Name]
		newestFirst(cands)
		keep := -1
		for j, t := range cands {
			if len(tokenDiffs(t, want)) == 0 {
				keep = j
				break
			}
		}
		switch {
		case keep >= 0:
			t := cands[keep]
			if why := pl.rotation(t, a); why != "" {
				pl.add(Action{Op: OpRotateToken, Automation: a.Name, Reason: why, Old: t, Token: want,
					Diffs: []Diff{{"expires_at", fmtDate(t.ExpiresAt), fmtDate(want.ExpiresAt)}}})
			}
		case len(cands) > 0:
			keep = 0
			t := cands[0]
			diffs := tokenDiffs(t, want)
			fields := make([]string, len(diffs))
			for k, d := range diffs {
				fields[k] = d.Field
			}
			pl.add(Action{Op: OpReplaceToken, Automation: a.Name, Old: t, Token: want, Diffs: diffs,
				Reason: strings.Join(fields, ", ") + " changed; a token's " + strings.Join(fields, ", ") + " cannot be edited, so a new token is issued and the old one revoked"})
		default:
			pl.add(Action{Op: OpCreateToken, Automation: a.Name, Reason: "declared automation has no active token", Token: want})
		}
		for j, t := range cands {
			if j == keep {
				continue
			}
			revokes = append(revokes, Action{Op: OpRevokeToken, Automation: a.Name, Old: t,
				Reason: fmt.Sprintf("automation %q has more than one token; one token per automation", a.Name)})
		}
	}
	managed := pl.managedScope()
	slices.SortFunc(unclaimed, func(a, b *LiveToken) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range unclaimed {
		switch {
		case t.Automation != "":
			revokes = append(revokes, Action{Op: OpRevokeToken, Automation: t.Automation, Old: t, Prune: true,
				Reason: fmt.Sprintf("automation %q is no longer declared", t.Automation)})
		case managed(t):
			revokes = append(revokes, Action{Op: OpRevokeToken, Old: t, Prune: true,
				Reason: "drift: no automation declares this token (made by hand?)"})
		}
	}
	for _, r := range revokes {
		pl.add(r)
	}
}

// managedScope reports whether a token sits where the manifest rules: on
// a declared project or group, or owned by a declared service account.
func (pl *planner) managedScope() func(*LiveToken) bool {
	refs := pl.managedRefs()
	return func(t *LiveToken) bool {
		switch t.Kind {
		case botgate.ProjectAccessToken, botgate.GroupAccessToken:
			return refs[t.Resource.key()]
		case botgate.ServiceAccountToken:
			return pl.m.ServiceAccountByName(t.User) != nil
		}
		return false
	}
}

// managedRefs are the declared groups and projects, by key.
func (pl *planner) managedRefs() map[string]bool {
	refs := map[string]bool{}
	for _, t := range pl.m.Teams {
		refs[Ref{botgate.GroupResource, t.FullPath()}.key()] = true
	}
	for _, p := range pl.m.Projects {
		refs[Ref{botgate.ProjectResource, p.FullPath()}.key()] = true
	}
	return refs
}

// rotation says why the token must be rotated, or "".
func (pl *planner) rotation(t *LiveToken, a *Automation) string {
	if t.ExpiresAt != nil && t.ExpiresAt.Sub(pl.now) <= time.Duration(pl.rotateBefore)*24*time.Hour {
		return fmt.Sprintf("expires %s, within the rotation lead time of %dd", fmtDate(t.ExpiresAt), pl.rotateBefore)
	}
	if d := a.Lifetime(); d > 0 {
		limit := botgate.Date(pl.now).AddDate(0, 0, d)
		if t.ExpiresAt == nil {
			return fmt.Sprintf("token never expires but the manifest sets expires_in %s", a.ExpiresIn)
		}
		if t.ExpiresAt.After(limit) {
			return fmt.Sprintf("token expires %s, later than expires_in %s allows", fmtDate(t.ExpiresAt), a.ExpiresIn)
		}
	}
	return ""
}

func fmtDate(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(botgate.DateFormat)
}

// teamNotify stores each declared team's notice destinations where they
// differ from the stored ones; a declared team that declares none has its
// stored ones removed.
func (pl *planner) teamNotify() {
	live := map[string]LiveTeamNotify{}
	for _, n := range pl.live.TeamNotify {
		live[strings.ToLower(n.Team)] = n
	}
	for _, t := range pl.m.Teams {
		var want Notify
		if t.Notify != nil {
			want = *t.Notify
		}
		have, stored := live[strings.ToLower(t.FullPath())]
		if WebhookDigest(want.Webhook) == have.WebhookDigest && slices.Equal(want.Email, have.Email) {
			continue
		}
		var diffs []Diff
		if WebhookDigest(want.Webhook) != have.WebhookDigest {
			diffs = append(diffs, Diff{Field: "notify.webhook", From: orNone(have.WebhookShown), To: orNone(botgate.RedactURL(want.Webhook))})
		}
		if !slices.Equal(want.Email, have.Email) {
			diffs = append(diffs, Diff{Field: "notify.email", From: orNone(strings.Join(have.Email, ", ")), To: orNone(strings.Join(want.Email, ", "))})
		}
		reason := "declared notice destinations differ from the stored ones"
		if !stored {
			reason = "the team declares notice destinations"
		} else if want.Webhook == "" && len(want.Email) == 0 {
			reason = "the team no longer declares notice destinations"
		}
		pl.add(Action{Op: OpSetTeamNotify, Reason: reason, Diffs: diffs, Notify: &NotifySpec{
			Team: t.FullPath(), Webhook: want.Webhook, WebhookShown: botgate.RedactURL(want.Webhook), Email: slices.Clone(want.Email),
		}})
	}
}
