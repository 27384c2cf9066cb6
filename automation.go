package botgate

import (
	"time"
)

// AutomationKind is the sort of token an automation is issued, as the
// manifest names it.
type AutomationKind string

// The automation kinds, narrowest first.
const (
	AutomationProjectToken   AutomationKind = "project_token"
	AutomationGroupToken     AutomationKind = "group_token"
	AutomationServiceAccount AutomationKind = "service_account"
)

// Valid reports whether k is a known automation kind.
func (k AutomationKind) Valid() bool {
	return k == AutomationProjectToken || k == AutomationGroupToken || k == AutomationServiceAccount
}

// Audit actions of automation records.
const (
	ActionAutomationCreate = "automation.create"
	ActionAutomationUpdate = "automation.update"
	ActionAutomationDelete = "automation.delete"
)

// Automation is botgate's record of one automation: the bot a team answers
// for, what it is for, what it may touch and how fast. Its token (or its
// service account's token) carries the same name in Token.Automation. The
// record holds no secret.
type Automation struct {
	ID int64
	// Name is unique on the instance; tokens name it in Token.Automation.
	Name string
	// OwnerGroupID is the team (group) answerable for the automation.
	OwnerGroupID int64
	Purpose      string
	Kind         AutomationKind
	// ServiceAccount is the username of the service account whose token
	// the automation uses, for AutomationServiceAccount.
	ServiceAccount string
	// Projects and Groups are the full paths of the targets it acts on.
	Projects []string
	Groups   []string
	Scopes   Scopes
	// AccessLevel is the role of its bot (or service account) on the
	// targets.
	AccessLevel AccessLevel
	// ExpiresInDays is the token lifetime in days, 0 for no expiry.
	ExpiresInDays int
	// Temporary marks an automation that must end; its token must expire.
	Temporary bool
	// RateLimit is the automation's own limit; zero for the default.
	RateLimit Limit
	// Upstream is the base URL of the API the gateway forwards its calls
	// to, "" if none.
	Upstream string
	// Routes optionally narrow the calls the gateway lets through, each
	// "METHOD /path/pattern".
	Routes []string
	// Enforcement says whether the gateway enforces the automation's rate
	// limit and loop breaker or only reports what it would have refused;
	// "" is EnforcementEnforce.
	Enforcement Enforcement
	// Trust lists the workload identities that may act as the automation
	// (token exchange); none means none may.
	Trust     []TrustPolicy
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AutomationFilter selects automation records. Zero fields do not filter.
type AutomationFilter struct {
	IDs          []int64
	Names        []string
	OwnerGroupID int64
	Page
}

// ValidateAutomationName checks an automation's name: lower-case letters,
// digits, '.', '_' and '-', at most 63 characters, starting with a letter or
// digit, as the manifest allows.
func ValidateAutomationName(name string) error {
	if name == "" {
		return Invalid("name", "name is missing")
	}
	if !automationNameShape.match(name) {
		return Invalid("name", "automation name %q can contain only lower-case letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit", name)
	}
	return nil
}

// Enforcement is how the gateway applies an automation's rate limit and
// loop breaker.
type Enforcement string

// The enforcement modes.
const (
	// EnforcementEnforce refuses what the limit or the breaker denies.
	EnforcementEnforce Enforcement = "enforce"
	// EnforcementShadow computes the same decisions but lets the request
	// through, counting, marking and auditing what would have been refused,
	// so that a team can try a limit before it bites.
	EnforcementShadow Enforcement = "shadow"
)

// ParseEnforcement reads "enforce" or "shadow"; "" is EnforcementEnforce.
// Errors are KindInvalid.
func ParseEnforcement(s string) (Enforcement, error) {
	switch e := Enforcement(s); e {
	case "", EnforcementEnforce:
		return EnforcementEnforce, nil
	case EnforcementShadow:
		return e, nil
	}
	return "", Invalid("enforcement", "enforcement %q is not a mode: use enforce or shadow", s)
}

// Shadow reports whether e is the shadow mode.
func (e Enforcement) Shadow() bool { return e == EnforcementShadow }

// String is the mode's name, "enforce" for "".
func (e Enforcement) String() string {
	if e == "" {
		return string(EnforcementEnforce)
	}
	return string(e)
}
