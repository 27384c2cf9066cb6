package apiclient

import (
	"context"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// User is how the CLI shows a user.
type User struct {
	ID        int64      `json:"id"`
	Username  string     `json:"username"`
	Name      string     `json:"name"`
	Email     string     `json:"email,omitempty"`
	State     string     `json:"state"`
	Bot       bool       `json:"bot"`
	IsAdmin   bool       `json:"is_admin"`
	CreatedAt *time.Time `json:"created_at"`
}

func userView(u *gitlab.User) User {
	return User{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, State: u.State, Bot: u.Bot, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt}
}

// CurrentUser is the user the token belongs to.
func (g *GitLab) CurrentUser(ctx context.Context) (User, error) {
	u, resp, err := g.c.Users.CurrentUser(gitlab.WithContext(ctx))
	return one(u, resp, err, "the current user", userView)
}

// UserFilter narrows a user list.
type UserFilter struct {
	Search, Username string
	Humans           bool
}

// Users lists users (administrators).
func (g *GitLab) Users(ctx context.Context, f UserFilter, p Page) ([]User, error) {
	opt := &gitlab.ListUsersOptions{Search: optional(f.Search), Username: optional(f.Username)}
	if f.Humans {
		opt.Humans = gitlab.Ptr(true)
	}
	return collect(p, "the user list", userView, func(lo gitlab.ListOptions) ([]*gitlab.User, *gitlab.Response, error) {
		lo.OrderBy, lo.Sort = oldestFirst() // GitLab's default is newest first
		opt.ListOptions = lo
		return g.c.Users.ListUsers(opt, gitlab.WithContext(ctx))
	})
}

// User returns the user with an ID or username.
func (g *GitLab) User(ctx context.Context, ref string) (User, error) {
	id, err := g.UserID(ctx, ref)
	if err != nil {
		return User{}, err
	}
	u, resp, err := g.c.Users.GetUser(id, nil, gitlab.WithContext(ctx))
	return one(u, resp, err, "user "+ref, userView)
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Username, Name, Email string
	Admin                 bool
}

// CreateUser creates a human user (administrators).
func (g *GitLab) CreateUser(ctx context.Context, n NewUser) (User, error) {
	opt := &gitlab.CreateUserOptions{Username: &n.Username, Name: &n.Name, Email: &n.Email}
	if n.Admin {
		opt.Admin = gitlab.Ptr(true)
	}
	u, resp, err := g.c.Users.CreateUser(opt, gitlab.WithContext(ctx))
	return one(u, resp, err, "the user list", userView)
}

// DeleteUser deletes a user by ID or username; it returns what it deleted,
// for messages.
func (g *GitLab) DeleteUser(ctx context.Context, ref string) (string, error) {
	id, err := g.UserID(ctx, ref)
	if err != nil {
		return "", err
	}
	resp, err := g.c.Users.DeleteUser(id, gitlab.WithContext(ctx))
	return "user " + ref, Explain(err, resp, "user "+ref)
}

// oldestFirst is the order the CLI lists users and projects in: by ID,
// ascending, whatever the server's default.
func oldestFirst() (orderBy, sort string) { return "id", "asc" }
