package botgate

import (
	"strings"
	"time"
	"unicode/utf8"
)

// TokenKind says what a token was issued as.
type TokenKind string

// The token kinds.
const (
	PersonalToken       TokenKind = "personal"        // a human's personal access token
	ProjectAccessToken  TokenKind = "project_access"  // proves a project bot
	GroupAccessToken    TokenKind = "group_access"    // proves a group bot
	ServiceAccountToken TokenKind = "service_account" // a service account's personal access token
)

// Token is an access token. Its secret is never stored: only Digest, an
// HMAC of the secret under a server-side pepper.
type Token struct {
	// The fields every request reads come first, so that they share the
	// first 64 bytes (one CPU cache line) of a cached token: over many
	// active tokens, each further line read is a miss of the CPU caches.
	ID int64
	// FamilyID is the ID of the first token of the rotation chain.
	FamilyID  int64
	Revoked   bool
	ExpiresAt *time.Time // a date (00:00 UTC), or nil for no expiry
	// Automation names the automation the token serves (botgate's addition).
	Automation string
	Scopes     Scopes

	UserID      int64
	Kind        TokenKind
	Name        string
	Description string
	// AccessLevel and Resource are set for project and group access tokens.
	AccessLevel AccessLevel
	Resource    Resource
	Digest      []byte
	RevokedAt   *time.Time
	CreatedAt   time.Time
	CreatedByID int64
	LastUsedAt  *time.Time
	// LastUsedIPs and UserAgents are the most recent distinct client
	// addresses and user agents (fingerprints), newest first, bounded.
	LastUsedIPs []string
	UserAgents  []string
	// PreviousID is the token this one replaced by rotation, 0 if none.
	PreviousID int64
}

// MaxRecentClients bounds LastUsedIPs and UserAgents.
const MaxRecentClients = 10

// Expired reports whether the token has expired at now. A token expires at
// 00:00 UTC on its expiry date.
func (t *Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Active reports whether the token is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool { return !t.Revoked && !t.Expired(now) }

// Workload reports whether the token was given for a workload identity: it
// lives MaxWorkloadTTL or less from its creation. No other token does (the
// API gives expiry dates, at least a day ahead), so the rule needs no mark
// of its own. Such a token is never rotated: its life would be counted in
// days; the workload exchanges a new identity token instead.
func (t *Token) Workload() bool {
	return t.ExpiresAt != nil && t.ExpiresAt.Sub(t.CreatedAt) <= MaxWorkloadTTL
}

// State is "active" or "inactive", as GitLab reports it.
func (t *Token) State(now time.Time) string {
	if t.Active(now) {
		return "active"
	}
	return "inactive"
}

// TokenFilter selects tokens. Zero fields do not filter.
type TokenFilter struct {
	IDs        []int64
	UserID     int64
	Kinds      []TokenKind
	Resource   *Resource
	FamilyID   int64
	Revoked    *bool
	Search     string // substring of the name
	Automation string
	// Automations selects the tokens labelled with any of the names.
	Automations   []string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	ExpiresAfter  *time.Time
	ExpiresBefore *time.Time
	// NeverExpires selects the tokens without an expiry date.
	NeverExpires   bool
	LastUsedAfter  *time.Time
	LastUsedBefore *time.Time
	// Active, if set, selects the tokens that are (true) or are not (false)
	// active at At: neither revoked nor expired.
	Active *bool
	At     time.Time
	// Sort is one of "created_asc", "created_desc" (default), "expires_asc",
	// "expires_desc", "last_used_asc", "last_used_desc", "name_asc", "name_desc".
	Sort string
	Page
}

// TokenUsage is a coalesced record of a token's recent use, applied to the
// store in batches.
type TokenUsage struct {
	TokenID    int64
	LastUsedAt time.Time
	IPs        []string // newest first
	UserAgents []string // newest first
}

// MergeRecent puts the newer values in front of old, without duplicates,
// keeping at most max values.
func MergeRecent(newer, old []string, max int) []string {
	out := make([]string, 0, min(len(newer)+len(old), max))
	seen := make(map[string]bool, len(newer)+len(old))
	for _, list := range [][]string{newer, old} {
		for _, v := range list {
			if v == "" || seen[v] || len(out) == max {
				continue
			}
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// MaxTokenNameLength is the longest token name accepted, as GitLab's.
const MaxTokenNameLength = 255

// ValidateTokenName checks a token name.
func ValidateTokenName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalid("name", "name is missing")
	}
	if utf8.RuneCountInString(name) > MaxTokenNameLength {
		return Invalid("name", "name is too long (maximum is %d characters)", MaxTokenNameLength)
	}
	if strings.ContainsAny(name, "\x00\r\n") {
		return Invalid("name", "name must not contain control characters")
	}
	return nil
}

// Date returns t's calendar date in UTC as 00:00 UTC of that day.
func Date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DateFormat is the layout of dates on the wire ("2026-11-24").
const DateFormat = "2006-01-02"
