// Package manifest reads, validates, plans and applies botgate's
// "automations as code" file: the teams (groups), projects, service accounts
// and automations an instance should have, each automation with its own
// least-privilege token.
//
// The package is pure: Parse validates a YAML document, Plan compares a
// Manifest with a State (the live instance, read by the caller) and returns
// the ordered Changes that would make them agree, and Apply carries Changes
// out through an Applier that the caller wires to the live instance.
// Nothing here does I/O of its own beyond reading the given reader and
// writing progress lines.
package manifest

import (
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// Version is the manifest format version this package reads.
const Version = 1

// Manifest is the parsed form of an automations file. Field names are the
// YAML keys; schema.json documents the same shape.
type Manifest struct {
	// Version is the format version; it must be 1.
	Version int `yaml:"version" json:"version"`
	// Policy holds instance-wide defaults and limits.
	Policy Policy `yaml:"policy,omitempty" json:"policy,omitempty"`
	// Teams are the groups automations and service accounts belong to.
	Teams []Team `yaml:"teams,omitempty" json:"teams,omitempty"`
	// Projects are the projects automations act on.
	Projects []Project `yaml:"projects,omitempty" json:"projects,omitempty"`
	// ServiceAccounts are the cross-project identities, each owned by a team.
	ServiceAccounts []ServiceAccount `yaml:"service_accounts,omitempty" json:"service_accounts,omitempty"`
	// Automations are the bots, one token each.
	Automations []Automation `yaml:"automations,omitempty" json:"automations,omitempty"`

	// file and positions record where each value came from, for messages.
	file      string
	positions map[string]Position
}

// Policy holds instance-wide defaults and limits. Empty fields take the
// defaults documented on each.
type Policy struct {
	// RotateBefore is how long before its expiry a token is rotated by
	// plan/apply, as a day count such as "14d". Default DefaultRotateBefore.
	RotateBefore string `yaml:"rotate_before,omitempty" json:"rotate_before,omitempty"`
	// DefaultRateLimit is the rate limit of an automation that declares
	// none, such as "600/min".
	DefaultRateLimit string `yaml:"default_rate_limit,omitempty" json:"default_rate_limit,omitempty"`
	// MaxRateLimit is the highest rate limit an automation should declare;
	// lint reports automations above it.
	MaxRateLimit string `yaml:"max_rate_limit,omitempty" json:"max_rate_limit,omitempty"`
}

// Team is a group. Its full path is Parent + "/" + Path, or Path for a
// top-level group.
type Team struct {
	// Path is the group's path segment (letters, digits, '_', '-', '.').
	Path string `yaml:"path" json:"path"`
	// Name is the display name; the path when empty.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Parent is the full path of the parent team, which must be declared.
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Description says what the team does.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Members are the people (existing users) in the team.
	Members []Member `yaml:"members,omitempty" json:"members,omitempty"`
	// Notify is where botgate tells the team about its tokens (expiry
	// notices); a subgroup without one is told through its nearest parent
	// that has one.
	Notify *Notify `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// Notify is where a team's notices go: a webhook (Slack-compatible JSON)
// and email addresses.
type Notify struct {
	// Webhook is an http(s) URL. It may embed a secret (chat incoming
	// webhooks carry one in their path): botgate stores it but shows only
	// its scheme and host (botgate.RedactURL).
	Webhook string `yaml:"webhook,omitempty" json:"webhook,omitempty"`
	// Email lists the addresses told.
	Email []string `yaml:"email,omitempty" json:"email,omitempty"`
}

// FullPath is the team's full path.
func (t Team) FullPath() string {
	if t.Parent == "" {
		return t.Path
	}
	return t.Parent + "/" + t.Path
}

// Member puts an existing user in a team at an access level.
type Member struct {
	// User is the username.
	User string `yaml:"user" json:"user"`
	// AccessLevel is a GitLab role name (guest, planner, reporter,
	// developer, maintainer, owner) or its number (10..50).
	AccessLevel string `yaml:"access_level" json:"access_level"`
}

// Project is a project inside a declared team.
type Project struct {
	// Path is the project's path segment.
	Path string `yaml:"path" json:"path"`
	// Group is the full path of the team the project lives in.
	Group string `yaml:"group" json:"group"`
	// Name is the display name; the path when empty.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Description says what the project is.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// FullPath is the project's path with namespace.
func (p Project) FullPath() string { return p.Group + "/" + p.Path }

// ServiceAccount is a machine identity owned by a team, for automations
// whose work spans projects that one project or group token cannot cover.
type ServiceAccount struct {
	// Name is the service account's username.
	Name string `yaml:"name" json:"name"`
	// Owner is the full path of the owning team (required): only its
	// Maintainers and Owners manage the account.
	Owner string `yaml:"owner" json:"owner"`
	// Description says what the account is for.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// Kind is the sort of token an automation gets.
type Kind string

// The automation kinds, narrowest first.
const (
	// KindProjectToken is a project access token on exactly one project.
	KindProjectToken Kind = "project_token"
	// KindGroupToken is a group access token on exactly one group.
	KindGroupToken Kind = "group_token"
	// KindServiceAccount is a token of a declared service account, which is
	// made a member of every target.
	KindServiceAccount Kind = "service_account"
)

// kinds lists the valid kinds.
var kinds = []Kind{KindProjectToken, KindGroupToken, KindServiceAccount}

// TokenKind is the botgate token kind an automation of kind k is issued.
func (k Kind) TokenKind() botgate.TokenKind {
	switch k {
	case KindGroupToken:
		return botgate.GroupAccessToken
	case KindServiceAccount:
		return botgate.ServiceAccountToken
	default:
		return botgate.ProjectAccessToken
	}
}

// Automation is one bot with its own token.
type Automation struct {
	// Name identifies the automation; its token carries the same name.
	Name string `yaml:"name" json:"name"`
	// Purpose says in one sentence what the automation does.
	Purpose string `yaml:"purpose" json:"purpose"`
	// Owner is the full path of the team answerable for it.
	Owner string `yaml:"owner" json:"owner"`
	// Kind is project_token (the default), group_token or service_account.
	Kind Kind `yaml:"kind,omitempty" json:"kind,omitempty"`
	// ServiceAccount names the declared service account whose token this
	// automation uses; required for kind service_account.
	ServiceAccount string `yaml:"service_account,omitempty" json:"service_account,omitempty"`
	// Projects are the full paths of the projects it acts on.
	Projects []string `yaml:"projects,omitempty" json:"projects,omitempty"`
	// Groups are the full paths of the groups it acts on.
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Scopes are the token scopes, as GitLab names them.
	Scopes []string `yaml:"scopes" json:"scopes"`
	// AccessLevel is the role the token's bot (or the service account) has
	// on the targets: a name (reporter, developer, ...) or a number.
	AccessLevel string `yaml:"access_level" json:"access_level"`
	// ExpiresIn is the token's lifetime, such as "90d"; the token is
	// rotated RotateBefore its expiry. Empty means no expiry.
	ExpiresIn string `yaml:"expires_in,omitempty" json:"expires_in,omitempty"`
	// Temporary marks an automation that must end; it then needs ExpiresIn.
	Temporary bool `yaml:"temporary,omitempty" json:"temporary,omitempty"`
	// RateLimit is the automation's own limit, such as "600/min".
	RateLimit string `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Enforcement is how the gateway applies the automation's rate limit
	// and loop breaker: enforce (the default) refuses what they deny;
	// shadow lets it through and counts, marks and audits what would have
	// been refused, to try a limit before it bites. An instance in shadow
	// mode (gateway.enforcement) shadows every automation.
	Enforcement string `yaml:"enforcement,omitempty" json:"enforcement,omitempty"`
	// Upstream is the base URL of the API the gateway forwards this
	// automation's calls to, when it calls through the gateway.
	Upstream string `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	// Routes optionally narrows the calls the gateway lets through, each
	// "METHOD /path/pattern" (e.g. "GET /api/v4/projects/*/pipelines").
	Routes []string `yaml:"routes,omitempty" json:"routes,omitempty"`
	// Trust lists the workload identities (CI jobs, pods) that may exchange
	// their platform's signed identity token for a minutes-long token of
	// this automation. None: no workload may (deny by default).
	Trust []Trust `yaml:"trust,omitempty" json:"trust,omitempty"`
}

// Trust is one trust policy: which issuer's tokens, for which audience,
// with which claims, may act as the automation, and for how long at most.
type Trust struct {
	// Issuer is the OIDC issuer URL as the token's "iss" says it: the
	// GitLab instance URL for GitLab CI id_tokens,
	// https://token.actions.githubusercontent.com for GitHub Actions, a
	// cluster's service-account issuer for Kubernetes.
	Issuer string `yaml:"issuer" json:"issuer"`
	// Audience must be one of the token's "aud" values (GitLab CI:
	// id_tokens.<NAME>.aud).
	Audience string `yaml:"audience" json:"audience"`
	// MaxTTL is the longest life of an exchanged token, such as "15m"
	// (default 15m, at most 1h).
	MaxTTL string `yaml:"max_ttl,omitempty" json:"max_ttl,omitempty"`
	// Claims are the conditions on the token's claims, each an exact
	// value or a glob ('*' does not cross '/').
	Claims Claims `yaml:"claims,omitempty" json:"claims,omitempty"`
}

// Claims are the claim conditions a trust policy may set. Empty fields set
// none.
type Claims struct {
	// Sub is the token's subject (Kubernetes:
	// system:serviceaccount:NAMESPACE:NAME).
	Sub string `yaml:"sub,omitempty" json:"sub,omitempty"`
	// GitLab CI.
	ProjectPath          string `yaml:"project_path,omitempty" json:"project_path,omitempty"`
	NamespacePath        string `yaml:"namespace_path,omitempty" json:"namespace_path,omitempty"`
	Ref                  string `yaml:"ref,omitempty" json:"ref,omitempty"`
	RefType              string `yaml:"ref_type,omitempty" json:"ref_type,omitempty"`
	RefProtected         string `yaml:"ref_protected,omitempty" json:"ref_protected,omitempty"`
	PipelineSource       string `yaml:"pipeline_source,omitempty" json:"pipeline_source,omitempty"`
	Environment          string `yaml:"environment,omitempty" json:"environment,omitempty"`
	EnvironmentProtected string `yaml:"environment_protected,omitempty" json:"environment_protected,omitempty"`
	// GitHub Actions.
	Repository      string `yaml:"repository,omitempty" json:"repository,omitempty"`
	RepositoryOwner string `yaml:"repository_owner,omitempty" json:"repository_owner,omitempty"`
	Workflow        string `yaml:"workflow,omitempty" json:"workflow,omitempty"`
	EventName       string `yaml:"event_name,omitempty" json:"event_name,omitempty"`
}

// Map returns the set conditions by claim name.
func (c Claims) Map() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{
		"sub": c.Sub, "project_path": c.ProjectPath, "namespace_path": c.NamespacePath, "ref": c.Ref,
		"ref_type": c.RefType, "ref_protected": c.RefProtected, "pipeline_source": c.PipelineSource,
		"environment": c.Environment, "environment_protected": c.EnvironmentProtected,
		"repository": c.Repository, "repository_owner": c.RepositoryOwner, "workflow": c.Workflow,
		"event_name": c.EventName,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// TTL is the policy's MaxTTL, botgate.DefaultWorkloadTTL when unset. Parse
// has checked it.
func (t *Trust) TTL() time.Duration {
	d, err := time.ParseDuration(t.MaxTTL)
	if err != nil || t.MaxTTL == "" {
		return botgate.DefaultWorkloadTTL
	}
	return d
}

// Policy is the trust policy's domain form.
func (t *Trust) Policy() botgate.TrustPolicy {
	return botgate.TrustPolicy{Issuer: t.Issuer, Audience: t.Audience, Claims: t.Claims.Map(), MaxTTL: t.TTL()}
}

// TrustPolicies returns the automation's trust policies in domain form,
// nil for none.
func (a *Automation) TrustPolicies() []botgate.TrustPolicy {
	var out []botgate.TrustPolicy
	for i := range a.Trust {
		out = append(out, a.Trust[i].Policy())
	}
	return out
}

// EffectiveKind is the automation's kind, KindProjectToken when unset.
func (a *Automation) EffectiveKind() Kind {
	if a.Kind == "" {
		return KindProjectToken
	}
	return a.Kind
}

// ScopeSet returns the automation's scopes, normalized. Unknown names are
// dropped; Parse has already rejected them.
func (a *Automation) ScopeSet() botgate.Scopes {
	s, err := botgate.ParseScopes(a.Scopes)
	if err != nil {
		return nil
	}
	return s
}

// Level returns the automation's access level, or 0 if it is not valid.
func (a *Automation) Level() botgate.AccessLevel {
	l, err := ParseAccessLevel(a.AccessLevel)
	if err != nil {
		return 0
	}
	return l
}

// Lifetime returns the token lifetime in days, 0 for no expiry.
func (a *Automation) Lifetime() int {
	d, err := ParseDays(a.ExpiresIn)
	if err != nil {
		return 0
	}
	return d
}

// Limit returns the automation's rate limit, the zero Limit when unset.
func (a *Automation) Limit() botgate.Limit {
	if a.RateLimit == "" {
		return botgate.Limit{}
	}
	l, err := ParseRateLimit(a.RateLimit)
	if err != nil {
		return botgate.Limit{}
	}
	return l
}

// Mode returns the automation's enforcement mode; Parse has checked it.
func (a *Automation) Mode() botgate.Enforcement {
	e, err := botgate.ParseEnforcement(a.Enforcement)
	if err != nil {
		return botgate.EnforcementEnforce
	}
	return e
}

// Target returns the full path of the automation's token resource: the
// project for a project token, the group for a group token, the service
// account's name for a service account.
func (a *Automation) Target() string {
	switch a.EffectiveKind() {
	case KindGroupToken:
		if len(a.Groups) > 0 {
			return a.Groups[0]
		}
	case KindServiceAccount:
		return a.ServiceAccount
	default:
		if len(a.Projects) > 0 {
			return a.Projects[0]
		}
	}
	return ""
}

// Automation returns the declared automation with the name, or nil.
func (m *Manifest) Automation(name string) *Automation {
	for i := range m.Automations {
		if m.Automations[i].Name == name {
			return &m.Automations[i]
		}
	}
	return nil
}

// ServiceAccountByName returns the declared service account, or nil.
func (m *Manifest) ServiceAccountByName(name string) *ServiceAccount {
	for i := range m.ServiceAccounts {
		if strings.EqualFold(m.ServiceAccounts[i].Name, name) {
			return &m.ServiceAccounts[i]
		}
	}
	return nil
}

// Position is a place in the manifest file.
type Position struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// String writes the position as file:line:column.
func (p Position) String() string {
	f := p.File
	if f == "" {
		f = "manifest"
	}
	if p.Line == 0 {
		return f
	}
	return f + ":" + itoa(p.Line) + ":" + itoa(p.Column)
}

// File returns the name the manifest was read from, "" if unnamed.
func (m *Manifest) File() string { return m.file }

// Position returns where the value at path (such as "automations[2]" or
// "automations[2].scopes[0]") was written, if the manifest was parsed.
func (m *Manifest) Position(path string) (Position, bool) {
	p, ok := m.positions[path]
	if ok {
		p.File = m.file
	}
	return p, ok
}

// AutomationPosition returns where the named automation was declared.
func (m *Manifest) AutomationPosition(name string) (Position, bool) {
	for i := range m.Automations {
		if m.Automations[i].Name == name {
			return m.Position("automations[" + itoa(i) + "]")
		}
	}
	return Position{}, false
}

// ServiceAccountPosition returns where the named service account was declared.
func (m *Manifest) ServiceAccountPosition(name string) (Position, bool) {
	for i := range m.ServiceAccounts {
		if m.ServiceAccounts[i].Name == name {
			return m.Position("service_accounts[" + itoa(i) + "]")
		}
	}
	return Position{}, false
}
