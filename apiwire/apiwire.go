// Package apiwire holds the JSON shapes of botgate's own API,
// /api/botgate/v1: httpapi writes them and apiclient reads them, so the
// server and its client cannot drift apart. It has no behaviour beyond
// counting.
package apiwire

// Secret is a team secret's metadata; the value is never part of it.
type Secret struct {
	ID              int64   `json:"id"`
	GroupID         int64   `json:"group_id"`
	Name            string  `json:"name"`
	Description     string  `json:"description"`
	KeyID           string  `json:"key_id"`
	BoundFamilyID   *int64  `json:"bound_family_id"`
	BoundAutomation string  `json:"bound_automation"`
	CreatedByID     int64   `json:"created_by_id"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
	LastReadAt      *string `json:"last_read_at"`
	Version         int64   `json:"version"`
}

// SecretValue is a secret with its value, answered by the value route
// only.
type SecretValue struct {
	Secret
	Value string `json:"value"`
}

// PutSecret is the body of PUT /secrets/{group}/{name}.
type PutSecret struct {
	Value       string `json:"value"`
	Description string `json:"description"`
}

// BindSecret is the body of PUT /secrets/{group}/{name}/binding.
type BindSecret struct {
	TokenID int64 `json:"token_id"`
}

// UpstreamCredential is an upstream credential's state. It never holds a
// token value or the upstream admin credential.
type UpstreamCredential struct {
	ID               int64    `json:"id"`
	GroupID          int64    `json:"group_id"`
	Automation       string   `json:"automation"`
	UpstreamURL      string   `json:"upstream_url"`
	Kind             string   `json:"kind"`
	Target           string   `json:"target"`
	ServiceAccountID int64    `json:"service_account_id"`
	TokenName        string   `json:"token_name"`
	Scopes           []string `json:"scopes"`
	AccessLevel      int      `json:"access_level"`
	LifetimeDays     int      `json:"lifetime_days"`
	RotateBeforeDays int      `json:"rotate_before_days"`
	AutoRotate       bool     `json:"auto_rotate"`
	Notify           string   `json:"notify"`
	State            string   `json:"state"`
	UpstreamTokenID  int64    `json:"upstream_token_id"`
	ExpiresAt        *string  `json:"expires_at"`
	SecretID         int64    `json:"secret_id"`
	SecretName       string   `json:"secret_name"`
	AdminSecretID    int64    `json:"admin_secret_id"`
	PendingRevokeID  int64    `json:"pending_revoke_id"`
	Attempts         int      `json:"attempts"`
	NextAttemptAt    *string  `json:"next_attempt_at"`
	LastError        string   `json:"last_error"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// CreateUpstream is the body of POST /upstream_credentials. Optional
// fields left zero are not sent, so the server applies its defaults.
type CreateUpstream struct {
	Group            string   `json:"group"`
	Automation       string   `json:"automation"`
	UpstreamURL      string   `json:"upstream_url"`
	AdminSecret      string   `json:"admin_secret"`
	Kind             string   `json:"kind"`
	Target           string   `json:"target"`
	Scopes           []string `json:"scopes"`
	LifetimeDays     int      `json:"lifetime_days"`
	RotateBeforeDays int      `json:"rotate_before_days"`
	AutoRotate       bool     `json:"auto_rotate"`
	TokenName        string   `json:"token_name,omitempty"`
	Notify           string   `json:"notify,omitempty"`
	AccessLevel      int      `json:"access_level,omitempty"`
	ServiceAccountID int64    `json:"service_account_id,omitempty"`
}

// LeakTokenType is the only type POST /leaks revokes, as GitLab's token
// revocation API names it.
const LeakTokenType = "gitlab_personal_access_token"

// MaxLeakItems bounds the items of one POST /leaks.
const MaxLeakItems = 100

// LeakItem is one reported token, as GitLab's token revocation API sends
// it.
type LeakItem struct {
	Type  string `json:"type"`
	Token string `json:"token"`
	URL   string `json:"url"`
}

// LeakAnswer is the outcome for one item. It never holds the token.
type LeakAnswer struct {
	Type string `json:"type"`
	URL  string `json:"url,omitempty"`
	// Status is revoked, already_inactive, unknown, unsupported_type or
	// invalid.
	Status      string `json:"status"`
	Fingerprint string `json:"fingerprint,omitempty"`
	TokenID     int64  `json:"token_id,omitempty"`
}

// TokenUsage is how a token has been used, as the gateway recorded it: its
// recent clients and every route it called with the scope that call
// needed. GET /tokens/{id}/usage.
type TokenUsage struct {
	TokenID     int64    `json:"token_id"`
	Name        string   `json:"name"`
	Automation  string   `json:"automation"`
	Scopes      []string `json:"scopes"`
	LastUsedAt  *string  `json:"last_used_at"`
	LastUsedIPs []string `json:"last_used_ips"`
	// UserAgents are the client fingerprints seen, newest first.
	UserAgents []string `json:"user_agents"`
	// ScopesUsed are the scopes the calls needed (the weakest scope that
	// allowed each), in canonical order: a token whose ScopesUsed is
	// narrower than Scopes holds more than it uses.
	ScopesUsed []string     `json:"scopes_used"`
	Calls      int64        `json:"calls"`
	Routes     []RouteUsage `json:"routes"`
}

// RouteUsage is one route a token called.
type RouteUsage struct {
	Method    string `json:"method"`
	Route     string `json:"route"`
	Scope     string `json:"scope"`
	Count     int64  `json:"count"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
}

// AuditEvent is one audit event, as GET /audit/events lists it and
// 'botgate audit list --output json' prints it.
type AuditEvent struct {
	Seq        int64             `json:"seq"`
	Time       string            `json:"time"`
	ActorID    int64             `json:"actor_id"`
	ActorName  string            `json:"actor_name"`
	TokenID    int64             `json:"token_id"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   int64             `json:"target_id"`
	TargetName string            `json:"target_name"`
	IP         string            `json:"ip"`
	UserAgent  string            `json:"user_agent"`
	Details    map[string]string `json:"details"`
	PrevHash   string            `json:"prev_hash"`
	Hash       string            `json:"hash"`
}

// Reissue is the body of POST /tokens/reissue: rotate every
// manifest-managed token expiring within ExpiringWithin ("30d", "2w"),
// expired ones included, keeping each new secret in its team's vault.
type Reissue struct {
	ExpiringWithin string `json:"expiring_within"`
	// Team narrows the reissue to one team's automations (a group's full
	// path); empty means every team, for administrators.
	Team string `json:"team,omitempty"`
	// DryRun lists the due tokens without rotating them.
	DryRun bool `json:"dry_run,omitempty"`
}

// ReissueReport is the answer of POST /tokens/reissue: one entry per due
// token, each with its outcome.
type ReissueReport struct {
	DryRun         bool          `json:"dry_run"`
	ExpiringWithin string        `json:"expiring_within"`
	Team           string        `json:"team,omitempty"`
	Tokens         []ReissueItem `json:"tokens"`
}

// ReissueItem is one due token: what it was, and what replaced it or
// why nothing did.
type ReissueItem struct {
	TokenID      int64   `json:"token_id"`
	Token        string  `json:"token"`
	Automation   string  `json:"automation"`
	Team         string  `json:"team"`
	OldExpiresAt string  `json:"old_expires_at"`
	NewTokenID   int64   `json:"new_token_id,omitempty"`
	NewExpiresAt *string `json:"new_expires_at,omitempty"`
	// VaultPath is where the new secret is kept: "vault:group/path/name".
	VaultPath string `json:"vault_path,omitempty"`
	// Error says why this token was not reissued.
	Error string `json:"error,omitempty"`
}

// Failed counts the tokens whose reissue failed.
func (r *ReissueReport) Failed() int {
	n := 0
	for _, t := range r.Tokens {
		if t.Error != "" {
			n++
		}
	}
	return n
}
