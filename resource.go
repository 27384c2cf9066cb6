package botgate

import (
	"strconv"
	"time"
)

// ResourceType names what a membership or a resource token is on.
type ResourceType string

// The resource types.
const (
	ProjectResource ResourceType = "project"
	GroupResource   ResourceType = "group"
)

// Resource points at a project or a group.
type Resource struct {
	Type ResourceType
	ID   int64
}

// IsZero reports whether r points at nothing.
func (r Resource) IsZero() bool { return r.Type == "" && r.ID == 0 }

func (r Resource) String() string {
	if r.IsZero() {
		return ""
	}
	return string(r.Type) + ":" + strconv.FormatInt(r.ID, 10)
}

// Visibility is a group's or project's visibility, as GitLab names it.
type Visibility string

// The visibilities.
const (
	Private  Visibility = "private"
	Internal Visibility = "internal"
	Public   Visibility = "public"
)

// Valid reports whether v is a known visibility.
func (v Visibility) Valid() bool { return v == Private || v == Internal || v == Public }

// Group is a team: it holds members, subgroups and projects, and owns
// service accounts and vault secrets.
type Group struct {
	ID          int64
	Name        string
	Path        string
	FullPath    string // parent's full path + "/" + Path
	ParentID    int64  // 0 for a top-level group
	Description string
	Visibility  Visibility
	CreatedAt   time.Time
}

// GroupFilter selects groups. Zero fields do not filter.
type GroupFilter struct {
	IDs      []int64
	ParentID *int64 // pointer to 0 selects top-level groups
	Search   string
	// MemberID selects groups the user is a direct member of.
	MemberID int64
	// VisibleTo, if set, selects the groups the viewer may see.
	VisibleTo *Viewer
	Page
}

// Project is a code project inside a group (its namespace).
type Project struct {
	ID                int64
	Name              string
	Path              string
	PathWithNamespace string
	NamespaceID       int64 // the group it lives in
	Description       string
	Visibility        Visibility
	DefaultBranch     string
	CreatedAt         time.Time
}

// ProjectFilter selects projects. Zero fields do not filter.
type ProjectFilter struct {
	IDs         []int64
	NamespaceID int64
	// IncludeSubgroups widens NamespaceID to the projects of the group's
	// subgroups too, at any depth (at most 32 groups down).
	IncludeSubgroups bool
	Search           string
	MemberID         int64 // projects the user is a direct member of
	// VisibleTo, if set, selects the projects the viewer may see.
	VisibleTo *Viewer
	// IDAfter and IDBefore, if not zero, select the projects whose ID is
	// greater, or smaller (keyset pagination).
	IDAfter, IDBefore int64
	// Order is "id" (the default), "name", "path" or "created_at",
	// ascending unless Desc; ties are broken by ID, in the same direction.
	Order OrderBy
	Page
}

// Viewer is someone who is not an administrator, for whom a list of groups
// or projects is filtered. A viewer sees every public group and project;
// a signed-in one (UserID not zero) also every internal one, and every
// private one it is a member of at At, directly or through a group above
// it (at most 32 groups up). A membership that expires at or before At
// does not count.
type Viewer struct {
	UserID int64
	At     time.Time
}

// Member gives a user an access level on a group or a project. A group
// membership also applies to the group's subgroups and projects.
type Member struct {
	Resource    Resource
	UserID      int64
	AccessLevel AccessLevel
	ExpiresAt   *time.Time // a date (00:00 UTC), or nil
	CreatedByID int64
	CreatedAt   time.Time
}

// MemberFilter selects memberships. Zero fields do not filter.
type MemberFilter struct {
	Resource *Resource
	// Inherited, with Resource, selects the memberships of Resource and of
	// every group above it (at most 32 up), one per user: the highest
	// access level, the nearest membership among equals. It is GitLab's
	// members/all. The rows are ordered by user ID.
	Inherited bool
	UserID    int64
	// ActiveAt, if set, selects the memberships that have not expired at
	// that time (no expiry, or an expiry after it).
	ActiveAt *time.Time
	Page
}

// ValidatePath checks a group or project path segment.
func ValidatePath(field, s string) error {
	if s == "" {
		return Invalid(field, "%s is missing", field)
	}
	if !pathShape.match(s) || s[len(s)-1] == '.' || hasSuffixFold(s, ".git") || hasSuffixFold(s, ".atom") {
		return Invalid(field, "%s %q can contain only letters, digits, '_', '-' and '.'; it cannot start with '-' or '.', nor end in '.', '.git' or '.atom'", field, s)
	}
	return nil
}

// ValidateName checks a group or project display name.
func ValidateName(field, s string) error {
	if s == "" {
		return Invalid(field, "%s is missing", field)
	}
	if !displayNameShape.match(s) {
		return Invalid(field, "%s %q can contain only letters, digits, emoji, '_', '.', dash, space and parentheses, and must start with a letter, digit or '_'", field, s)
	}
	return nil
}

// Page asks for one page of results. Limit 0 means no limit.
type Page struct {
	Offset int
	Limit  int
}
