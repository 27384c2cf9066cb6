// Package lint checks a botgate instance against the one-token-per-automation
// practice: a rule engine over a Snapshot (tokens with their usage, users,
// automations, service accounts, secrets, the rate-limit policy), with rules
// that have stable IDs, a severity and a message that says what to do, and
// reports as text, JSON and SARIF 2.1.0.
//
// The package is pure: the caller builds the Snapshot (from a manifest with
// FromManifest, and from the store and the gateway's usage records) and
// renders the Report.
package lint

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

// Severity ranks findings.
type Severity string

// The severities, most severe first. They map to SARIF levels of the same
// name ("error", "warning", "note").
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityNote    Severity = "note"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityNote:
		return 1
	}
	return 0
}

// ParseSeverity reads "error", "warning" or "note".
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(strings.ToLower(strings.TrimSpace(s))); v {
	case SeverityError, SeverityWarning, SeverityNote:
		return v, nil
	}
	return "", botgate.Invalid("fail_on", "%q is not a severity: use error, warning or note", s)
}

// Snapshot is everything the rules look at. Any part may be empty: rules
// that need usage records stay silent without them.
type Snapshot struct {
	// At is the time of the snapshot ("now" for expiry and idleness).
	At time.Time `json:"at"`
	// Source names the manifest the automations came from, if any.
	Source          string           `json:"source,omitempty"`
	Tokens          []Token          `json:"tokens,omitempty"`
	Users           []User           `json:"users,omitempty"`
	Automations     []Automation     `json:"automations,omitempty"`
	ServiceAccounts []ServiceAccount `json:"service_accounts,omitempty"`
	Secrets         []Secret         `json:"secrets,omitempty"`
	Policy          Policy           `json:"policy"`
	// ShadowRefusals are the requests the gateway let through in shadow
	// mode that would have been refused, over the last day.
	ShadowRefusals []ShadowRefusal `json:"shadow_refusals,omitempty"`
}

// ShadowRefusal counts the requests of one automation (or, without one,
// one token) that shadow mode let through although a limit would have
// refused them, for one reason.
type ShadowRefusal struct {
	// Automation is the token's automation, "" if it names none.
	Automation string `json:"automation,omitempty"`
	// TokenID is the token of the latest such request.
	TokenID int64 `json:"token_id"`
	// Reason is rate_limit or loop.
	Reason string `json:"reason"`
	Count  int    `json:"count"`
	// Since is when the first of them was seen.
	Since time.Time `json:"since"`
}

// Token is a token with what is known of its use.
type Token struct {
	ID   int64             `json:"id"`
	Name string            `json:"name"`
	Kind botgate.TokenKind `json:"kind"`
	// Automation is the automation the token was issued for, "" if none.
	Automation string `json:"automation,omitempty"`
	// UserID and Username identify the token's owner.
	UserID     int64          `json:"user_id,omitempty"`
	Username   string         `json:"username,omitempty"`
	Scopes     botgate.Scopes `json:"scopes"`
	CreatedAt  time.Time      `json:"created_at"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty"`
	LastUsedAt *time.Time     `json:"last_used_at,omitempty"`
	Revoked    bool           `json:"revoked,omitempty"`
	// Usage is the token's use over a window; nil when not recorded.
	Usage *Usage `json:"usage,omitempty"`
}

// active reports whether the token works at now.
func (t *Token) active(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

func (t *Token) label() string {
	s := "token #" + strconv.FormatInt(t.ID, 10)
	if t.Name != "" {
		s += " (" + t.Name + ")"
	}
	return s
}

// Usage is a token's recorded use over a window, coalesced per client and
// per route, as the gateway keeps it.
type Usage struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Clients are the distinct callers seen.
	Clients []Client `json:"clients,omitempty"`
	// Routes are the calls made, each with the scope it needed.
	Routes []RouteUse `json:"routes,omitempty"`
	// Automations are the automation names callers declared (for example
	// in X-Botgate-Automation), when they do.
	Automations []string `json:"automations,omitempty"`
}

// Calls is the number of calls recorded.
func (u *Usage) Calls() int {
	n := 0
	for _, r := range u.Routes {
		n += r.Calls
	}
	return n
}

// Client is one caller of a token.
type Client struct {
	UserAgent string `json:"user_agent"`
	IP        string `json:"ip,omitempty"`
	Calls     int    `json:"calls"`
}

// RouteUse is one route called with a token.
type RouteUse struct {
	Method string `json:"method"`
	Route  string `json:"route"`
	// Project or Group is the full path the call touched, if any.
	Project string `json:"project,omitempty"`
	Group   string `json:"group,omitempty"`
	// Needed is the least scope the call required.
	Needed botgate.Scope `json:"needed"`
	Calls  int           `json:"calls"`
}

// User is an identity tokens belong to.
type User struct {
	ID       int64            `json:"id"`
	Username string           `json:"username"`
	Kind     botgate.UserKind `json:"kind"`
}

// Automation is an automation as declared (in the manifest or the live
// records).
type Automation struct {
	Name string `json:"name"`
	// Owner is the owning team's full path, "" if none.
	Owner     string         `json:"owner,omitempty"`
	Kind      manifest.Kind  `json:"kind,omitempty"`
	Temporary bool           `json:"temporary,omitempty"`
	Scopes    botgate.Scopes `json:"scopes,omitempty"`
	// ExpiresInDays is the declared token lifetime, 0 for none.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
	// RateLimit is the declared limit, zero for the default.
	RateLimit      botgate.Limit `json:"rate_limit,omitzero"`
	ServiceAccount string        `json:"service_account,omitempty"`
	Projects       []string      `json:"projects,omitempty"`
	Groups         []string      `json:"groups,omitempty"`
	// Trust are the automation's trust policies (workload identities that
	// may act as it).
	Trust []botgate.TrustPolicy `json:"trust,omitempty"`
	// TokenIDs are the live tokens the automation uses, when known.
	TokenIDs []int64 `json:"token_ids,omitempty"`
	// Position is where the automation was declared, if in a manifest.
	Position *manifest.Position `json:"position,omitempty"`
}

// ServiceAccount is a service account with its memberships.
type ServiceAccount struct {
	Name string `json:"name"`
	// Owner is the owning team's full path, "" if none.
	Owner    string             `json:"owner,omitempty"`
	Projects []string           `json:"projects,omitempty"`
	Groups   []string           `json:"groups,omitempty"`
	Position *manifest.Position `json:"position,omitempty"`
}

// Secret is a vault secret and who may read it.
type Secret struct {
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	// Readers are the users and automations that may read it.
	Readers []string `json:"readers"`
}

// Policy is the instance's rate-limit policy.
type Policy struct {
	// MaxRateLimit is the highest limit an automation should have; zero
	// means no ceiling.
	MaxRateLimit botgate.Limit `json:"max_rate_limit,omitzero"`
}

// Config tunes the rules. Zero fields take the documented defaults.
type Config struct {
	// UnusedDays: a token unused this long is reported. Default 30.
	UnusedDays int
	// ExpiringDays: a token expiring this soon is reported. Default 14.
	ExpiringDays int
	// MaxSecretReaders: a secret readable by more is reported. Default 5.
	MaxSecretReaders int
	// Disabled lists rule IDs not to run.
	Disabled []string
	// Severity overrides rules' severities by ID, for a team that wants,
	// say, BG004 to fail its pipeline.
	Severity map[string]Severity
}

func (c Config) withDefaults() Config {
	c.UnusedDays = cmp.Or(c.UnusedDays, 30)
	c.ExpiringDays = cmp.Or(c.ExpiringDays, 14)
	c.MaxSecretReaders = cmp.Or(c.MaxSecretReaders, 5)
	return c
}

// Subject is what a finding is about.
type Subject struct {
	// Type is "token", "automation", "service_account" or "secret".
	Type string `json:"type"`
	Name string `json:"name"`
	ID   int64  `json:"id,omitempty"`
}

// FullName is the subject as a SARIF logical location's fully qualified
// name, such as "automation/danger-review" or "token/12".
func (s Subject) FullName() string {
	if s.Type == "token" {
		return "token/" + strconv.FormatInt(s.ID, 10)
	}
	return s.Type + "/" + s.Name
}

// Finding is one rule's verdict on one subject.
type Finding struct {
	RuleID   string   `json:"rule_id"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Message says what is wrong and what to do.
	Message string  `json:"message"`
	Subject Subject `json:"subject"`
	// Position is where the subject is declared, when in a manifest.
	Position *manifest.Position `json:"position,omitempty"`
	// Suggested is a least scope set to use instead, for scope findings.
	Suggested botgate.Scopes `json:"suggested_scopes,omitempty"`
}

// Report is the outcome of a lint run.
type Report struct {
	At       time.Time `json:"at"`
	Source   string    `json:"source,omitempty"`
	Findings []Finding `json:"findings"`
	// Rules are the rules that ran, for SARIF's rule table.
	Rules []Rule `json:"-"`
	// Tool names SARIF's tool.driver (default "botgate-lint"); other
	// botgate checkers that write their findings through WriteSARIF, such
	// as the leak scanner, name themselves here.
	Tool string `json:"-"`
}

// Counts is the number of findings per severity.
type Counts struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Notes    int `json:"notes"`
}

// Counts counts the findings per severity.
func (r *Report) Counts() Counts {
	var c Counts
	for _, f := range r.Findings {
		switch f.Severity {
		case SeverityError:
			c.Errors++
		case SeverityWarning:
			c.Warnings++
		default:
			c.Notes++
		}
	}
	return c
}

// Run applies every enabled rule to the snapshot and returns the findings,
// most severe first, then by rule ID and subject.
func Run(s *Snapshot, cfg Config) *Report {
	cfg = cfg.withDefaults()
	rep := &Report{At: s.At, Source: s.Source, Findings: []Finding{}}
	for _, r := range Rules() {
		if slices.Contains(cfg.Disabled, r.ID) {
			continue
		}
		rep.Rules = append(rep.Rules, r)
		for _, f := range r.check(s, cfg) {
			f.RuleID, f.Rule = r.ID, r.Name
			if f.Severity == "" {
				f.Severity = r.Severity
			}
			if sev, ok := cfg.Severity[r.ID]; ok && sev.rank() > 0 {
				f.Severity = sev
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		if c := b.Severity.rank() - a.Severity.rank(); c != 0 {
			return c
		}
		if c := cmp.Compare(a.RuleID, b.RuleID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Subject.Type, b.Subject.Type); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Subject.ID, b.Subject.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.Subject.Name, b.Subject.Name)
	})
	return rep
}

// ExitCode is the process exit status for a report, as for every
// botgate check that finds something (scan too):
//
//	0  no findings at or above failOn;
//	1  findings at or above failOn.
//
// failOn defaults to error when empty, so warnings and notes alone exit 0
// unless the caller asks for --fail-on warning (or note). An error-severity
// finding is at or above every failOn. (Exit status 2 is every command's
// usage error, never a finding.)
func ExitCode(r *Report, failOn Severity) int {
	if failOn == "" {
		failOn = SeverityError
	}
	for _, f := range r.Findings {
		if f.Severity.rank() >= failOn.rank() {
			return 1
		}
	}
	return 0
}

// Query is the configuration as the API's lint parameters (unused_days,
// expiring_days, max_secret_readers, disable); unset fields are left out.
func (c Config) Query() url.Values {
	q := url.Values{}
	for name, v := range map[string]int{"unused_days": c.UnusedDays, "expiring_days": c.ExpiringDays, "max_secret_readers": c.MaxSecretReaders} {
		if v > 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	if len(c.Disabled) > 0 {
		q.Set("disable", strings.Join(c.Disabled, ","))
	}
	return q
}
