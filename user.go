package botgate

import (
	"time"
)

// UserKind says what sort of identity a User is.
type UserKind string

// The user kinds.
const (
	HumanUser      UserKind = "human"
	ProjectBot     UserKind = "project_bot"
	GroupBot       UserKind = "group_bot"
	ServiceAccount UserKind = "service_account"
)

// Bot reports whether the kind is a machine identity.
func (k UserKind) Bot() bool { return k != HumanUser }

// UserState is whether a user may authenticate.
type UserState string

// The user states. Only active users authenticate.
const (
	UserActive      UserState = "active"
	UserDeactivated UserState = "deactivated"
	UserBlocked     UserState = "blocked"
)

// User is an identity: a person, a project or group bot, or a service account.
type User struct {
	// The fields every request reads come first (see Token).
	ID       int64
	Admin    bool
	State    UserState
	Kind     UserKind
	Username string
	Name     string
	Email    string
	// Owner is the resource a bot belongs to (its project or group), or the
	// team (group) or project that owns a service account. Zero for humans
	// and instance-level service accounts.
	Owner       Resource
	CreatedByID int64
	CreatedAt   time.Time
}

// Active reports whether the user may authenticate.
func (u *User) Active() bool { return u.State == UserActive }

// UserFilter selects users. Zero fields do not filter.
type UserFilter struct {
	IDs      []int64
	Username string
	Search   string // matches username, name or email
	// NameSearch matches username or name only, for those who may not
	// search by e-mail address.
	NameSearch string
	Kinds      []UserKind
	Owner      *Resource
	Admin      *bool
	State      UserState
	// Order is "id" (the default), "name", "username" or "created_at",
	// ascending unless Desc; ties are broken by ID, in the same direction.
	// Names and usernames sort by their bytes, whatever the database's
	// locale. An unknown field is KindInvalid.
	Order OrderBy
	Page
}

// OrderBy orders a list by a field, ascending unless Desc.
type OrderBy struct {
	Field string
	Desc  bool
}

// ValidateUsername checks a username the way GitLab does (letters, digits,
// '_', '.', '-'; not starting with '.' or '-'; not ending in '.' or '.git').
func ValidateUsername(s string) error {
	if s == "" {
		return Invalid("username", "username is missing")
	}
	if !usernameShape.match(s) || s[len(s)-1] == '.' || hasSuffixFold(s, ".git") || hasSuffixFold(s, ".atom") {
		return Invalid("username", "username %q can contain only letters, digits, '_', '-' and '.', and cannot start with '-' or '.', or end in '.', '.git' or '.atom'", s)
	}
	return nil
}

func hasSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	tail := s[len(s)-len(suffix):]
	for i := range len(suffix) {
		c := tail[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != suffix[i] {
			return false
		}
	}
	return true
}
