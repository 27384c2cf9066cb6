package apiclient

import (
	"strconv"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// The parsers below read what a user types for a flag; their errors are
// KindInvalid and name the flag.

// ParseDate parses a YYYY-MM-DD flag such as --expires-at; "" is nil.
func ParseDate(flag, s string) (*gitlab.ISOTime, error) {
	if s == "" {
		return nil, nil
	}
	t, err := gitlab.ParseISOTime(s)
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInvalid, "--%s must be a date like 2027-12-31, not %q", flag, s)
	}
	return &t, nil
}

// ParseRole parses --access-level: a role name or its number.
func ParseRole(s string) (*gitlab.AccessLevelValue, error) {
	l, ok := ParseAccessLevel(s)
	if !ok {
		return nil, botgate.Errorf(botgate.KindInvalid, "--access-level must be guest, planner, reporter, developer, maintainer or owner (or 10, 15, 20, 30, 40, 50), not %q", s)
	}
	return &l, nil
}

// ParseScopes splits a comma-separated --scopes list; it must name one.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, botgate.Errorf(botgate.KindInvalid, "--scopes is required: a comma-separated list such as read_api or api,read_repository")
	}
	return out, nil
}

// ParseMembership parses a member's --access-level and --expires-at; the
// level is required unless optional.
func ParseMembership(level, expires string, required bool) (Membership, error) {
	var m Membership
	var err error
	if level == "" && required {
		return m, botgate.Errorf(botgate.KindInvalid, "--access-level is required: guest, planner, reporter, developer, maintainer or owner")
	}
	if level != "" {
		if m.AccessLevel, err = ParseRole(level); err != nil {
			return m, err
		}
	}
	if _, err := ParseDate("expires-at", expires); err != nil {
		return m, err
	}
	m.ExpiresAt = optional(expires)
	return m, nil
}

// ParseID parses a positive numeric ID; what names it in the error.
func ParseID(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, botgate.Errorf(botgate.KindInvalid, "%s must be a positive number, not %q", what, s)
	}
	return n, nil
}

// ParseTokenOwner checks the flags that say whose tokens a command is
// about: --project or --group, --service-account and --user (user IDs).
func ParseTokenOwner(project, group, serviceAccount, user string) (TokenOwner, error) {
	o := TokenOwner{Project: project, Group: group}
	var err error
	switch {
	case project != "" && group != "":
		return o, botgate.Errorf(botgate.KindInvalid, "give --project or --group, not both")
	case serviceAccount != "" && user != "":
		return o, botgate.Errorf(botgate.KindInvalid, "give --service-account or --user, not both")
	case serviceAccount != "":
		o.ServiceAccount, err = ParseID("--service-account", serviceAccount)
	case user != "" && (project != "" || group != ""):
		return o, botgate.Errorf(botgate.KindInvalid, "--user is for personal access tokens; drop --project/--group")
	case user != "":
		o.User, err = ParseID("--user", user)
	}
	return o, err
}
