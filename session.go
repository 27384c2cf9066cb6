package botgate

import "time"

// Session is a person's signed-in web console session. The browser holds
// only a random session id; the store keeps its SHA-256 digest, the person
// and the personal access token they signed in with (by ID, never the
// secret), so that revoking that token, or the person, ends the session.
type Session struct {
	// Digest is the SHA-256 digest of the session id; the id itself is
	// never stored.
	Digest  []byte
	UserID  int64
	TokenID int64
	// CreatedAt bounds the session's absolute lifetime, LastSeenAt its
	// idle time.
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}
