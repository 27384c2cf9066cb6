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

// ParseTokenRef parses a token argument: a numeric ID, or "self" for the
// token in use. 'self' takes no --service-account; verb names the command
// in that refusal.
func ParseTokenRef(ref string, o TokenOwner, verb string) (TokenRef, error) {
	if ref != "self" {
		id, err := ParseID("the token ID", ref)
		return TokenRef{ID: id}, err
	}
	if o.Kind() == KindServiceAccount {
		return TokenRef{}, botgate.Errorf(botgate.KindInvalid, "'self' needs no --service-account: run 'botgate token %s self' with the service account's token", verb)
	}
	return TokenRef{Self: true}, nil
}

// ParseRevokeRef parses the token 'botgate token revoke' names: an ID,
// or "self" for the token in use whatever its kind.
func ParseRevokeRef(args []string, o TokenOwner) (TokenRef, error) {
	if len(args) != 1 {
		return TokenRef{}, botgate.Errorf(botgate.KindInvalid, "give the token ID, or self, or --secret-file")
	}
	if args[0] != "self" {
		id, err := ParseID("the token ID", args[0])
		return TokenRef{ID: id}, err
	}
	if o.Kind() != KindPersonal {
		return TokenRef{}, botgate.Errorf(botgate.KindInvalid, "'self' revokes the token in use, whatever its kind: drop --project, --group and --service-account")
	}
	return TokenRef{Self: true}, nil
}

// CheckState checks a token list's --state.
func (f TokenFilter) CheckState() error {
	if f.State != "" && f.State != "active" && f.State != "inactive" {
		return botgate.Errorf(botgate.KindInvalid, "--state must be active or inactive, not %q", f.State)
	}
	return nil
}

// TokenFlags are a token create's settings as the command line gives
// them.
type TokenFlags struct {
	Name, Scopes, ExpiresAt, Description, AccessLevel string
}

// Parse checks the settings for a token of o and returns what CreateToken
// needs. Its errors are KindInvalid and say what to give.
func (f TokenFlags) Parse(o TokenOwner) (NewToken, error) {
	n := NewToken{Name: f.Name}
	if strings.TrimSpace(f.Name) == "" {
		return n, botgate.Errorf(botgate.KindInvalid, "--name is required: name the automation the token serves, e.g. --name ci-deploy")
	}
	var err error
	if n.Scopes, err = ParseScopes(f.Scopes); err != nil {
		return n, err
	}
	if n.ExpiresAt, err = ParseDate("expires-at", f.ExpiresAt); err != nil {
		return n, err
	}
	switch kind := o.Kind(); {
	case kind == KindProject || kind == KindGroup:
		if f.AccessLevel == "" {
			return n, botgate.Errorf(botgate.KindInvalid, "--access-level is required for a %s access token: the lowest role the automation needs, e.g. reporter to read or developer to push", kind)
		}
		if n.AccessLevel, err = ParseRole(f.AccessLevel); err != nil {
			return n, err
		}
	case f.AccessLevel != "":
		return n, botgate.Errorf(botgate.KindInvalid, "--access-level applies to project and group access tokens only")
	}
	if f.Description != "" {
		n.Description = &f.Description
	}
	return n, nil
}
