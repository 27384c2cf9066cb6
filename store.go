package botgate

import (
	"context"
	"time"
)

// Store persists botgate's state. Every backend (sqlite, postgres) passes
// the same conformance suite in storetest.
//
// All reads and writes happen inside View or Update. The domain rules live
// above the Store (in authority/), so every backend enforces the same rules;
// the Store makes them atomic.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot. Errors from fn are returned unchanged.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed if fn returns
	// nil and rolled back otherwise: nothing is half-written. Errors from fn
	// are returned unchanged. A commit failure is KindInternal, or
	// KindConflict if a concurrent transaction won.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store's resources.
	Close() error
}

// SharedUpdater is a Store whose writers can run side by side. UpdateShared
// is Update for the few changes that stay correct next to each other
// without the store's writer lock: each decides its race with one
// conditional write (a token revoked only if it is not yet, a jti used
// once) and touches only rows of its own. They still exclude, and are
// excluded by, every ordinary Update, so the rules written for serialized
// writers hold against them. A Store without it serializes every writer.
type SharedUpdater interface {
	UpdateShared(ctx context.Context, fn func(Tx) error) error
}

// Tx is one transaction. Its methods return *Error values: KindNotFound for
// a missing row, KindConflict for a unique-key clash or a lost conditional
// write, KindInvalid for a broken reference, KindInternal otherwise. Methods
// that create rows assign the ID to the value passed in.
type Tx interface {
	// CreateUser inserts u. KindConflict if the username or email is taken.
	CreateUser(ctx context.Context, u *User) error
	// User returns the user with the ID, or KindNotFound.
	User(ctx context.Context, id int64) (*User, error)
	// UserByUsername returns the user with the username (case-insensitive),
	// or KindNotFound.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// FindUsers returns the users matching f, in f.Sort order (by ID by
	// default), and the total number that match ignoring f.Page. An
	// unknown Sort is KindInvalid.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// UpdateUser writes every field of u but ID and CreatedAt. KindNotFound,
	// KindConflict as CreateUser.
	UpdateUser(ctx context.Context, u *User) error

	// CreateGroup inserts g, computing nothing: the caller sets FullPath.
	// KindConflict if the full path is taken, KindInvalid if the parent is
	// missing.
	CreateGroup(ctx context.Context, g *Group) error
	// Group returns the group, or KindNotFound.
	Group(ctx context.Context, id int64) (*Group, error)
	// GroupByPath returns the group with the full path (case-insensitive),
	// or KindNotFound.
	GroupByPath(ctx context.Context, fullPath string) (*Group, error)
	// FindGroups returns the groups matching f, ordered by ID, and the total.
	FindGroups(ctx context.Context, f GroupFilter) ([]*Group, int, error)
	// UpdateGroup writes every field of g but ID and CreatedAt.
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup removes an empty group (no subgroups, projects, members).
	// KindNotFound; KindConflict if it is not empty.
	DeleteGroup(ctx context.Context, id int64) error

	// CreateProject inserts p. KindConflict if the path is taken in the
	// namespace, KindInvalid if the namespace is missing.
	CreateProject(ctx context.Context, p *Project) error
	// Project returns the project, or KindNotFound.
	Project(ctx context.Context, id int64) (*Project, error)
	// ProjectByPath returns the project by its path with namespace
	// (case-insensitive), or KindNotFound.
	ProjectByPath(ctx context.Context, fullPath string) (*Project, error)
	// FindProjects returns the projects matching f, ordered by ID, and the total.
	FindProjects(ctx context.Context, f ProjectFilter) ([]*Project, int, error)
	// UpdateProject writes every field of p but ID and CreatedAt.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject removes a project that has no members left.
	// KindNotFound; KindConflict if members remain.
	DeleteProject(ctx context.Context, id int64) error

	// CreateMember inserts m. KindConflict if the user is already a direct
	// member; KindInvalid if the user or resource is missing.
	CreateMember(ctx context.Context, m *Member) error
	// Member returns the user's direct membership of r, or KindNotFound.
	Member(ctx context.Context, r Resource, userID int64) (*Member, error)
	// FindMembers returns direct memberships matching f, ordered by
	// resource then user ID, and the total.
	FindMembers(ctx context.Context, f MemberFilter) ([]*Member, int, error)
	// UpdateMember writes m's AccessLevel and ExpiresAt. KindNotFound.
	UpdateMember(ctx context.Context, m *Member) error
	// DeleteMember removes the membership. KindNotFound.
	DeleteMember(ctx context.Context, r Resource, userID int64) error

	// CreateToken inserts t; if t.FamilyID is 0 it becomes t's own ID.
	// KindConflict on a digest clash; KindInvalid if the user is missing.
	CreateToken(ctx context.Context, t *Token) error
	// Token returns the token, or KindNotFound.
	Token(ctx context.Context, id int64) (*Token, error)
	// TokenByDigest returns the token with the digest, or KindNotFound.
	TokenByDigest(ctx context.Context, digest []byte) (*Token, error)
	// FindTokens returns the tokens matching f, in f.Sort order, and the total.
	FindTokens(ctx context.Context, f TokenFilter) ([]*Token, int, error)
	// RevokeToken marks the token revoked at the time, only if it is not
	// revoked yet: KindConflict if it already was (someone else won),
	// KindNotFound if it does not exist.
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	// RevokeTokenFamily revokes every unrevoked token of the family at the
	// time and returns the IDs it revoked.
	RevokeTokenFamily(ctx context.Context, familyID int64, at time.Time) ([]int64, error)
	// RevokeUserTokens revokes every unrevoked token of the user and
	// returns the IDs it revoked.
	RevokeUserTokens(ctx context.Context, userID int64, at time.Time) ([]int64, error)
	// SuccessorToken returns the token that replaced id by rotation, or
	// KindNotFound.
	SuccessorToken(ctx context.Context, id int64) (*Token, error)
	// RecordTokenUsage merges coalesced usage into the tokens: LastUsedAt
	// only moves forward; IPs and user agents are merged newest first,
	// at most MaxRecentClients each. Unknown token IDs are ignored.
	RecordTokenUsage(ctx context.Context, usage []TokenUsage) error
	// SetTokenAutomation sets the token's Automation label (botgate's own
	// field; "" clears it). KindNotFound if the token does not exist.
	SetTokenAutomation(ctx context.Context, id int64, automation string) error
	// RecordRouteUsage merges coalesced route usage: for each (TokenID,
	// Method, Route) it adds Count, keeps the earliest FirstSeen and the
	// latest LastSeen, and sets Scope from the record with the latest
	// LastSeen. It also adds Count to the token's requests in the hour of
	// LastSeen (see FindHourlyUsage). Unknown token IDs are ignored. Only
	// valid inside Update.
	RecordRouteUsage(ctx context.Context, usage []RouteUsage) error
	// FindHourlyUsage returns the tokens' requests per hour from the hour
	// of since on, with each token's automation label, ordered by hour then
	// token ID.
	FindHourlyUsage(ctx context.Context, since time.Time) ([]HourlyUsage, error)
	// FindRouteUsage returns the token's route usage, most recently seen
	// first (ties by method, then route). An unknown token has none.
	FindRouteUsage(ctx context.Context, tokenID int64) ([]RouteUsage, error)

	// LockAuditLane takes one lane of the audit chain for the rest of the
	// transaction, a lane no other transaction holds if there is one (a
	// single writer always gets lane 0), and returns its head and n new
	// Seq values, increasing, for the events the transaction appends. Only
	// valid inside Update.
	LockAuditLane(ctx context.Context, n int) (AuditHead, []int64, error)
	// AppendAudit inserts a sealed event. KindConflict if its lane already
	// holds an event at its place or its Seq is taken.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AdvanceAuditLane moves the lane's recorded head from from to to,
	// only if it is still from: KindConflict otherwise.
	AdvanceAuditLane(ctx context.Context, from AuditHead, to AuditLane) error
	// AuditLanes returns every lane as recorded, by lane.
	AuditLanes(ctx context.Context) ([]AuditLane, error)
	// FindAudit returns the events matching f in Seq order (descending if
	// asked).
	FindAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)

	// Setting returns a value set by PutSetting, or KindNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// PutSetting stores a value under key, replacing any.
	PutSetting(ctx context.Context, key, value string) error

	// CreateSecret inserts s and sets its ID and Version (1). KindConflict if
	// the owner already has a secret with the name; KindInvalid if the owner
	// group is missing.
	CreateSecret(ctx context.Context, s *Secret) error
	// Secret returns the secret, or KindNotFound.
	Secret(ctx context.Context, id int64) (*Secret, error)
	// SecretByName returns the owner's secret with the name, or KindNotFound.
	SecretByName(ctx context.Context, ownerGroupID int64, name string) (*Secret, error)
	// FindSecrets returns the secrets matching f, ordered by ID, and the total.
	FindSecrets(ctx context.Context, f SecretFilter) ([]*Secret, int, error)
	// UpdateSecret writes s's Description, KeyID, Sealed, BoundFamilyID,
	// BoundAutomation, UpdatedAt and LastReadAt only if the stored Version
	// is still s.Version, and then increments s.Version. KindConflict if the
	// version changed (a concurrent write won); KindNotFound.
	UpdateSecret(ctx context.Context, s *Secret) error
	// DeleteSecret removes the secret. KindNotFound.
	DeleteSecret(ctx context.Context, id int64) error

	// CreateUpstreamCredential inserts c and sets its ID and Version (1).
	// KindConflict if the owner already has one for the automation.
	CreateUpstreamCredential(ctx context.Context, c *UpstreamCredential) error
	// UpstreamCredential returns the credential, or KindNotFound.
	UpstreamCredential(ctx context.Context, id int64) (*UpstreamCredential, error)
	// FindUpstreamCredentials returns the credentials matching f, ordered
	// by ID, and the total.
	FindUpstreamCredentials(ctx context.Context, f UpstreamCredentialFilter) ([]*UpstreamCredential, int, error)
	// UpdateUpstreamCredential writes every field of c but ID, OwnerGroupID,
	// Automation, CreatedByID and CreatedAt, only if the stored Version is
	// still c.Version, and then increments c.Version. KindConflict if the
	// version changed; KindNotFound.
	UpdateUpstreamCredential(ctx context.Context, c *UpstreamCredential) error
	// DeleteUpstreamCredential removes the credential. KindNotFound.
	DeleteUpstreamCredential(ctx context.Context, id int64) error

	// CreateAutomation inserts a and sets its ID. KindConflict if the name
	// is taken; KindInvalid if the owner group is missing.
	CreateAutomation(ctx context.Context, a *Automation) error
	// AutomationByName returns the automation record with the name, or
	// KindNotFound.
	AutomationByName(ctx context.Context, name string) (*Automation, error)
	// FindAutomations returns the automation records matching f, ordered by
	// name, and the total.
	FindAutomations(ctx context.Context, f AutomationFilter) ([]*Automation, int, error)
	// UpdateAutomation writes every field of a but ID, Name and CreatedAt.
	// KindNotFound; KindInvalid if the owner group is missing.
	UpdateAutomation(ctx context.Context, a *Automation) error
	// DeleteAutomation removes the record. KindNotFound.
	DeleteAutomation(ctx context.Context, id int64) error

	// CreateSession inserts a console session. KindConflict if the digest
	// is taken; KindInvalid if the user or token is missing.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByDigest returns the session with the digest, or KindNotFound.
	SessionByDigest(ctx context.Context, digest []byte) (*Session, error)
	// TouchSession moves the session's LastSeenAt forward to at (never
	// back). KindNotFound if there is no such session.
	TouchSession(ctx context.Context, digest []byte, at time.Time) error
	// DeleteSession removes the session. KindNotFound if there is none.
	DeleteSession(ctx context.Context, digest []byte) error
	// DeleteSessions removes every session last seen before idleBefore or
	// created before createdBefore, and returns how many it removed.
	DeleteSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)
	// CreateUpstreamGrant inserts g and sets its ID. KindInvalid if the
	// credential does not exist.
	CreateUpstreamGrant(ctx context.Context, g *UpstreamGrant) error
	// UpstreamGrant returns the grant, or KindNotFound.
	UpstreamGrant(ctx context.Context, id int64) (*UpstreamGrant, error)
	// FindExpiredUpstreamGrants returns up to limit grants not yet revoked
	// whose ExpiresAt is at or before now, oldest expiry first.
	FindExpiredUpstreamGrants(ctx context.Context, now time.Time, limit int) ([]*UpstreamGrant, error)
	// RevokeUpstreamGrant marks the grant revoked at the time, only if it
	// is not revoked yet: KindConflict if it already was, KindNotFound.
	RevokeUpstreamGrant(ctx context.Context, id int64, at time.Time) error

	// UseTokenID records that the identity token issuer gave with the ID
	// jti (its "jti" claim) has been exchanged, in one conditional write:
	// KindConflict if it was recorded before and its record has not yet
	// expired at now (a replay). The record is kept until expiresAt (the
	// token's own expiry); expired records are purged on the way. Only
	// valid inside Update.
	UseTokenID(ctx context.Context, issuer, jti string, expiresAt, now time.Time) error

	// AcquireLease takes or renews the named lease for holder until
	// now+ttl, in one conditional write: it succeeds if nobody holds the
	// lease, if holder already holds it, or if the lease expired before
	// now. KindConflict (naming the current holder) if someone else holds
	// it; KindInvalid for an empty name or holder or a ttl <= 0.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease up if holder holds it; otherwise it
	// does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error

	NoticeTx
}
