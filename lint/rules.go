package lint

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

// Rule is one check. IDs are stable: suppressions and SARIF consumers rely
// on them; a retired rule's ID is never reused.
type Rule struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	// Summary is one sentence saying what the rule looks for.
	Summary string `json:"summary"`
	// Help says how to fix what it finds.
	Help  string                                  `json:"help"`
	check func(s *Snapshot, cfg Config) []Finding `json:"-"`
}

// Rules returns the built-in rules in ID order.
func Rules() []Rule {
	return []Rule{
		{ID: "BG001", Name: "token-reuse", Severity: SeverityError, check: tokenReuse,
			Summary: "A token is used by more than one client (user agent family).",
			Help:    "Give each client its own automation and token; `botgate migrate plan` proposes them from the usage log."},
		{ID: "BG002", Name: "personal-token-automation", Severity: SeverityError, check: personalTokenAutomation,
			Summary: "An automation runs on a person's personal access token.",
			Help:    "Issue the automation its own project or group access token (or a service account token) and revoke the personal token's use by it."},
		{ID: "BG003", Name: "shared-token", Severity: SeverityError, check: sharedToken,
			Summary: "One token serves several automations.",
			Help:    "One token per automation: declare each automation separately so each gets its own token, limit and audit trail."},
		{ID: "BG004", Name: "excess-scopes", Severity: SeverityWarning, check: excessScopes,
			Summary: "A token holds scopes its recorded use never needed.",
			Help:    "Narrow the automation's scopes to the suggested set; plan/apply then issues a new token and revokes the old."},
		{ID: "BG005", Name: "missing-owner", Severity: SeverityError, check: missingOwner,
			Summary: "An automation or service account has no owning team.",
			Help:    "Set `owner:` to the team (group full path) that answers for it."},
		{ID: "BG006", Name: "temporary-without-expiry", Severity: SeverityError, check: temporaryWithoutExpiry,
			Summary: "A temporary automation has a token that never expires.",
			Help:    "Add `expires_in:` to the automation so its token ends with it."},
		{ID: "BG007", Name: "unused-token", Severity: SeverityWarning, check: unusedToken,
			Summary: "An active token has not been used for a long time.",
			Help:    "Revoke it if nothing needs it any more, or remove its automation from the manifest."},
		{ID: "BG008", Name: "expiring-token", Severity: SeverityWarning, check: expiringToken,
			Summary: "An active token expires soon.",
			Help:    "Rotate it: `botgate apply` rotates declared automations within the lead time, or `botgate token rotate ID`."},
		{ID: "BG009", Name: "service-account-single-project", Severity: SeverityWarning, check: serviceAccountSingleProject,
			Summary: "A service account acts on a single project, where a project access token would do.",
			Help:    "Change the automation to `kind: project_token` on that project and retire the service account."},
		{ID: "BG010", Name: "rate-limit-above-policy", Severity: SeverityWarning, check: rateLimitAbovePolicy,
			Summary: "An automation's rate limit is above the instance policy's maximum.",
			Help:    "Lower `rate_limit:`, or make the case to raise `policy.max_rate_limit` for everyone."},
		{ID: "BG011", Name: "secret-too-many-readers", Severity: SeverityWarning, check: secretTooManyReaders,
			Summary: "A vault secret is readable by more identities than the policy allows.",
			Help:    "Bind the secret to the one automation that needs it and drop the other readers."},
		{ID: "BG012", Name: "token-without-automation", Severity: SeverityNote, check: tokenWithoutAutomation,
			Summary: "A bot or service account token does not name the automation it serves.",
			Help:    "Declare the automation in the manifest so its token is named, owned and checked for reuse."},
		{ID: "BG013", Name: "group-token-single-project", Severity: SeverityNote, check: groupTokenSingleProject,
			Summary: "A group access token's recorded use touched a single project, where a project access token would do.",
			Help:    "Change the automation to `kind: project_token` on that project: a leaked token then reaches one project, not the whole group."},
		{ID: "BG014", Name: "broad-trust-policy", Severity: SeverityWarning, check: broadTrust,
			Summary: "A trust policy admits jobs of any project, or of any branch or tag.",
			Help:    "Pin the policy to the project (`claims.project_path`) and to a protected ref (`claims.ref` with `claims.ref_protected: \"true\"`), or to one service account (`claims.sub`)."},
		{ID: "BG015", Name: "shadow-refusals", Severity: SeverityWarning, check: shadowRefusals,
			Summary: "An automation in shadow mode would have been refused by its rate limit or the loop breaker in the last 24 hours.",
			Help:    "Before setting `enforcement: enforce`, raise `rate_limit:` to what the automation really needs (or slow the client down), and fix the runaway loop the breaker saw; then check that lint no longer reports it."},
	}
}

// declaredPosition returns where the named automation was declared.
func declaredPosition(s *Snapshot, automation string) *manifest.Position {
	for i := range s.Automations {
		if s.Automations[i].Name == automation {
			return s.Automations[i].Position
		}
	}
	return nil
}

func tokenSubject(t *Token) Subject { return Subject{Type: "token", Name: t.Name, ID: t.ID} }

// ClientFamily reduces a user agent to the client it names: the first
// product token without its version, lower-cased ("danger-js/11.3.1" and
// "danger-js/12.0.0" are one family). A user agent of plain words is named
// by the words before the version ("Gitlab Ruby Gem 4.19.0" is
// "gitlab-ruby-gem"). Browsers are "browser"; an empty user agent is
// "unknown".
func ClientFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "unknown"
	}
	if strings.HasPrefix(ua, "Mozilla/") {
		return "browser"
	}
	words := strings.Fields(ua)
	if name, _, ok := strings.Cut(words[0], "/"); ok || len(words) == 1 {
		return strings.ToLower(name)
	}
	var parts []string
	for _, w := range words {
		if w[0] >= '0' && w[0] <= '9' || strings.ContainsAny(w, "/();") {
			break
		}
		parts = append(parts, strings.ToLower(w))
	}
	return strings.Join(parts, "-")
}

func families(u *Usage) []string {
	var out []string
	for _, c := range u.Clients {
		if f := ClientFamily(c.UserAgent); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func tokenReuse(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if t.Usage == nil || !t.active(s.At) {
			continue
		}
		if fams := families(t.Usage); len(fams) > 1 {
			out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, t.Automation),
				Message: fmt.Sprintf("%s is used by %d different clients (%s): give each client its own automation and token (`botgate migrate plan` can propose them), then revoke this one",
					t.label(), len(fams), strings.Join(fams, ", "))})
		}
	}
	return out
}

func personalTokenAutomation(s *Snapshot, _ Config) []Finding {
	users := map[int64]User{}
	for _, u := range s.Users {
		users[u.ID] = u
	}
	byToken := map[int64][]string{}
	for _, a := range s.Automations {
		for _, id := range a.TokenIDs {
			byToken[id] = append(byToken[id], a.Name)
		}
	}
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if t.Kind != botgate.PersonalToken || !t.active(s.At) {
			continue
		}
		if u, ok := users[t.UserID]; ok && u.Kind.Bot() {
			continue
		}
		var names []string
		if t.Automation != "" {
			names = append(names, t.Automation)
		}
		names = append(names, byToken[t.ID]...)
		if t.Usage != nil {
			names = append(names, t.Usage.Automations...)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		if len(names) == 0 {
			continue
		}
		owner := t.Username
		if owner == "" {
			owner = fmt.Sprintf("user #%d", t.UserID)
		}
		out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, names[0]),
			Message: fmt.Sprintf("%s on %s, a personal access token of %s: it acts with all of that person's access and stops when they leave; issue each automation its own project or group access token (or a service account token) and revoke this use",
				plural(len(names), "automation "+names[0]+" runs", "automations "+strings.Join(names, ", ")+" run"), t.label(), owner)})
	}
	return out
}

func sharedToken(s *Snapshot, _ Config) []Finding {
	names := map[int64][]string{}
	for _, a := range s.Automations {
		for _, id := range a.TokenIDs {
			names[id] = append(names[id], a.Name)
		}
	}
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if !t.active(s.At) {
			continue
		}
		all := slices.Clone(names[t.ID])
		if t.Automation != "" {
			all = append(all, t.Automation)
		}
		if t.Usage != nil {
			all = append(all, t.Usage.Automations...)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		if len(all) > 1 {
			out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, all[0]),
				Message: fmt.Sprintf("%s serves %d automations (%s): one token per automation, so that each has its own limit, audit trail and blast radius; declare them separately and let apply issue their tokens",
					t.label(), len(all), strings.Join(all, ", "))})
		}
	}
	return out
}

// covers reports whether holding scope a grants what b grants.
func covers(a, b botgate.Scope) bool {
	if a == b {
		return true
	}
	switch a {
	case botgate.ScopeAPI:
		return b == botgate.ScopeReadAPI || b == botgate.ScopeReadRegistry || b == botgate.ScopeWriteRegistry
	case botgate.ScopeWriteRepository:
		return b == botgate.ScopeReadRepository
	case botgate.ScopeWriteRegistry:
		return b == botgate.ScopeReadRegistry
	case botgate.ScopeWriteVirtualRegistry:
		return b == botgate.ScopeReadVirtualRegistry
	}
	return false
}

// LeastScopes returns the smallest set of scopes that grants every needed
// scope: needed scopes implied by another needed scope are dropped.
func LeastScopes(needed botgate.Scopes) botgate.Scopes {
	needed = botgate.NormalizeScopes(needed)
	var out botgate.Scopes
	for _, n := range needed {
		implied := false
		for _, o := range needed {
			if o != n && covers(o, n) {
				implied = true
			}
		}
		if !implied {
			out = append(out, n)
		}
	}
	return out
}

func excessScopes(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if t.Usage == nil || t.Usage.Calls() == 0 || !t.active(s.At) {
			continue
		}
		var needed botgate.Scopes
		for _, r := range t.Usage.Routes {
			if r.Calls > 0 && r.Needed != "" {
				needed = append(needed, r.Needed)
			}
		}
		least := LeastScopes(needed)
		if len(least) == 0 || slices.Equal(least, botgate.NormalizeScopes(t.Scopes)) {
			continue
		}
		// Only suggest a narrowing: every least scope must be granted now.
		narrower := true
		for _, l := range least {
			if !slices.ContainsFunc(t.Scopes, func(g botgate.Scope) bool { return covers(g, l) }) {
				narrower = false
			}
		}
		if !narrower {
			continue
		}
		window := "in under a day"
		if days := daysBetween(t.Usage.Since, t.Usage.Until); days == 1 {
			window = "over 1 day"
		} else if days > 1 {
			window = fmt.Sprintf("over %d days", days)
		}
		out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, t.Automation), Suggested: least,
			Message: fmt.Sprintf("%s holds scopes %s but its %d calls %s only needed %s: set `scopes: [%s]`",
				t.label(), botgate.NormalizeScopes(t.Scopes), t.Usage.Calls(), window, least, strings.Join(least.Strings(), ", "))})
	}
	return out
}

func missingOwner(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for _, a := range s.Automations {
		if strings.TrimSpace(a.Owner) == "" {
			out = append(out, Finding{Subject: Subject{Type: "automation", Name: a.Name}, Position: a.Position,
				Message: fmt.Sprintf("automation %s has no owning team: set `owner:` to the team that answers for it, so someone is told when it misbehaves", a.Name)})
		}
	}
	for _, sa := range s.ServiceAccounts {
		if strings.TrimSpace(sa.Owner) == "" {
			out = append(out, Finding{Subject: Subject{Type: "service_account", Name: sa.Name}, Position: sa.Position,
				Message: fmt.Sprintf("service account %s has no owning team: set `owner:`; only the owning team's Maintainers and Owners should manage it", sa.Name)})
		}
	}
	return out
}

func temporaryWithoutExpiry(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for _, a := range s.Automations {
		if !a.Temporary {
			continue
		}
		if a.ExpiresInDays == 0 {
			out = append(out, Finding{Subject: Subject{Type: "automation", Name: a.Name}, Position: a.Position,
				Message: fmt.Sprintf("temporary automation %s declares no expiry: add `expires_in:` (such as 30d) so its token ends with it", a.Name)})
			continue
		}
		for i := range s.Tokens {
			t := &s.Tokens[i]
			if t.Automation == a.Name && t.ExpiresAt == nil && t.active(s.At) {
				out = append(out, Finding{Subject: tokenSubject(t), Position: a.Position,
					Message: fmt.Sprintf("%s of temporary automation %s never expires: rotate it with an expiry (`botgate apply` does) or revoke it", t.label(), a.Name)})
			}
		}
	}
	return out
}

func daysBetween(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

func unusedToken(s *Snapshot, cfg Config) []Finding {
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if !t.active(s.At) {
			continue
		}
		var msg string
		switch {
		case t.LastUsedAt == nil && daysBetween(t.CreatedAt, s.At) >= cfg.UnusedDays:
			msg = fmt.Sprintf("%s has never been used since it was created %d days ago: revoke it if nothing needs it", t.label(), daysBetween(t.CreatedAt, s.At))
		case t.LastUsedAt != nil && daysBetween(*t.LastUsedAt, s.At) >= cfg.UnusedDays:
			msg = fmt.Sprintf("%s was last used %d days ago (threshold %d): revoke it if nothing needs it, or remove its automation from the manifest", t.label(), daysBetween(*t.LastUsedAt, s.At), cfg.UnusedDays)
		default:
			continue
		}
		out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, t.Automation), Message: msg})
	}
	return out
}

func expiringToken(s *Snapshot, cfg Config) []Finding {
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if !t.active(s.At) || t.ExpiresAt == nil {
			continue
		}
		left := t.ExpiresAt.Sub(s.At)
		if left > time.Duration(cfg.ExpiringDays)*24*time.Hour {
			continue
		}
		out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, t.Automation),
			Message: fmt.Sprintf("%s expires on %s (in %d days): rotate it now (`botgate apply` for a declared automation, or `botgate token rotate %d`) so its automation does not stop",
				t.label(), t.ExpiresAt.UTC().Format(botgate.DateFormat), int(left.Hours()/24), t.ID)})
	}
	return out
}

func serviceAccountSingleProject(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for _, sa := range s.ServiceAccounts {
		if len(sa.Projects) == 1 && len(sa.Groups) == 0 {
			out = append(out, Finding{Subject: Subject{Type: "service_account", Name: sa.Name}, Position: sa.Position,
				Message: fmt.Sprintf("service account %s acts on one project only (%s): a project access token would do; change its automations to `kind: project_token` and retire the service account",
					sa.Name, sa.Projects[0])})
		}
	}
	return out
}

func rateLimitAbovePolicy(s *Snapshot, _ Config) []Finding {
	ceiling := s.Policy.MaxRateLimit
	if ceiling.IsZero() {
		return nil
	}
	var out []Finding
	for _, a := range s.Automations {
		if a.RateLimit.IsZero() || manifest.PerMinute(a.RateLimit) <= manifest.PerMinute(ceiling) {
			continue
		}
		out = append(out, Finding{Subject: Subject{Type: "automation", Name: a.Name}, Position: a.Position,
			Message: fmt.Sprintf("automation %s is allowed %s, above the policy maximum of %s: lower `rate_limit:`; a limit raised for one bot is how a runaway loop floods the API",
				a.Name, manifest.FormatRateLimit(a.RateLimit), manifest.FormatRateLimit(ceiling))})
	}
	return out
}

func secretTooManyReaders(s *Snapshot, cfg Config) []Finding {
	var out []Finding
	for _, sec := range s.Secrets {
		readers := slices.Clone(sec.Readers)
		slices.Sort(readers)
		readers = slices.Compact(readers)
		if len(readers) <= cfg.MaxSecretReaders {
			continue
		}
		out = append(out, Finding{Subject: Subject{Type: "secret", Name: sec.Name},
			Message: fmt.Sprintf("secret %s is readable by %d identities (at most %d allowed): bind it to the automation that needs it and remove the other readers",
				sec.Name, len(readers), cfg.MaxSecretReaders)})
	}
	return out
}

func tokenWithoutAutomation(s *Snapshot, _ Config) []Finding {
	claimed := map[int64]bool{}
	for _, a := range s.Automations {
		for _, id := range a.TokenIDs {
			claimed[id] = true
		}
	}
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if t.Kind == botgate.PersonalToken || t.Automation != "" || claimed[t.ID] || !t.active(s.At) {
			continue
		}
		out = append(out, Finding{Subject: tokenSubject(t),
			Message: fmt.Sprintf("%s (%s) does not name the automation it serves: declare the automation in the manifest, so the token is owned, limited and checked for reuse", t.label(), t.Kind)})
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func groupTokenSingleProject(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if t.Kind != botgate.GroupAccessToken || t.Usage == nil || t.Usage.Calls() == 0 || !t.active(s.At) {
			continue
		}
		var projects []string
		groupCalls := false
		for _, r := range t.Usage.Routes {
			if r.Calls == 0 {
				continue
			}
			switch {
			case r.Group != "" || r.Project == "":
				groupCalls = true
			case !slices.Contains(projects, r.Project):
				projects = append(projects, r.Project)
			}
		}
		if groupCalls || len(projects) != 1 {
			continue
		}
		out = append(out, Finding{Subject: tokenSubject(t), Position: declaredPosition(s, t.Automation),
			Message: fmt.Sprintf("%s is a group access token, but its %d calls over %d days only touched project %s: a project access token on it would do (`kind: project_token`)",
				t.label(), t.Usage.Calls(), daysBetween(t.Usage.Since, t.Usage.Until), projects[0])})
	}
	return out
}

// wildcard reports whether a claim condition is missing or matches
// anything.
func wildcard(pattern string) bool { return strings.Trim(pattern, "*") == "" }

func broadTrust(s *Snapshot, _ Config) []Finding {
	var out []Finding
	for _, a := range s.Automations {
		for i, p := range a.Trust {
			c := p.Claims
			var why []string
			if botgate.ValidateTrustPolicy(c) != nil {
				why = append(why, "any project (no project_path, namespace_path, repository or sub condition)")
			}
			if wildcard(c["sub"]) && wildcard(c["ref"]) && wildcard(c["environment"]) {
				why = append(why, "any branch or tag (no ref condition), unprotected ones included")
			}
			if len(why) == 0 {
				continue
			}
			out = append(out, Finding{Subject: Subject{Type: "automation", Name: a.Name}, Position: a.Position,
				Message: fmt.Sprintf("automation %s: trust[%d] (issuer %s) admits jobs of %s: anyone who can run a pipeline there can act as the bot; pin `claims.project_path` and `claims.ref` (with `ref_protected: \"true\"`)",
					a.Name, i, p.Issuer, strings.Join(why, " and of "))})
		}
	}
	return out
}

// shadowRefusals reports the automations (and tokens without one) that
// shadow mode let through although they would have been refused, with the
// count and what to fix before enforcing.
func shadowRefusals(s *Snapshot, _ Config) []Finding {
	type key struct {
		automation string
		tokenID    int64
	}
	type sum struct {
		rate, loop int
		tokenID    int64
	}
	sums := map[key]*sum{}
	var order []key
	for _, r := range s.ShadowRefusals {
		k := key{automation: r.Automation}
		if k.automation == "" {
			k.tokenID = r.TokenID
		}
		v := sums[k]
		if v == nil {
			v = &sum{}
			sums[k] = v
			order = append(order, k)
		}
		v.tokenID = r.TokenID
		switch r.Reason {
		case "loop":
			v.loop += r.Count
		default:
			v.rate += r.Count
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		if c := strings.Compare(a.automation, b.automation); c != 0 {
			return c
		}
		return int(a.tokenID - b.tokenID)
	})
	var out []Finding
	for _, k := range order {
		v := sums[k]
		subject, what := Subject{Type: "automation", Name: k.automation}, "automation "+k.automation
		var pos *manifest.Position
		if k.automation == "" {
			subject, what = Subject{Type: "token", ID: k.tokenID}, fmt.Sprintf("token #%d", k.tokenID)
		} else {
			pos = declaredPosition(s, k.automation)
		}
		var why, fix []string
		if v.rate > 0 {
			why = append(why, fmt.Sprintf("%d by its rate limit", v.rate))
			fix = append(fix, "raise `rate_limit:` to what it really needs (or slow the client down)")
		}
		if v.loop > 0 {
			why = append(why, fmt.Sprintf("%d by the loop breaker", v.loop))
			fix = append(fix, "fix the runaway loop that repeats the same request")
		}
		times := "times"
		if v.rate+v.loop == 1 {
			times = "time"
		}
		out = append(out, Finding{Subject: subject, Position: pos,
			Message: fmt.Sprintf("%s would have been refused %d %s in the last 24 hours (%s) but shadow mode let the requests through: %s before setting `enforcement: enforce`",
				what, v.rate+v.loop, times, strings.Join(why, ", "), strings.Join(fix, ", and "))})
	}
	return out
}
