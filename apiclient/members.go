package apiclient

import (
	"context"
	"fmt"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Member is how the CLI shows a member of a project or group.
type Member struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	AccessLevel int64   `json:"access_level"`
	Role        string  `json:"role"`
	ExpiresAt   *string `json:"expires_at"`
}

func memberView(id int64, username, name, state string, l gitlab.AccessLevelValue, exp *gitlab.ISOTime) Member {
	return Member{ID: id, Username: username, Name: name, State: state,
		AccessLevel: int64(l), Role: RoleName(l), ExpiresAt: dateString(exp)}
}

func projectMemberView(x *gitlab.ProjectMember) Member {
	return memberView(x.ID, x.Username, x.Name, x.State, x.AccessLevel, x.ExpiresAt)
}

func groupMemberView(x *gitlab.GroupMember) Member {
	return memberView(x.ID, x.Username, x.Name, x.State, x.AccessLevel, x.ExpiresAt)
}

// Namespace is a project or a group, by ID or path: exactly one is set.
type Namespace struct{ Project, Group string }

// String names the namespace for messages.
func (n Namespace) String() string {
	if n.Project != "" {
		return Describe("project", n.Project)
	}
	return Describe("group", n.Group)
}

// Members lists the direct members of a project or group.
func (g *GitLab) Members(ctx context.Context, n Namespace, p Page) ([]Member, error) {
	if n.Project != "" {
		opt := &gitlab.ListProjectMembersOptions{}
		return collect(p, n.String(), projectMemberView, func(lo gitlab.ListOptions) ([]*gitlab.ProjectMember, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.ProjectMembers.ListProjectMembers(IDOrPath(n.Project), opt, gitlab.WithContext(ctx))
		})
	}
	opt := &gitlab.ListGroupMembersOptions{}
	return collect(p, n.String(), groupMemberView, func(lo gitlab.ListOptions) ([]*gitlab.GroupMember, *gitlab.Response, error) {
		opt.ListOptions = lo
		return g.c.Groups.ListGroupMembers(IDOrPath(n.Group), opt, gitlab.WithContext(ctx))
	})
}

// Membership is a member's role and expiry; nil fields are not set.
type Membership struct {
	AccessLevel *gitlab.AccessLevelValue
	ExpiresAt   *string
}

// AddMember adds a user (ID or username) to a project or group.
func (g *GitLab) AddMember(ctx context.Context, n Namespace, user string, m Membership) (Member, error) {
	uid, err := g.UserID(ctx, user)
	if err != nil {
		return Member{}, err
	}
	what := n.String() + " or user " + user
	if n.Project != "" {
		x, resp, err := g.c.ProjectMembers.AddProjectMember(IDOrPath(n.Project), &gitlab.AddProjectMemberOptions{UserID: uid, AccessLevel: m.AccessLevel, ExpiresAt: m.ExpiresAt}, gitlab.WithContext(ctx))
		return one(x, resp, err, what, projectMemberView)
	}
	x, resp, err := g.c.GroupMembers.AddGroupMember(IDOrPath(n.Group), &gitlab.AddGroupMemberOptions{UserID: &uid, AccessLevel: m.AccessLevel, ExpiresAt: m.ExpiresAt}, gitlab.WithContext(ctx))
	return one(x, resp, err, what, groupMemberView)
}

// UpdateMember changes a member's role or expiry.
func (g *GitLab) UpdateMember(ctx context.Context, n Namespace, user string, m Membership) (Member, error) {
	uid, err := g.UserID(ctx, user)
	if err != nil {
		return Member{}, err
	}
	what := fmt.Sprintf("member %s of %s", user, n)
	if n.Project != "" {
		x, resp, err := g.c.ProjectMembers.EditProjectMember(IDOrPath(n.Project), uid, &gitlab.EditProjectMemberOptions{AccessLevel: m.AccessLevel, ExpiresAt: m.ExpiresAt}, gitlab.WithContext(ctx))
		return one(x, resp, err, what, projectMemberView)
	}
	x, resp, err := g.c.GroupMembers.EditGroupMember(IDOrPath(n.Group), uid, &gitlab.EditGroupMemberOptions{AccessLevel: m.AccessLevel, ExpiresAt: m.ExpiresAt}, gitlab.WithContext(ctx))
	return one(x, resp, err, what, groupMemberView)
}

// RemoveMember removes a user from a project or group; it returns the
// user's ID.
func (g *GitLab) RemoveMember(ctx context.Context, n Namespace, user string) (int64, error) {
	uid, err := g.UserID(ctx, user)
	if err != nil {
		return 0, err
	}
	var resp *gitlab.Response
	if n.Project != "" {
		resp, err = g.c.ProjectMembers.DeleteProjectMember(IDOrPath(n.Project), uid, gitlab.WithContext(ctx))
	} else {
		resp, err = g.c.GroupMembers.RemoveGroupMember(IDOrPath(n.Group), uid, nil, gitlab.WithContext(ctx))
	}
	return uid, Explain(err, resp, fmt.Sprintf("member %s of %s", user, n))
}
