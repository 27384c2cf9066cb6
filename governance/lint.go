package governance

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// DefaultUsageWindow is how far back Snapshot looks at route usage when
// the caller gives no window.
const DefaultUsageWindow = 30 * 24 * time.Hour

// SnapshotOptions tune Snapshot.
type SnapshotOptions struct {
	// Manifest, if set, supplies the automations, service accounts and
	// rate-limit policy as declared (with file positions); otherwise they
	// come from the automation records and the live service accounts.
	Manifest *manifest.Manifest
	// Window is how far back route usage counts (default
	// DefaultUsageWindow): routes last called before it are left out.
	Window time.Duration
	// MaxRateLimit is the policy ceiling when there is no manifest (zero:
	// none).
	MaxRateLimit botgate.Limit
}

// Snapshot builds what lint looks at from the live instance: every
// unrevoked token with its owner, recorded clients (user agents) and the
// route usage the gateway recorded over the window; every user; the
// automations and service accounts (from the manifest, or else from the
// automation records and the live memberships); and the vault's secrets
// with who may read them (the owner team's Maintainers and Owners, and the
// bound automation). Tokens and users are live in either case.
func (g *Governor) Snapshot(ctx context.Context, o SnapshotOptions) (*lint.Snapshot, error) {
	w, err := g.readWorld(ctx, true)
	if err != nil {
		return nil, err
	}
	now := g.auth.Now()
	window := o.Window
	if window <= 0 {
		window = DefaultUsageWindow
	}
	since := now.Add(-window)

	var s *lint.Snapshot
	if o.Manifest != nil {
		s = lint.FromManifest(o.Manifest, now)
	} else {
		s = &lint.Snapshot{At: now, Policy: lint.Policy{MaxRateLimit: o.MaxRateLimit}}
		s.Automations, s.ServiceAccounts = w.lintAutomations()
	}
	for _, id := range sortedKeys(w.users) {
		s.Users = append(s.Users, lint.UserFromStore(w.users[id]))
	}
	byAutomation := map[string][]int64{}
	for _, t := range w.tokens {
		var routes []botgate.RouteUsage
		for _, r := range w.routes[t.ID] {
			if !r.LastSeen.Before(since) {
				routes = append(routes, r)
			}
		}
		s.Tokens = append(s.Tokens, lint.TokenFromStore(t, w.users[t.UserID], routes))
		if t.Automation != "" && t.Active(now) {
			byAutomation[t.Automation] = append(byAutomation[t.Automation], t.ID)
		}
	}
	for i := range s.Automations {
		s.Automations[i].TokenIDs = byAutomation[s.Automations[i].Name]
	}
	s.Secrets = w.lintSecrets()
	if s.ShadowRefusals, err = g.shadowRefusals(ctx, now.Add(-ShadowRefusalWindow)); err != nil {
		return nil, err
	}
	return s, nil
}

// ShadowRefusalWindow is how far back Snapshot counts the requests shadow
// mode let through that would have been refused (lint rule BG015).
const ShadowRefusalWindow = 24 * time.Hour

// shadowRefusals sums the gateway's "would have refused" audit events
// since the time by automation (or token, without one) and reason.
func (g *Governor) shadowRefusals(ctx context.Context, since time.Time) ([]lint.ShadowRefusal, error) {
	type key struct {
		automation, reason string
		tokenID            int64
	}
	sums := map[key]*lint.ShadowRefusal{}
	var out []*lint.ShadowRefusal
	err := g.store.View(ctx, func(tx botgate.Tx) error {
		var after int64
		for {
			page, err := tx.FindAudit(ctx, botgate.AuditFilter{Action: authority.ActionGatewayShadowRefusal, Since: &since,
				AfterSeq: after, Page: botgate.Page{Limit: 1000}})
			if err != nil {
				return err
			}
			for _, e := range page {
				after = e.Seq
				n, err := strconv.Atoi(e.Details["count"])
				if err != nil || n <= 0 {
					continue
				}
				k := key{automation: e.Details["automation"], reason: e.Details["reason"]}
				if k.automation == "" {
					k.tokenID = e.TargetID
				}
				r := sums[k]
				if r == nil {
					r = &lint.ShadowRefusal{Automation: k.automation, Reason: k.reason, Since: e.Time}
					sums[k] = r
					out = append(out, r)
				}
				r.TokenID = e.TargetID
				r.Count += n
			}
			if len(page) < 1000 {
				return nil
			}
		}
	})
	if err != nil {
		return nil, botgate.E("governance.Snapshot", err)
	}
	res := make([]lint.ShadowRefusal, len(out))
	for i, r := range out {
		res[i] = *r
	}
	return res, nil
}

// Lint builds the snapshot and runs the rules on it.
func (g *Governor) Lint(ctx context.Context, o SnapshotOptions, cfg lint.Config) (*lint.Report, error) {
	s, err := g.Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	return lint.Run(s, cfg), nil
}

// lintAutomations returns the automation records and the live service
// accounts (with the projects and groups they are members of) as lint
// sees them.
func (w *world) lintAutomations() ([]lint.Automation, []lint.ServiceAccount) {
	var autos []lint.Automation
	for _, a := range w.autos {
		autos = append(autos, lint.Automation{Name: a.Name, Owner: w.groupPath(a.OwnerGroupID), Kind: manifest.Kind(a.Kind),
			Temporary: a.Temporary, Scopes: slices.Clone(a.Scopes), ExpiresInDays: a.ExpiresInDays, RateLimit: a.RateLimit,
			ServiceAccount: a.ServiceAccount, Projects: slices.Clone(a.Projects), Groups: slices.Clone(a.Groups),
			Trust: slices.Clone(a.Trust)})
	}
	var sas []lint.ServiceAccount
	index := map[int64]int{}
	for _, id := range sortedKeys(w.users) {
		u := w.users[id]
		if u.Kind != botgate.ServiceAccount || !u.Active() {
			continue
		}
		sa := lint.ServiceAccount{Name: u.Username}
		switch u.Owner.Type {
		case botgate.GroupResource:
			sa.Owner = w.groupPath(u.Owner.ID)
		case botgate.ProjectResource:
			if p := w.projects[u.Owner.ID]; p != nil {
				sa.Owner = p.PathWithNamespace
			}
		}
		index[u.ID] = len(sas)
		sas = append(sas, sa)
	}
	for _, m := range w.members {
		i, ok := index[m.UserID]
		if !ok {
			continue
		}
		r, ok := w.ref(m.Resource)
		if !ok {
			continue
		}
		sa := &sas[i]
		switch {
		case r.Type == botgate.ProjectResource:
			sa.Projects = append(sa.Projects, r.Path)
		case !strings.EqualFold(r.Path, sa.Owner):
			// Membership of its own team is ownership, not work.
			sa.Groups = append(sa.Groups, r.Path)
		}
	}
	return autos, sas
}

// lintSecrets returns the vault's secrets with who may read their values:
// the human Maintainers and Owners of the owning team and of the groups
// above it, and the bound automation.
func (w *world) lintSecrets() []lint.Secret {
	var out []lint.Secret
	for _, sec := range w.secrets {
		ls := lint.Secret{Name: sec.Name, Owner: w.groupPath(sec.OwnerGroupID), Readers: []string{}}
		chain := map[int64]bool{}
		for id := sec.OwnerGroupID; id != 0; {
			gr := w.groups[id]
			if gr == nil || chain[id] {
				break
			}
			chain[id] = true
			id = gr.ParentID
		}
		seen := map[string]bool{}
		for _, m := range w.members {
			u := w.users[m.UserID]
			if m.Resource.Type != botgate.GroupResource || !chain[m.Resource.ID] || m.AccessLevel < botgate.MaintainerAccess ||
				u == nil || u.Kind != botgate.HumanUser || !u.Active() || seen[u.Username] {
				continue
			}
			seen[u.Username] = true
			ls.Readers = append(ls.Readers, u.Username)
		}
		if sec.BoundAutomation != "" {
			ls.Readers = append(ls.Readers, "automation:"+sec.BoundAutomation)
		}
		out = append(out, ls)
	}
	return out
}

// LintFor lints the live instance against m as Lint does, for the
// Governor's actor: an administrator sees every finding; anyone else only
// the findings on the automations, service accounts and tokens of the
// teams it may apply (authority.JudgeManifestChange), so that a team's
// CI learns nothing about other teams.
func (g *Governor) LintFor(ctx context.Context, m *manifest.Manifest, o SnapshotOptions, cfg lint.Config) (*lint.Report, error) {
	if err := authority.MayApplyManifest(g.actor); err != nil {
		return nil, err
	}
	o.Manifest = m
	s, err := g.Snapshot(ctx, o)
	if err != nil {
		return nil, err
	}
	rep := lint.Run(s, cfg)
	if authority.ManifestAll(g.actor) {
		return rep, nil
	}
	mine := map[string]bool{}
	team := func(path string) bool {
		ok, seen := mine[path]
		if !seen {
			ok = path != "" && g.auth.JudgeManifestChange(ctx, g.actor, authority.ManifestChange{Object: "team " + path, Team: path}) == nil
			mine[path] = ok
		}
		return ok
	}
	autos, sas := map[string]string{}, map[string]string{}
	for _, a := range s.Automations {
		autos[a.Name] = a.Owner
	}
	for _, sa := range s.ServiceAccounts {
		sas[sa.Name] = sa.Owner
	}
	tokens := map[int64]lint.Token{}
	for _, t := range s.Tokens {
		tokens[t.ID] = t
	}
	kept := rep.Findings[:0]
	for _, f := range rep.Findings {
		var owner string
		switch f.Subject.Type {
		case "automation":
			owner = autos[f.Subject.Name]
		case "service_account":
			owner = sas[f.Subject.Name]
		case "token":
			t := tokens[f.Subject.ID]
			if owner = autos[t.Automation]; owner == "" {
				owner = sas[t.Username]
			}
		}
		if team(owner) {
			kept = append(kept, f)
		}
	}
	rep.Findings = kept
	return rep, nil
}
