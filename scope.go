package botgate

import (
	"slices"
	"strings"
)

// Scope is what a token may be used for, with GitLab's names.
type Scope string

// The scopes botgate knows.
const (
	ScopeAPI                  Scope = "api"
	ScopeReadAPI              Scope = "read_api"
	ScopeReadUser             Scope = "read_user"
	ScopeReadRepository       Scope = "read_repository"
	ScopeWriteRepository      Scope = "write_repository"
	ScopeReadRegistry         Scope = "read_registry"
	ScopeWriteRegistry        Scope = "write_registry"
	ScopeReadVirtualRegistry  Scope = "read_virtual_registry"
	ScopeWriteVirtualRegistry Scope = "write_virtual_registry"
	ScopeCreateRunner         Scope = "create_runner"
	ScopeManageRunner         Scope = "manage_runner"
	ScopeK8sProxy             Scope = "k8s_proxy"
	ScopeSelfRotate           Scope = "self_rotate"
	ScopeAIFeatures           Scope = "ai_features"
	ScopeAdminMode            Scope = "admin_mode"
	ScopeSudo                 Scope = "sudo"
	ScopeReadServicePing      Scope = "read_service_ping"
	// ScopeReadSecret is botgate's own: it lets an automation read the vault
	// secrets bound to it.
	ScopeReadSecret Scope = "read_secret"
	// ScopeRevokeLeaked is botgate's own: it lets a secret-detection
	// pipeline report leaked tokens (POST /api/botgate/v1/leaks), which
	// revokes them, and nothing else.
	ScopeRevokeLeaked Scope = "revoke_leaked"
	// ScopeManageAutomations is botgate's own: it lets a team's CI plan,
	// apply, lint and check the drift of the team's part of an automations
	// manifest (/api/botgate/v1/manifest/...), and nothing else. It grants
	// no general API access, and the tokens such an apply issues never
	// carry it (see GrantableByManifest).
	ScopeManageAutomations Scope = "manage_automations"
)

// allScopes is every scope, in GitLab's documentation order.
var allScopes = []Scope{
	ScopeAPI, ScopeReadAPI, ScopeReadUser, ScopeReadRepository, ScopeWriteRepository,
	ScopeReadRegistry, ScopeWriteRegistry, ScopeReadVirtualRegistry, ScopeWriteVirtualRegistry,
	ScopeCreateRunner, ScopeManageRunner, ScopeK8sProxy, ScopeSelfRotate, ScopeAIFeatures,
	ScopeAdminMode, ScopeSudo, ScopeReadServicePing, ScopeReadSecret, ScopeRevokeLeaked, ScopeManageAutomations,
}

// adminScopes may be held only by an administrator's personal token.
var adminScopes = []Scope{ScopeAdminMode, ScopeSudo, ScopeReadServicePing}

// AllScopes returns every scope botgate knows.
func AllScopes() []Scope { return slices.Clone(allScopes) }

// Known reports whether s is a scope botgate knows.
func (s Scope) Known() bool { return slices.Contains(allScopes, s) }

// AdminOnly reports whether s may be held only by an administrator.
func (s Scope) AdminOnly() bool { return slices.Contains(adminScopes, s) }

// ResourceBotScope reports whether s may be given to a project or group
// access token: every non-admin scope except read_user.
func (s Scope) ResourceBotScope() bool {
	return s.Known() && !s.AdminOnly() && s != ScopeReadUser
}

// GrantableByManifest reports whether a token acting through
// manage_automations (without api) may give s to a token it issues: any
// scope a team's bot may hold, but neither an administrator's scope nor
// manage_automations itself, so that a team's governance token never
// mints another governance token or anything above its team.
func (s Scope) GrantableByManifest() bool {
	return s.Known() && !s.AdminOnly() && s != ScopeManageAutomations
}

// Scopes is a set of scopes, kept sorted and without duplicates by
// NormalizeScopes.
type Scopes []Scope

// Has reports whether the set holds s.
func (ss Scopes) Has(s Scope) bool { return slices.Contains(ss, s) }

// HasAny reports whether the set holds any of want.
func (ss Scopes) HasAny(want ...Scope) bool {
	for _, w := range want {
		if ss.Has(w) {
			return true
		}
	}
	return false
}

// Strings returns the scopes as strings.
func (ss Scopes) Strings() []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func (ss Scopes) String() string { return strings.Join(ss.Strings(), " ") }

// ParseScopes turns names into a normalized set, rejecting unknown names and
// an empty list with a KindInvalid error on field "scopes".
func ParseScopes(names []string) (Scopes, error) {
	if len(names) == 0 {
		return nil, Invalid("scopes", "scopes is missing")
	}
	out := make(Scopes, 0, len(names))
	for _, n := range names {
		s := Scope(strings.TrimSpace(n))
		if !s.Known() {
			return nil, Invalid("scopes", "scopes does not have a valid value: unknown scope %q (known: %s)", n, Scopes(allScopes))
		}
		out = append(out, s)
	}
	return NormalizeScopes(out), nil
}

// NormalizeScopes sorts ss in the canonical order and removes duplicates.
func NormalizeScopes(ss Scopes) Scopes {
	out := make(Scopes, 0, len(ss))
	for _, s := range allScopes {
		if slices.Contains(ss, s) {
			out = append(out, s)
		}
	}
	return out
}
