package manifest

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// automationName reports whether s has the shape of an automation name,
// ^[a-z0-9][a-z0-9._-]{0,62}$: it travels in headers
// (X-Botgate-Automation) and becomes the token's name. A hand-written
// check: the expression's bounded repetition cost every start of the
// binary 726 allocations to compile.
func automationName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"}

// validate checks the references and rules that the YAML shape alone does
// not express, adding a problem for each.
func (p *parser) validate(m *Manifest) {
	if m.Version != Version {
		p.addAt("version", "version must be %d: add `version: %d` at the top of the file", Version, Version)
	}
	rotateBefore := DefaultRotateBefore
	if m.Policy.RotateBefore != "" {
		if d, err := ParseDays(m.Policy.RotateBefore); err != nil {
			p.addAt("policy.rotate_before", "%s", botgate.MessageOf(err))
		} else {
			rotateBefore = d
		}
	}
	var maxLimit botgate.Limit
	for _, f := range []struct{ path, v string }{
		{"policy.default_rate_limit", m.Policy.DefaultRateLimit},
		{"policy.max_rate_limit", m.Policy.MaxRateLimit},
	} {
		if f.v == "" {
			continue
		}
		l, err := ParseRateLimit(f.v)
		if err != nil {
			p.addAt(f.path, "%s", botgate.MessageOf(err))
		} else if f.path == "policy.max_rate_limit" {
			maxLimit = l
		}
	}
	if def, err := ParseRateLimit(m.Policy.DefaultRateLimit); err == nil && !maxLimit.IsZero() && PerMinute(def) > PerMinute(maxLimit) {
		p.addAt("policy.default_rate_limit", "the default rate limit %s is above max_rate_limit %s: lower it", m.Policy.DefaultRateLimit, m.Policy.MaxRateLimit)
	}

	teams := map[string]int{}
	for i, t := range m.Teams {
		path := fmt.Sprintf("teams[%d]", i)
		if err := botgate.ValidatePath("path", t.Path); err != nil {
			p.addAt(path+".path", "%s", botgate.MessageOf(err))
			continue
		}
		if t.Name != "" {
			if err := botgate.ValidateName("name", t.Name); err != nil {
				p.addAt(path+".name", "%s", botgate.MessageOf(err))
			}
		}
		fp := strings.ToLower(t.FullPath())
		if j, dup := teams[fp]; dup {
			p.addAt(path+".path", "team %q is declared twice (also teams[%d]): keep one", t.FullPath(), j)
			continue
		}
		teams[fp] = i
	}
	for i, t := range m.Teams {
		path := fmt.Sprintf("teams[%d]", i)
		if t.Parent != "" {
			j, ok := teams[strings.ToLower(t.Parent)]
			switch {
			case !ok:
				p.addAt(path+".parent", "parent team %q is not declared: add it under teams (parents first), or fix the path", t.Parent)
			case j >= i:
				p.addAt(path+".parent", "parent team %q must be declared before its subgroup %q: move it up", t.Parent, t.FullPath())
			}
		}
		users := map[string]bool{}
		for k, mem := range t.Members {
			mp := fmt.Sprintf("%s.members[%d]", path, k)
			if err := botgate.ValidateUsername(mem.User); err != nil {
				p.addAt(mp+".user", "%s", botgate.MessageOf(err))
			} else if users[strings.ToLower(mem.User)] {
				p.addAt(mp+".user", "user %q is listed twice in team %q: keep one", mem.User, t.FullPath())
			}
			users[strings.ToLower(mem.User)] = true
			if _, err := ParseAccessLevel(mem.AccessLevel); err != nil {
				p.addAt(mp+".access_level", "%s", botgate.MessageOf(err))
			}
		}
		if n := t.Notify; n != nil {
			if n.Webhook != "" {
				// The message never echoes the URL: it may hold a secret.
				if _, err := botgate.ParseHTTPURL("webhook", n.Webhook); err != nil {
					p.addAt(path+".notify.webhook", "%s", botgate.MessageOf(err))
				}
			}
			for k, addr := range n.Email {
				if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
					p.addAt(fmt.Sprintf("%s.notify.email[%d]", path, k), "%q is not an email address: write it bare, such as team@example.com", addr)
				}
			}
		}
	}
	teamRef := func(path, what, ref string) {
		if ref == "" {
			p.addAt(path, "%s is missing: name the owning team by its full path (one of: %s)", what, declared(m))
			return
		}
		if _, ok := teams[strings.ToLower(ref)]; !ok {
			p.addAt(path, "team %q is not declared: add it under teams, or use one of: %s", ref, declared(m))
		}
	}

	projects := map[string]int{}
	for i, pr := range m.Projects {
		path := fmt.Sprintf("projects[%d]", i)
		if err := botgate.ValidatePath("path", pr.Path); err != nil {
			p.addAt(path+".path", "%s", botgate.MessageOf(err))
		}
		if pr.Name != "" {
			if err := botgate.ValidateName("name", pr.Name); err != nil {
				p.addAt(path+".name", "%s", botgate.MessageOf(err))
			}
		}
		teamRef(path+".group", "group", pr.Group)
		fp := strings.ToLower(pr.FullPath())
		if j, dup := projects[fp]; dup {
			p.addAt(path+".path", "project %q is declared twice (also projects[%d]): keep one", pr.FullPath(), j)
		}
		projects[fp] = i
	}

	sas := map[string]int{}
	for i, sa := range m.ServiceAccounts {
		path := fmt.Sprintf("service_accounts[%d]", i)
		if err := botgate.ValidateUsername(sa.Name); err != nil {
			p.addAt(path+".name", "%s", botgate.MessageOf(err))
		}
		if j, dup := sas[strings.ToLower(sa.Name)]; dup {
			p.addAt(path+".name", "service account %q is declared twice (also service_accounts[%d]): keep one", sa.Name, j)
		}
		sas[strings.ToLower(sa.Name)] = i
		if sa.Owner == "" {
			p.addAt(path+".owner", "a service account must be owned by a team: add `owner: <team full path>` (one of: %s)", declared(m))
		} else {
			teamRef(path+".owner", "owner", sa.Owner)
		}
	}

	names := map[string]int{}
	for i := range m.Automations {
		a := &m.Automations[i]
		path := fmt.Sprintf("automations[%d]", i)
		if !automationName(a.Name) {
			p.addAt(path+".name", "automation name %q must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (it becomes the token's name)", a.Name)
		} else if j, dup := names[a.Name]; dup {
			p.addAt(path+".name", "automation %q is declared twice (also automations[%d]): one token per automation, so give each a distinct name", a.Name, j)
		}
		names[a.Name] = i
		if strings.TrimSpace(a.Purpose) == "" {
			p.addAt(path+".purpose", "purpose is missing: say in one sentence what %q does, so reviewers can judge its scopes", a.Name)
		}
		if a.Owner == "" {
			p.addAt(path+".owner", "owner is missing: every automation needs an owning team that answers for it (one of: %s)", declared(m))
		} else {
			teamRef(path+".owner", "owner", a.Owner)
		}
		kind := a.EffectiveKind()
		if !slices.Contains(kinds, kind) {
			p.addAt(path+".kind", "kind %q is not known: use project_token (one project), group_token (one group) or service_account (several)", a.Kind)
			continue
		}
		for k, pr := range a.Projects {
			if _, ok := projects[strings.ToLower(pr)]; !ok {
				p.addAt(fmt.Sprintf("%s.projects[%d]", path, k), "project %q is not declared: add it under projects", pr)
			}
		}
		for k, g := range a.Groups {
			if _, ok := teams[strings.ToLower(g)]; !ok {
				p.addAt(fmt.Sprintf("%s.groups[%d]", path, k), "group %q is not declared: add it under teams", g)
			}
		}
		switch kind {
		case KindProjectToken:
			if len(a.Projects) != 1 || len(a.Groups) != 0 {
				p.addAt(path+".projects", "a project_token acts on exactly one project (found %d projects, %d groups): list one project, or use kind group_token (one group) or service_account (several)", len(a.Projects), len(a.Groups))
			}
			if a.ServiceAccount != "" {
				p.addAt(path+".service_account", "service_account is only for kind service_account: remove it, or set `kind: service_account`")
			}
		case KindGroupToken:
			if len(a.Groups) != 1 || len(a.Projects) != 0 {
				p.addAt(path+".groups", "a group_token acts on exactly one group (found %d groups, %d projects): list one group, or use kind service_account for work across groups", len(a.Groups), len(a.Projects))
			}
			if a.ServiceAccount != "" {
				p.addAt(path+".service_account", "service_account is only for kind service_account: remove it, or set `kind: service_account`")
			}
		case KindServiceAccount:
			if a.ServiceAccount == "" {
				p.addAt(path+".service_account", "kind service_account needs `service_account: <name>` naming one of the declared service accounts")
			} else if _, ok := sas[strings.ToLower(a.ServiceAccount)]; !ok {
				p.addAt(path+".service_account", "service account %q is not declared: add it under service_accounts with an owner team", a.ServiceAccount)
			}
			if len(a.Projects)+len(a.Groups) == 0 {
				p.addAt(path+".projects", "a service_account automation needs targets: list the projects and/or groups it acts on")
			}
		}
		p.validateTrust(path, a)
		if scopes, err := botgate.ParseScopes(a.Scopes); err != nil {
			p.addAt(path+".scopes", "%s", botgate.MessageOf(err))
		} else {
			for _, s := range scopes {
				switch {
				case s.AdminOnly():
					p.addAt(path+".scopes", "scope %q is for administrators only; an automation must not hold it: remove it", s)
				case s == botgate.ScopeReadUser && kind != KindServiceAccount:
					p.addAt(path+".scopes", "scope read_user cannot be given to a project or group access token: remove it, or use kind service_account")
				}
			}
		}
		if a.AccessLevel == "" {
			p.addAt(path+".access_level", "access_level is missing: use reporter for read-only work, developer for writes (maintainer only if the job needs it)")
		} else if _, err := ParseAccessLevel(a.AccessLevel); err != nil {
			p.addAt(path+".access_level", "%s", botgate.MessageOf(err))
		}
		if a.ExpiresIn != "" {
			d, err := ParseDays(a.ExpiresIn)
			switch {
			case err != nil:
				p.addAt(path+".expires_in", "%s", botgate.MessageOf(err))
			case d > MaxLifetimeDays:
				p.addAt(path+".expires_in", "expires_in %s is longer than the maximum token lifetime of %dd: shorten it", a.ExpiresIn, MaxLifetimeDays)
			case d <= rotateBefore:
				p.addAt(path+".expires_in", "expires_in %s is not longer than the rotation lead time (policy.rotate_before %dd), so the token would be rotated on every apply: make it longer", a.ExpiresIn, rotateBefore)
			}
		} else if a.Temporary {
			p.addAt(path+".temporary", "a temporary automation must expire: add `expires_in:` (such as 30d) so its token ends with it")
		}
		if a.RateLimit != "" {
			if _, err := ParseRateLimit(a.RateLimit); err != nil {
				p.addAt(path+".rate_limit", "%s", botgate.MessageOf(err))
			}
		}
		if _, err := botgate.ParseEnforcement(a.Enforcement); err != nil {
			p.addAt(path+".enforcement", "%s", botgate.MessageOf(err))
		}
		if a.Upstream != "" {
			if _, err := botgate.ParseHTTPURL("upstream", a.Upstream); err != nil {
				p.addAt(path+".upstream", "%s", botgate.MessageOf(err))
			}
		}
		for k, r := range a.Routes {
			method, pattern, ok := strings.Cut(strings.TrimSpace(r), " ")
			pattern = strings.TrimSpace(pattern)
			if !ok || !slices.Contains(routeMethods, strings.ToUpper(method)) || !strings.HasPrefix(pattern, "/") {
				p.addAt(fmt.Sprintf("%s.routes[%d]", path, k), "route %q must be \"METHOD /path/pattern\", such as \"GET /api/v4/projects/*/pipelines\"", r)
			}
		}
	}
}

// declared lists the declared teams' full paths for messages.
func declared(m *Manifest) string {
	if len(m.Teams) == 0 {
		return "none declared yet; add a teams: section"
	}
	out := make([]string, 0, len(m.Teams))
	for _, t := range m.Teams {
		out = append(out, t.FullPath())
	}
	return strings.Join(first(out, 8), ", ")
}

// validateTrust checks an automation's trust policies: an https issuer, an
// audience, a lifetime within the workload limits and well-formed claim
// conditions that name the workload's owner.
func (p *parser) validateTrust(path string, a *Automation) {
	seen := map[string]int{}
	for k := range a.Trust {
		tr := &a.Trust[k]
		tp := fmt.Sprintf("%s.trust[%d]", path, k)
		if u, err := url.Parse(tr.Issuer); tr.Issuer == "" || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			p.addAt(tp+".issuer", "issuer %q must be the https URL the tokens name in \"iss\" (GitLab CI: your GitLab URL, e.g. https://gitlab.example.com; GitHub Actions: https://token.actions.githubusercontent.com)", tr.Issuer)
		}
		if strings.TrimSpace(tr.Audience) == "" {
			p.addAt(tp+".audience", "audience is missing: name the \"aud\" the job's token is issued for (GitLab CI: id_tokens.<NAME>.aud), e.g. your botgate URL")
		}
		if tr.MaxTTL != "" {
			d, err := time.ParseDuration(tr.MaxTTL)
			switch {
			case err != nil:
				p.addAt(tp+".max_ttl", "max_ttl %q is not a duration: write e.g. \"15m\"", tr.MaxTTL)
			case d < botgate.MinWorkloadTTL || d > botgate.MaxWorkloadTTL:
				p.addAt(tp+".max_ttl", "max_ttl %s is out of range: a workload token lives between %s and %s", tr.MaxTTL, botgate.MinWorkloadTTL, botgate.MaxWorkloadTTL)
			}
		}
		conds := tr.Claims.Map()
		for _, name := range botgate.TrustClaims {
			v, ok := conds[name]
			if !ok {
				continue
			}
			if err := botgate.ValidateTrustCondition(name, v); err != nil {
				p.addAt(tp+".claims."+name, "%s", botgate.MessageOf(err))
			}
		}
		if err := botgate.ValidateTrustPolicy(conds); err != nil {
			p.addAt(tp+".claims", "%s", botgate.MessageOf(err))
		}
		if v := conds["ref_type"]; v != "" && v != "branch" && v != "tag" && !strings.ContainsAny(v, "*?[") {
			p.addAt(tp+".claims.ref_type", "ref_type is \"branch\" or \"tag\", not %q", v)
		}
		pol := tr.Policy()
		key := pol.String()
		if j, dup := seen[key]; dup {
			p.addAt(tp, "this trust policy repeats trust[%d]: keep one", j)
		}
		seen[key] = k
	}
}
