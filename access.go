package botgate

import "fmt"

// AccessLevel is a member's role on a group or project, with GitLab's values.
type AccessLevel int

// The access levels.
const (
	NoAccess          AccessLevel = 0
	MinimalAccess     AccessLevel = 5
	GuestAccess       AccessLevel = 10
	PlannerAccess     AccessLevel = 15
	ReporterAccess    AccessLevel = 20
	DeveloperAccess   AccessLevel = 30
	MaintainerAccess  AccessLevel = 40
	OwnerAccess       AccessLevel = 50
	DefaultTokenLevel             = MaintainerAccess
)

var accessNames = map[AccessLevel]string{
	NoAccess:         "No access",
	MinimalAccess:    "Minimal Access",
	GuestAccess:      "Guest",
	PlannerAccess:    "Planner",
	ReporterAccess:   "Reporter",
	DeveloperAccess:  "Developer",
	MaintainerAccess: "Maintainer",
	OwnerAccess:      "Owner",
}

func (a AccessLevel) String() string {
	if n, ok := accessNames[a]; ok {
		return n
	}
	return fmt.Sprintf("AccessLevel(%d)", int(a))
}

// ValidMemberLevel reports whether a may be given to a member
// (10, 15, 20, 30, 40, 50; 5 for group members only).
func (a AccessLevel) ValidMemberLevel() bool {
	switch a {
	case GuestAccess, PlannerAccess, ReporterAccess, DeveloperAccess, MaintainerAccess, OwnerAccess:
		return true
	}
	return false
}

// ValidTokenLevel reports whether a may be given to a project or group access
// token (the same set as members).
func (a AccessLevel) ValidTokenLevel() bool { return a.ValidMemberLevel() }
