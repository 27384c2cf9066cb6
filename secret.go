package botgate

import (
	"strings"
	"time"
)

// Audit actions of the vault, the upstream broker and the rotation
// scheduler. Their details name secrets by id, owner, name and master key
// id; they never hold a value.
const (
	ActionSecretCreate     = "secret.create"
	ActionSecretUpdate     = "secret.update"
	ActionSecretRead       = "secret.read"
	ActionSecretReadDenied = "secret.read_denied"
	ActionSecretDenied     = "secret.write_denied"
	ActionSecretBind       = "secret.bind"
	ActionSecretDelete     = "secret.delete"
	ActionSecretCorrupt    = "secret.corrupt"
	ActionSecretRewrap     = "secret.rewrap"
	ActionVaultRotated     = "vault.master_key_rotated"

	ActionUpstreamCreate       = "upstream.create"
	ActionUpstreamMint         = "upstream.mint"
	ActionUpstreamMintFailed   = "upstream.mint_failed"
	ActionUpstreamRotate       = "upstream.rotate"
	ActionUpstreamRotateFailed = "upstream.rotate_failed"
	ActionUpstreamRevoke       = "upstream.revoke"
	ActionUpstreamRevokeFailed = "upstream.revoke_failed"
	ActionUpstreamExpiring     = "upstream.expiring_notified"
)

// Secret is a vault secret: its metadata and its sealed value, the bytes of
// vault.Sealed.MarshalBinary. The plaintext is never a field: only the vault
// package, holding the master key, can open Sealed, and only for the secret
// whose id, owner and name it was sealed for.
type Secret struct {
	ID           int64
	OwnerGroupID int64 // the team that owns the secret
	Name         string
	Description  string
	KeyID        string // the master key that wraps the data key, 16 hex digits
	Sealed       []byte
	// BoundFamilyID is the token family (Token.FamilyID) of the automation
	// token that may read the secret, 0 if none. A binding to a family
	// survives rotation and ends with the family's revocation.
	BoundFamilyID int64
	// BoundAutomation is the bound token's automation, for display.
	BoundAutomation string
	CreatedByID     int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastReadAt      *time.Time
	// Version is bumped by every write; UpdateSecret is conditional on it.
	Version int64
}

// SecretFilter selects secrets. Zero fields do not filter.
type SecretFilter struct {
	IDs           []int64
	OwnerGroupID  int64
	BoundFamilyID int64
	// NotKeyID selects secrets whose data key is wrapped by another master
	// key than this one (the batches of a master key rotation).
	NotKeyID string
	// AfterID selects secrets with ID > AfterID (keyset paging).
	AfterID int64
	Page
}

// ValidateSecretName checks a secret's name: letters, digits, '_', '.' and
// '-', at most 128 characters, not starting with '.' or '-'. A name has no
// '/', so that "vault:<group-path>/<name>" names one secret.
func ValidateSecretName(name string) error {
	if name == "" {
		return Invalid("name", "name is missing")
	}
	if !secretNameShape.match(name) {
		return Invalid("name", "name %q can contain only letters, digits, '_', '.' and '-' (at most 128), and cannot start with '.' or '-'", name)
	}
	return nil
}

// SecretRef is a reference to a vault secret by its owner's full path and
// its name, written "vault:<group-path>/<name>".
type SecretRef struct {
	GroupPath string
	Name      string
}

// SecretRefPrefix starts every secret reference.
const SecretRefPrefix = "vault:"

// ParseSecretRef parses "vault:<group-path>/<name>". KindInvalid for
// anything else.
func ParseSecretRef(s string) (SecretRef, error) {
	rest, ok := strings.CutPrefix(s, SecretRefPrefix)
	if !ok {
		return SecretRef{}, Invalid("ref", "a secret reference looks like vault:<group-path>/<name>")
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return SecretRef{}, Invalid("ref", "a secret reference looks like vault:<group-path>/<name>")
	}
	ref := SecretRef{GroupPath: rest[:i], Name: rest[i+1:]}
	for _, seg := range strings.Split(ref.GroupPath, "/") {
		if err := ValidatePath("ref", seg); err != nil {
			return SecretRef{}, Invalid("ref", "secret reference %q: bad group path", s)
		}
	}
	if err := ValidateSecretName(ref.Name); err != nil {
		return SecretRef{}, Invalid("ref", "secret reference %q: bad secret name", s)
	}
	return ref, nil
}

func (r SecretRef) String() string { return SecretRefPrefix + r.GroupPath + "/" + r.Name }

// UpstreamState is the life-cycle state of an upstream credential.
type UpstreamState string

// The upstream credential states.
const (
	UpstreamPending UpstreamState = "pending" // registered, not minted yet (or minting failed)
	UpstreamActive  UpstreamState = "active"  // minted and stored in the vault
	UpstreamRevoked UpstreamState = "revoked" // revoked upstream; kept for the record
)

// UpstreamCredential is a token that botgate minted on an upstream GitLab
// for one automation, kept in the vault and rotated before it expires. The
// upstream admin or owner credential that mints it is another vault secret
// (AdminSecretID), which the broker uses and never returns.
type UpstreamCredential struct {
	ID           int64
	OwnerGroupID int64  // the team that owns the automation
	Automation   string // unique per owner
	UpstreamURL  string // the upstream GitLab's base URL, e.g. https://gitlab.example.com
	// AdminSecretID is the vault secret holding the upstream credential
	// that mints (an admin's or a project/group owner's token).
	AdminSecretID int64
	// SecretID is the vault secret that holds the minted token.
	SecretID int64
	// Kind is ProjectAccessToken, GroupAccessToken or ServiceAccountToken.
	Kind TokenKind
	// Target is the upstream project (for project access tokens) or group
	// (for group access tokens and group service accounts): a numeric id or
	// a full path.
	Target string
	// ServiceAccountID is the upstream service account user, for
	// ServiceAccountToken; 0 lets the broker create one.
	ServiceAccountID int64
	TokenName        string
	Scopes           Scopes
	AccessLevel      AccessLevel
	// Lifetime is how long each minted token lives (its expiry date is
	// today + Lifetime, at least one day).
	Lifetime time.Duration
	// RotateBefore is the lead time: the scheduler rotates the token when
	// its expiry is at most this far away.
	RotateBefore time.Duration
	// AutoRotate lets the scheduler rotate the token.
	AutoRotate bool
	// Notify is the webhook URL told about tokens expiring soon ("" for none).
	Notify string

	State           UpstreamState
	UpstreamTokenID int64 // the current token's id upstream
	ExpiresAt       *time.Time
	// PendingRevokeID is an upstream token id that was replaced and still
	// has to be revoked upstream (0 if none).
	PendingRevokeID int64
	Attempts        int        // consecutive failed attempts
	NextAttemptAt   *time.Time // no retry before this time
	LastError       string     // the last failure, safe to show (never a secret)
	NotifiedAt      *time.Time // when owners were last told about expiry
	CreatedByID     int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version is bumped by every write; UpdateUpstreamCredential is
	// conditional on it.
	Version int64
}

// UpstreamCredentialFilter selects upstream credentials. Zero fields do not
// filter.
type UpstreamCredentialFilter struct {
	IDs          []int64
	OwnerGroupID int64
	Automation   string
	States       []UpstreamState
	Page
}

// UpstreamGrant is a short-lived upstream token the broker minted for one
// job (a workload identity exchange in upstream mode): botgate revokes it
// upstream when the job ends or ExpiresAt passes, whichever comes first.
// The token's value is handed to the job and never stored.
type UpstreamGrant struct {
	ID              int64
	CredentialID    int64 // the automation's upstream credential
	UpstreamTokenID int64
	// Subject is the workload's identity ("sub" of its identity token).
	Subject   string
	ExpiresAt time.Time
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Audit actions of upstream grants.
const (
	ActionUpstreamGrant       = "upstream.grant"
	ActionUpstreamGrantRevoke = "upstream.grant_revoke"
)

// Lease is a named, time-limited lock held in the store, so that one of
// several botgate servers sharing a database runs a job.
type Lease struct {
	Name      string
	Holder    string
	ExpiresAt time.Time
}
