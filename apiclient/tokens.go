package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Token kinds as the CLI reports them.
const (
	KindPersonal       = "personal"
	KindProject        = "project"
	KindGroup          = "group"
	KindServiceAccount = "service_account"
)

// Token is how the CLI shows a token. Token holds the secret and is set
// only on create and rotate; TokenFile says where the CLI wrote it instead.
type Token struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Kind        string     `json:"kind"`
	Scopes      []string   `json:"scopes"`
	UserID      int64      `json:"user_id"`
	AccessLevel int64      `json:"access_level,omitempty"`
	Active      bool       `json:"active"`
	Revoked     bool       `json:"revoked"`
	CreatedAt   *time.Time `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	ExpiresAt   *string    `json:"expires_at"`
	Token       string     `json:"token,omitempty"`
	TokenFile   string     `json:"token_file,omitempty"`
}

func patView(kind string) func(*gitlab.PersonalAccessToken) Token {
	return func(t *gitlab.PersonalAccessToken) Token {
		return Token{
			ID: t.ID, Name: t.Name, Description: t.Description, Kind: kind, Scopes: t.Scopes, UserID: t.UserID,
			Active: t.Active, Revoked: t.Revoked, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt,
			ExpiresAt: dateString(t.ExpiresAt), Token: t.Token,
		}
	}
}

func projectTokenView(kind string) func(*gitlab.ProjectAccessToken) Token {
	return func(t *gitlab.ProjectAccessToken) Token {
		v := patView(kind)(&t.PersonalAccessToken)
		v.AccessLevel = int64(t.AccessLevel)
		return v
	}
}

func groupTokenView(t *gitlab.GroupAccessToken) Token {
	return projectTokenView(KindGroup)((*gitlab.ProjectAccessToken)(t))
}

// State names a token's state: active, revoked, or expired.
func (v Token) State() string {
	switch {
	case v.Revoked:
		return "revoked"
	case !v.Active:
		return "expired"
	}
	return "active"
}

// TokenOwner says whose tokens a call is about: a project's or a group's
// access tokens; a service account's (of the instance, or of Group or
// Project); or personal access tokens, of User or else of the caller.
type TokenOwner struct {
	Project, Group string
	// ServiceAccount and User are user IDs; 0 when not given.
	ServiceAccount, User int64
}

// Kind is the kind of the owner's tokens.
func (o TokenOwner) Kind() string {
	switch {
	case o.ServiceAccount != 0:
		return KindServiceAccount
	case o.Project != "":
		return KindProject
	case o.Group != "":
		return KindGroup
	}
	return KindPersonal
}

// personalAPI reports whether the owner's tokens are served by the
// personal access token routes: a user's own, or an instance service
// account's.
func (o TokenOwner) personalAPI() bool {
	return o.Project == "" && o.Group == ""
}

// String names the tokens' owner for messages; "" for the caller.
func (o TokenOwner) String() string {
	switch {
	case o.ServiceAccount != 0 && o.Group != "":
		return fmt.Sprintf("service account %d of %s", o.ServiceAccount, Describe("group", o.Group))
	case o.ServiceAccount != 0 && o.Project != "":
		return fmt.Sprintf("service account %d of %s", o.ServiceAccount, Describe("project", o.Project))
	case o.ServiceAccount != 0:
		return fmt.Sprintf("service account %d", o.ServiceAccount)
	case o.Project != "":
		return Describe("project", o.Project)
	case o.Group != "":
		return Describe("group", o.Group)
	case o.User != 0:
		return fmt.Sprintf("user %d", o.User)
	}
	return ""
}

// TokenRef is a token: by ID, or Self, the token in use.
type TokenRef struct {
	ID   int64
	Self bool
}

func (r TokenRef) String() string {
	if r.Self {
		return "self"
	}
	return fmt.Sprint(r.ID)
}

// what names a token for not-found messages.
func (o TokenOwner) what(r TokenRef) string {
	s := "token " + r.String()
	if w := o.String(); w != "" {
		s += " of " + w + " (or the " + strings.SplitN(w, " ", 2)[0] + " itself)"
	}
	return s
}

// TokenFilter narrows a token list; empty fields do not.
type TokenFilter struct{ State, Search string }

// Tokens lists the owner's tokens.
func (g *GitLab) Tokens(ctx context.Context, o TokenOwner, f TokenFilter, p Page) ([]Token, error) {
	c, kind := gitlab.WithContext(ctx), o.Kind()
	switch {
	case o.personalAPI():
		opt := &gitlab.ListPersonalAccessTokensOptions{State: optional(f.State), Search: optional(f.Search)}
		what := "the token list"
		if uid := max(o.User, o.ServiceAccount); uid != 0 {
			opt.UserID, what = &uid, fmt.Sprintf("user %d", uid)
		}
		// An administrator's list holds every kind of token.
		return collect(p, what, anyTokenView(kind), func(lo gitlab.ListOptions) ([]*tokenJSON, *gitlab.Response, error) {
			opt.ListOptions = lo
			var xs []*tokenJSON
			resp, err := g.do(ctx, http.MethodGet, "personal_access_tokens", opt, nil, &xs)
			return xs, resp, err
		})
	case kind == KindProject:
		opt := &gitlab.ListProjectAccessTokensOptions{State: optional(f.State)}
		return collect(p, o.String(), projectTokenView(kind), func(lo gitlab.ListOptions) ([]*gitlab.ProjectAccessToken, *gitlab.Response, error) {
			opt.ListOptions = lo
			// client-go's options lack GitLab's search parameter for
			// project tokens: add it to the query.
			return g.c.ProjectAccessTokens.ListProjectAccessTokens(IDOrPath(o.Project), opt, c, withQuery("search", f.Search))
		})
	case kind == KindGroup:
		opt := &gitlab.ListGroupAccessTokensOptions{Search: optional(f.Search)}
		if f.State != "" {
			opt.State = gitlab.Ptr(gitlab.AccessTokenState(f.State))
		}
		return collect(p, o.String(), groupTokenView, func(lo gitlab.ListOptions) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.GroupAccessTokens.ListGroupAccessTokens(IDOrPath(o.Group), opt, c)
		})
	case o.Group != "":
		opt := &gitlab.ListServiceAccountPersonalAccessTokensOptions{State: optional(f.State), Search: optional(f.Search)}
		return collect(p, o.String(), patView(kind), func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.Groups.ListServiceAccountPersonalAccessTokens(IDOrPath(o.Group), o.ServiceAccount, opt, c)
		})
	}
	opt := &gitlab.ListProjectServiceAccountPersonalAccessTokensOptions{State: optional(f.State), Search: optional(f.Search)}
	return collect(p, o.String(), patView(kind), func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		opt.ListOptions = lo
		return g.c.Projects.ListProjectServiceAccountPersonalAccessTokens(IDOrPath(o.Project), o.ServiceAccount, opt, c)
	})
}

// tokenJSON is a token as botgate's server sends it on every route:
// GitLab's personal access token entity with, for a project or group access
// token, its access level and resource type. client-go's
// PersonalAccessToken drops those two, so the routes that may answer any
// kind of token (the personal access token routes for self, by ID and an
// administrator's list, /admin/token, and .../access_tokens/self) are
// decoded into this.
type tokenJSON struct {
	gitlab.PersonalAccessToken
	AccessLevel  gitlab.AccessLevelValue `json:"access_level"`
	ResourceType string                  `json:"resource_type"`
}

// anyTokenView is the view of a tokenJSON: its kind is the resource type
// the server names, else def.
func anyTokenView(def string) func(*tokenJSON) Token {
	return func(t *tokenJSON) Token {
		kind := def
		if t.ResourceType == KindProject || t.ResourceType == KindGroup {
			kind = t.ResourceType
		}
		v := patView(kind)(&t.PersonalAccessToken)
		v.AccessLevel = int64(t.AccessLevel)
		return v
	}
}

// anyToken calls a route that answers one token of any kind; body, when
// not nil, is sent as JSON.
func (g *GitLab) anyToken(ctx context.Context, method, path string, body any) (*tokenJSON, *gitlab.Response, error) {
	var x tokenJSON
	resp, err := g.do(ctx, method, path, nil, body, &x)
	if err != nil {
		return nil, resp, err
	}
	return &x, resp, nil
}

// namespacePath is the path of a project's or group's access tokens.
func (o TokenOwner) namespacePath() string {
	if o.Kind() == KindGroup {
		return "groups/" + gitlab.PathEscape(o.Group) + "/access_tokens/"
	}
	return "projects/" + gitlab.PathEscape(o.Project) + "/access_tokens/"
}

// Token returns one of the owner's tokens. A service account's token is
// not served alone by GitLab: it is found in the list.
func (g *GitLab) Token(ctx context.Context, o TokenOwner, r TokenRef) (Token, error) {
	c, kind, what := gitlab.WithContext(ctx), o.Kind(), o.what(r)
	switch {
	case kind == KindPersonal:
		// The token in use, or one an administrator names, may be of any
		// kind.
		x, resp, err := g.anyToken(ctx, http.MethodGet, "personal_access_tokens/"+r.String(), nil)
		return one(x, resp, err, what, anyTokenView(kind))
	case kind == KindProject || kind == KindGroup:
		x, resp, err := g.anyToken(ctx, http.MethodGet, o.namespacePath()+r.String(), nil)
		return one(x, resp, err, what, anyTokenView(kind))
	case o.personalAPI():
		x, resp, err := g.c.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(r.ID, c)
		if err == nil && x.UserID != o.ServiceAccount {
			resp, err = nil, gitlab.ErrNotFound
		}
		return one(x, resp, err, what, patView(kind))
	}
	ts, err := g.Tokens(ctx, o, TokenFilter{}, AllPages)
	if err != nil {
		return Token{}, err
	}
	for _, t := range ts {
		if t.ID == r.ID {
			return t, nil
		}
	}
	return Token{}, Explain(gitlab.ErrNotFound, nil, what)
}

// NewToken is what CreateToken needs; AccessLevel is for project and group
// tokens only.
type NewToken struct {
	Name        string
	Description *string
	Scopes      []string
	ExpiresAt   *gitlab.ISOTime
	AccessLevel *gitlab.AccessLevelValue
}

// CreateToken creates a token for the owner; the view holds its secret.
func (g *GitLab) CreateToken(ctx context.Context, o TokenOwner, n NewToken) (Token, error) {
	c, kind, what := gitlab.WithContext(ctx), o.Kind(), o.String()
	pat := &gitlab.CreatePersonalAccessTokenOptions{Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, ExpiresAt: n.ExpiresAt}
	switch {
	case kind == KindPersonal && o.User == 0:
		x, resp, err := g.c.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, ExpiresAt: n.ExpiresAt}, c)
		return one(x, resp, err, "the current user", patView(kind))
	case kind == KindPersonal:
		x, resp, err := g.c.Users.CreatePersonalAccessToken(o.User, pat, c)
		return one(x, resp, err, what, patView(kind))
	case kind == KindProject:
		x, resp, err := g.c.ProjectAccessTokens.CreateProjectAccessToken(IDOrPath(o.Project), &gitlab.CreateProjectAccessTokenOptions{
			Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, AccessLevel: n.AccessLevel, ExpiresAt: n.ExpiresAt}, c)
		return one(x, resp, err, what, projectTokenView(kind))
	case kind == KindGroup:
		x, resp, err := g.c.GroupAccessTokens.CreateGroupAccessToken(IDOrPath(o.Group), &gitlab.CreateGroupAccessTokenOptions{
			Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, AccessLevel: n.AccessLevel, ExpiresAt: n.ExpiresAt}, c)
		return one(x, resp, err, what, groupTokenView)
	case o.Group != "":
		x, resp, err := g.c.Groups.CreateServiceAccountPersonalAccessToken(IDOrPath(o.Group), o.ServiceAccount, &gitlab.CreateServiceAccountPersonalAccessTokenOptions{
			Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, ExpiresAt: n.ExpiresAt}, c)
		return one(x, resp, err, what, patView(kind))
	case o.Project != "":
		x, resp, err := g.c.Projects.CreateProjectServiceAccountPersonalAccessToken(IDOrPath(o.Project), o.ServiceAccount, &gitlab.CreateProjectServiceAccountPersonalAccessTokenOptions{
			Name: &n.Name, Description: n.Description, Scopes: &n.Scopes, ExpiresAt: n.ExpiresAt}, c)
		return one(x, resp, err, what, patView(kind))
	}
	x, resp, err := g.c.Users.CreatePersonalAccessToken(o.ServiceAccount, pat, c)
	return one(x, resp, err, what, patView(kind))
}

// RotateToken replaces a token with its successor, whose view holds the
// new secret; exp is the successor's expiry, nil for the server's policy.
func (g *GitLab) RotateToken(ctx context.Context, o TokenOwner, r TokenRef, exp *gitlab.ISOTime) (Token, error) {
	c, kind, what := gitlab.WithContext(ctx), o.Kind(), o.what(r)
	switch {
	case o.personalAPI():
		// Rotating self rotates the token in use, whatever its kind.
		x, resp, err := g.anyToken(ctx, http.MethodPost, "personal_access_tokens/"+r.String()+"/rotate", &gitlab.RotatePersonalAccessTokenOptions{ExpiresAt: exp})
		return one(x, resp, err, what, anyTokenView(kind))
	case kind == KindProject && r.Self:
		x, resp, err := g.c.ProjectAccessTokens.RotateProjectAccessTokenSelf(IDOrPath(o.Project), &gitlab.RotateProjectAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, projectTokenView(kind))
	case kind == KindProject:
		x, resp, err := g.c.ProjectAccessTokens.RotateProjectAccessToken(IDOrPath(o.Project), r.ID, &gitlab.RotateProjectAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, projectTokenView(kind))
	case kind == KindGroup && r.Self:
		x, resp, err := g.c.GroupAccessTokens.RotateGroupAccessTokenSelf(IDOrPath(o.Group), &gitlab.RotateGroupAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, groupTokenView)
	case kind == KindGroup:
		x, resp, err := g.c.GroupAccessTokens.RotateGroupAccessToken(IDOrPath(o.Group), r.ID, &gitlab.RotateGroupAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, groupTokenView)
	case o.Group != "":
		x, resp, err := g.c.Groups.RotateServiceAccountPersonalAccessToken(IDOrPath(o.Group), o.ServiceAccount, r.ID,
			&gitlab.RotateServiceAccountPersonalAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, patView(kind))
	}
	x, resp, err := g.c.Projects.RotateProjectServiceAccountPersonalAccessToken(IDOrPath(o.Project), o.ServiceAccount, r.ID,
		&gitlab.RotateProjectServiceAccountPersonalAccessTokenOptions{ExpiresAt: exp}, c)
	return one(x, resp, err, what, patView(kind))
}

// RevokeToken revokes one of the owner's tokens; Self is the token in use,
// whatever its kind.
func (g *GitLab) RevokeToken(ctx context.Context, o TokenOwner, r TokenRef) error {
	c, kind := gitlab.WithContext(ctx), o.Kind()
	var resp *gitlab.Response
	var err error
	switch {
	case r.Self:
		resp, err = g.c.PersonalAccessTokens.RevokePersonalAccessTokenSelf(c)
	case o.personalAPI():
		resp, err = g.c.PersonalAccessTokens.RevokePersonalAccessTokenByID(r.ID, c)
	case kind == KindProject:
		resp, err = g.c.ProjectAccessTokens.RevokeProjectAccessToken(IDOrPath(o.Project), r.ID, c)
	case kind == KindGroup:
		resp, err = g.c.GroupAccessTokens.RevokeGroupAccessToken(IDOrPath(o.Group), r.ID, c)
	case o.Group != "":
		resp, err = g.c.Groups.RevokeServiceAccountPersonalAccessToken(IDOrPath(o.Group), o.ServiceAccount, r.ID, c)
	default:
		resp, err = g.c.Projects.RevokeProjectServiceAccountPersonalAccessToken(IDOrPath(o.Project), o.ServiceAccount, r.ID, c)
	}
	return Explain(err, resp, o.what(r))
}

// LookupToken identifies a token from its secret (POST /admin/token, with
// the secret in the body, never in the URL; administrators). The view has
// no secret; Active says whether it still works today.
func (g *GitLab) LookupToken(ctx context.Context, secret string) (Token, error) {
	x, resp, err := g.anyToken(ctx, http.MethodPost, "admin/token", map[string]string{"token": secret})
	if err != nil {
		return Token{}, Explain(err, resp, "a token with that secret")
	}
	x.Token = ""
	v := anyTokenView(KindPersonal)(x)
	// GitLab's answer is the raw token record, which does not say whose
	// token it is: botgate's answer by ID names a project's or group's.
	if full, resp, err := g.anyToken(ctx, http.MethodGet, "personal_access_tokens/"+strconv.FormatInt(x.ID, 10), nil); err != nil {
		return Token{}, Explain(err, resp, fmt.Sprintf("token %d", x.ID))
	} else if full.ResourceType != "" {
		v.Kind, v.AccessLevel = full.ResourceType, int64(full.AccessLevel)
	}
	v.Active = !x.Revoked && (x.ExpiresAt == nil || time.Time(*x.ExpiresAt).After(time.Now().UTC().Truncate(24*time.Hour)))
	return v, nil
}

// RevokeTokenBySecret revokes the token with a secret (DELETE /admin/token;
// administrators), e.g. one found leaked.
func (g *GitLab) RevokeTokenBySecret(ctx context.Context, secret string) error {
	resp, err := g.do(ctx, http.MethodDelete, "admin/token", nil, map[string]string{"token": secret}, nil)
	return Explain(err, resp, "a token with that secret")
}
