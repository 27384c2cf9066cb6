package lint

import (
	"slices"
	"time"

	"github.com/botgate/botgate/manifest"
)

// FromManifest returns a snapshot of what the manifest declares: its
// automations (with positions), its service accounts with the targets the
// automations give them, and its rate-limit policy. The caller adds live
// tokens, users, secrets and usage to check those too.
func FromManifest(m *manifest.Manifest, at time.Time) *Snapshot {
	s := &Snapshot{At: at, Source: m.File()}
	if m.Policy.MaxRateLimit != "" {
		if l, err := manifest.ParseRateLimit(m.Policy.MaxRateLimit); err == nil {
			s.Policy.MaxRateLimit = l
		}
	}
	targets := map[string]*ServiceAccount{}
	for _, sa := range m.ServiceAccounts {
		ls := ServiceAccount{Name: sa.Name, Owner: sa.Owner}
		if p, ok := m.ServiceAccountPosition(sa.Name); ok {
			ls.Position = &p
		}
		s.ServiceAccounts = append(s.ServiceAccounts, ls)
	}
	for i := range s.ServiceAccounts {
		targets[s.ServiceAccounts[i].Name] = &s.ServiceAccounts[i]
	}
	for i := range m.Automations {
		a := &m.Automations[i]
		la := Automation{Name: a.Name, Owner: a.Owner, Kind: a.EffectiveKind(), Temporary: a.Temporary, Scopes: a.ScopeSet(),
			ExpiresInDays: a.Lifetime(), RateLimit: a.Limit(), ServiceAccount: a.ServiceAccount,
			Projects: slices.Clone(a.Projects), Groups: slices.Clone(a.Groups), Trust: a.TrustPolicies()}
		if p, ok := m.AutomationPosition(a.Name); ok {
			la.Position = &p
		}
		s.Automations = append(s.Automations, la)
		if sa, ok := targets[a.ServiceAccount]; ok && a.EffectiveKind() == manifest.KindServiceAccount {
			sa.Projects = union(sa.Projects, a.Projects)
			sa.Groups = union(sa.Groups, a.Groups)
		}
	}
	return s
}

func union(a, b []string) []string {
	for _, v := range b {
		if !slices.Contains(a, v) {
			a = append(a, v)
		}
	}
	return a
}
