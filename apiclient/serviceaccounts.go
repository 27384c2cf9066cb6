package apiclient

import (
	"context"
	"fmt"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// ServiceAccount is how the CLI shows a service account.
type ServiceAccount struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
}

func groupSAView(x *gitlab.GroupServiceAccount) ServiceAccount {
	return ServiceAccount{ID: x.ID, Username: x.UserName, Name: x.Name, Email: x.Email}
}

func projectSAView(x *gitlab.ProjectServiceAccount) ServiceAccount {
	return ServiceAccount{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
}

func instanceSAView(x *gitlab.ServiceAccount) ServiceAccount {
	return ServiceAccount{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
}

func userSAView(x *gitlab.User) ServiceAccount {
	return ServiceAccount{ID: x.ID, Username: x.Username, Name: x.Name, Email: x.Email}
}

// Owner is where service accounts live: a group, a project, or the
// instance (neither; administrators only).
type Owner struct{ Project, Group string }

// String names the owner for messages.
func (o Owner) String() string {
	switch {
	case o.Group != "":
		return Describe("group", o.Group)
	case o.Project != "":
		return Describe("project", o.Project)
	}
	return "the instance's service accounts"
}

// ServiceAccounts lists an owner's service accounts.
func (g *GitLab) ServiceAccounts(ctx context.Context, o Owner, p Page) ([]ServiceAccount, error) {
	switch {
	case o.Group != "":
		opt := &gitlab.ListServiceAccountsOptions{}
		return collect(p, o.String(), groupSAView, func(lo gitlab.ListOptions) ([]*gitlab.GroupServiceAccount, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.Groups.ListServiceAccounts(IDOrPath(o.Group), opt, gitlab.WithContext(ctx))
		})
	case o.Project != "":
		opt := &gitlab.ListProjectServiceAccountsOptions{}
		return collect(p, o.String(), projectSAView, func(lo gitlab.ListOptions) ([]*gitlab.ProjectServiceAccount, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.Projects.ListProjectServiceAccounts(IDOrPath(o.Project), opt, gitlab.WithContext(ctx))
		})
	}
	opt := &gitlab.ListServiceAccountsOptions{}
	return collect(p, o.String(), instanceSAView, func(lo gitlab.ListOptions) ([]*gitlab.ServiceAccount, *gitlab.Response, error) {
		opt.ListOptions = lo
		return g.c.Users.ListServiceAccounts(opt, gitlab.WithContext(ctx))
	})
}

// AccountEdit is a service account's name, username and e-mail; nil fields
// are left to the server (on create) or unchanged (on update).
type AccountEdit struct{ Name, Username, Email *string }

// CreateServiceAccount creates a service account owned by o.
func (g *GitLab) CreateServiceAccount(ctx context.Context, o Owner, e AccountEdit) (ServiceAccount, error) {
	c := gitlab.WithContext(ctx)
	switch {
	case o.Group != "":
		x, resp, err := g.c.Groups.CreateServiceAccount(IDOrPath(o.Group), &gitlab.CreateServiceAccountOptions{Name: e.Name, Username: e.Username, Email: e.Email}, c)
		return one(x, resp, err, o.String(), groupSAView)
	case o.Project != "":
		x, resp, err := g.c.Projects.CreateProjectServiceAccount(IDOrPath(o.Project), &gitlab.CreateProjectServiceAccountOptions{Name: e.Name, Username: e.Username, Email: e.Email}, c)
		return one(x, resp, err, o.String(), projectSAView)
	}
	x, resp, err := g.c.Users.CreateServiceAccountUser(&gitlab.CreateServiceAccountUserOptions{Name: e.Name, Username: e.Username, Email: e.Email}, c)
	return one(x, resp, err, o.String(), userSAView)
}

// UpdateServiceAccount changes a group's or project's service account.
func (g *GitLab) UpdateServiceAccount(ctx context.Context, o Owner, id int64, e AccountEdit) (ServiceAccount, error) {
	c := gitlab.WithContext(ctx)
	what := fmt.Sprintf("service account %d of %s", id, o)
	if o.Group != "" {
		x, resp, err := g.c.Groups.UpdateServiceAccount(IDOrPath(o.Group), id, &gitlab.UpdateServiceAccountOptions{Name: e.Name, Username: e.Username, Email: e.Email}, c)
		return one(x, resp, err, what, groupSAView)
	}
	x, resp, err := g.c.Projects.UpdateProjectServiceAccount(IDOrPath(o.Project), id, &gitlab.UpdateProjectServiceAccountOptions{Name: e.Name, Username: e.Username, Email: e.Email}, c)
	return one(x, resp, err, what, projectSAView)
}

// DeleteServiceAccount deletes a group's or project's service account and
// its tokens; it returns what it deleted, for messages.
func (g *GitLab) DeleteServiceAccount(ctx context.Context, o Owner, id int64) (string, error) {
	what := fmt.Sprintf("service account %d of %s", id, o)
	var resp *gitlab.Response
	var err error
	if o.Group != "" {
		resp, err = g.c.Groups.DeleteServiceAccount(IDOrPath(o.Group), id, nil, gitlab.WithContext(ctx))
	} else {
		resp, err = g.c.Projects.DeleteProjectServiceAccount(IDOrPath(o.Project), id, nil, gitlab.WithContext(ctx))
	}
	return what, Explain(err, resp, what)
}

// Check refuses an owner given as both a group and a project; required
// also refuses neither (the instance). Its errors are KindInvalid.
func (o Owner) Check(required bool) error {
	switch {
	case required && (o.Group == "") == (o.Project == ""):
		return botgate.Errorf(botgate.KindInvalid, "give exactly one of --group or --project")
	case o.Group != "" && o.Project != "":
		return botgate.Errorf(botgate.KindInvalid, "give --group or --project, not both")
	}
	return nil
}
