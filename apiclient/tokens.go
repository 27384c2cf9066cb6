package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/apiwire"
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

// Fields are the token's details, without its secret.
func (v Token) Fields() [][2]string {
	kv := [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Name", v.Name},
		{"Description", OrDash(v.Description)},
		{"Kind", v.Kind},
		{"Scopes", strings.Join(v.Scopes, ",")},
		{"User", fmt.Sprint(v.UserID)},
	}
	if v.AccessLevel != 0 {
		kv = append(kv, [2]string{"Role", fmt.Sprintf("%s (%d)", RoleName(gitlab.AccessLevelValue(v.AccessLevel)), v.AccessLevel)})
	}
	return append(kv,
		[2]string{"State", v.State()},
		[2]string{"Created", FmtTime(v.CreatedAt)},
		[2]string{"Last used", FmtTime(v.LastUsedAt)},
		[2]string{"Expires", orElse(v.ExpiresAt, "never")},
	)
}

// WriteTokens writes a token list as a table; withRole adds the role of
// project and group tokens.
func WriteTokens(w io.Writer, vs []Token, withRole bool) error {
	header := []string{"ID", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED", "USER"}
	if withRole {
		header = append(header, "ROLE")
	}
	rows := make([][]string, 0, len(vs))
	for _, v := range vs {
		r := []string{fmt.Sprint(v.ID), v.Name, strings.Join(v.Scopes, ","), v.State(), orElse(v.ExpiresAt, "never"), FmtTime(v.LastUsedAt), fmt.Sprint(v.UserID)}
		if withRole {
			r = append(r, RoleName(gitlab.AccessLevelValue(v.AccessLevel)))
		}
		rows = append(rows, r)
	}
	return Table(w, header, rows)
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
		return collect(p, what, patView(kind), func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
			opt.ListOptions = lo
			return g.c.PersonalAccessTokens.ListPersonalAccessTokens(opt, c)
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

// namespaceToken calls a project's or group's /access_tokens route,
// including GET .../access_tokens/self, which client-go does not wrap.
func (g *GitLab) namespaceToken(ctx context.Context, o TokenOwner, path string) (*gitlab.ProjectAccessToken, *gitlab.Response, error) {
	res, ref := "projects", o.Project
	if o.Kind() == KindGroup {
		res, ref = "groups", o.Group
	}
	var x gitlab.ProjectAccessToken
	resp, err := g.do(ctx, http.MethodGet, res+"/"+gitlab.PathEscape(ref)+"/access_tokens/"+path, nil, &x)
	if err != nil {
		return nil, resp, err
	}
	return &x, resp, nil
}

// Token returns one of the owner's tokens. A service account's token is
// not served alone by GitLab: it is found in the list.
func (g *GitLab) Token(ctx context.Context, o TokenOwner, r TokenRef) (Token, error) {
	c, kind, what := gitlab.WithContext(ctx), o.Kind(), o.what(r)
	switch {
	case kind == KindPersonal && r.Self:
		x, resp, err := g.c.PersonalAccessTokens.GetSinglePersonalAccessToken(c)
		return one(x, resp, err, what, patView(kind))
	case kind == KindPersonal:
		x, resp, err := g.c.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(r.ID, c)
		return one(x, resp, err, what, patView(kind))
	case kind == KindProject || kind == KindGroup:
		x, resp, err := g.namespaceToken(ctx, o, r.String())
		return one(x, resp, err, what, projectTokenView(kind))
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
	case o.personalAPI() && r.Self:
		x, resp, err := g.c.PersonalAccessTokens.RotatePersonalAccessTokenSelf(&gitlab.RotatePersonalAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, patView(kind))
	case o.personalAPI():
		x, resp, err := g.c.PersonalAccessTokens.RotatePersonalAccessTokenByID(r.ID, &gitlab.RotatePersonalAccessTokenOptions{ExpiresAt: exp}, c)
		return one(x, resp, err, what, patView(kind))
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
	var x gitlab.PersonalAccessToken
	resp, err := g.do(ctx, http.MethodPost, "admin/token", map[string]string{"token": secret}, &x)
	if err != nil {
		return Token{}, Explain(err, resp, "a token with that secret")
	}
	x.Token = ""
	v := patView("any")(&x)
	v.Active = !x.Revoked && (x.ExpiresAt == nil || time.Time(*x.ExpiresAt).After(time.Now().UTC().Truncate(24*time.Hour)))
	return v, nil
}

// RevokeTokenBySecret revokes the token with a secret (DELETE /admin/token;
// administrators), e.g. one found leaked.
func (g *GitLab) RevokeTokenBySecret(ctx context.Context, secret string) error {
	resp, err := g.do(ctx, http.MethodDelete, "admin/token", map[string]string{"token": secret}, nil)
	return Explain(err, resp, "a token with that secret")
}

// WriteTokenUsage writes what the gateway recorded about a token, for
// people.
func WriteTokenUsage(w io.Writer, u *apiwire.TokenUsage) error {
	err := Fields(w, [][2]string{
		{"token", fmt.Sprintf("%d (%s)", u.TokenID, u.Name)},
		{"automation", OrDash(u.Automation)},
		{"scopes", OrDash(strings.Join(u.Scopes, " "))},
		{"scopes used", OrDash(strings.Join(u.ScopesUsed, " "))},
		{"calls", strconv.FormatInt(u.Calls, 10)},
		{"last used", FmtStamp(u.LastUsedAt)},
		{"addresses", OrDash(strings.Join(u.LastUsedIPs, ", "))},
		{"clients", OrDash(strings.Join(u.UserAgents, ", "))},
	})
	if err != nil {
		return err
	}
	if len(u.Routes) == 0 {
		_, err := fmt.Fprintln(w, "\nNo calls through the gateway recorded.")
		return err
	}
	fmt.Fprintln(w)
	rows := make([][]string, len(u.Routes))
	for i, r := range u.Routes {
		rows[i] = []string{r.Method, r.Route, OrDash(r.Scope), strconv.FormatInt(r.Count, 10), FmtStamp(&r.LastSeen)}
	}
	return Table(w, []string{"METHOD", "ROUTE", "SCOPE", "CALLS", "LAST SEEN"}, rows)
}
