package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// State is the live instance as the planner sees it: the caller reads it
// from the store (or a remote botgate) and passes it to Plan. Paths are full
// paths; comparisons ignore case, as GitLab's do.
type State struct {
	Groups          []LiveGroup          `json:"groups,omitempty"`
	Projects        []LiveProject        `json:"projects,omitempty"`
	ServiceAccounts []LiveServiceAccount `json:"service_accounts,omitempty"`
	Members         []LiveMember         `json:"members,omitempty"`
	// TeamNotify are the teams' stored notice destinations.
	TeamNotify  []LiveTeamNotify `json:"team_notify,omitempty"`
	Automations []LiveAutomation `json:"automations,omitempty"`
	// Tokens are the tokens of bots, service accounts and, if the caller
	// wishes, people. Revoked and expired tokens may be included; the
	// planner ignores them.
	Tokens []LiveToken `json:"tokens,omitempty"`
}

// LiveGroup is an existing group.
type LiveGroup struct {
	ID       int64  `json:"id"`
	FullPath string `json:"full_path"`
}

// LiveProject is an existing project.
type LiveProject struct {
	ID       int64  `json:"id"`
	FullPath string `json:"full_path"`
}

// LiveServiceAccount is an existing service account.
type LiveServiceAccount struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	// Owner is the full path of the owning group, "" if none.
	Owner string `json:"owner,omitempty"`
}

// Ref points at a project or group by full path.
type Ref struct {
	Type botgate.ResourceType `json:"type"`
	Path string               `json:"path"`
}

// String writes the reference as "project a/b" or "group a".
func (r Ref) String() string { return string(r.Type) + " " + r.Path }

func (r Ref) key() string { return string(r.Type) + ":" + strings.ToLower(r.Path) }

// LiveMember is an existing direct membership.
type LiveMember struct {
	Resource    Ref                 `json:"resource"`
	User        string              `json:"user"`
	AccessLevel botgate.AccessLevel `json:"access_level"`
}

// LiveAutomation is an automation record botgate keeps (owner, purpose,
// limits): what PutAutomation last wrote.
type LiveAutomation struct {
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	Purpose   string `json:"purpose,omitempty"`
	Kind      Kind   `json:"kind,omitempty"`
	Temporary bool   `json:"temporary,omitempty"`
	// RateLimit is as the manifest writes it, "" for the default.
	RateLimit string `json:"rate_limit,omitempty"`
	// Enforcement is enforce or shadow ("" for enforce).
	Enforcement string   `json:"enforcement,omitempty"`
	Upstream    string   `json:"upstream,omitempty"`
	Routes      []string `json:"routes,omitempty"`
	// Trust are the trust policies, each as botgate.TrustPolicy.String
	// renders it.
	Trust []string `json:"trust,omitempty"`
}

// LiveToken is an existing token (never its secret).
type LiveToken struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Automation string            `json:"automation,omitempty"`
	Kind       botgate.TokenKind `json:"kind"`
	// Resource is the project or group of a project or group access token.
	Resource Ref `json:"resource,omitzero"`
	// User is the username of the token's owner: the service account for a
	// service account token, the person for a personal token.
	User        string              `json:"user,omitempty"`
	Scopes      botgate.Scopes      `json:"scopes"`
	AccessLevel botgate.AccessLevel `json:"access_level,omitempty"`
	ExpiresAt   *time.Time          `json:"expires_at,omitempty"`
	CreatedAt   time.Time           `json:"created_at"`
	Revoked     bool                `json:"revoked,omitempty"`
}

// active reports whether the token still works at now.
func (t *LiveToken) active(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// target describes where the token acts, for messages.
func (t *LiveToken) target() string {
	switch t.Kind {
	case botgate.ServiceAccountToken:
		return "service account " + t.User
	case botgate.PersonalToken:
		return "user " + t.User
	}
	return t.Resource.String()
}

// LiveTeamNotify is a team's stored notice destinations. The webhook is
// kept as its digest (WebhookDigest), so that a State can travel and be
// shown without the URL, which may hold a secret.
type LiveTeamNotify struct {
	Team          string   `json:"team"`
	WebhookDigest string   `json:"webhook_digest,omitempty"`
	WebhookShown  string   `json:"webhook,omitempty"`
	Email         []string `json:"email,omitempty"`
}

// WebhookDigest is the digest of a webhook URL that LiveTeamNotify keeps:
// hex SHA-256, "" for no URL.
func WebhookDigest(url string) string {
	if url == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:])
}
