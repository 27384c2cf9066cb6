package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// tokenView is how the CLI shows a token. Token holds the secret and is set
// only on create and rotate.
type tokenView struct {
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

func patView(t *gitlab.PersonalAccessToken, kind string) tokenView {
	return tokenView{
		ID: t.ID, Name: t.Name, Description: t.Description, Kind: kind, Scopes: t.Scopes, UserID: t.UserID,
		Active: t.Active, Revoked: t.Revoked, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt,
		ExpiresAt: dateString(t.ExpiresAt), Token: t.Token,
	}
}

func resourceView(t *gitlab.PersonalAccessToken, level gitlab.AccessLevelValue, kind string) tokenView {
	v := patView(t, kind)
	v.AccessLevel = int64(level)
	return v
}

// tokenTarget says whose tokens a command is about.
type tokenTarget struct {
	project, group string
	sa             string
	user           string
}

// Token kinds as the CLI reports them.
const (
	kindPersonal       = "personal"
	kindProject        = "project"
	kindGroup          = "group"
	kindServiceAccount = "service_account"
)

func (t *tokenTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.project, "project", "", "project `ID|PATH`: its project access tokens (with --service-account: that project's service account)")
	cmd.Flags().StringVar(&t.group, "group", "", "group `ID|PATH`: its group access tokens (with --service-account: that group's service account)")
	cmd.Flags().StringVar(&t.sa, "service-account", "", "service account user `ID`: its personal access tokens")
}

// check validates the combination and returns the token kind.
func (t *tokenTarget) check() (string, error) {
	if t.project != "" && t.group != "" {
		return "", usageErr("give --project or --group, not both")
	}
	if t.sa != "" {
		if _, err := parseID("--service-account", t.sa); err != nil {
			return "", err
		}
		if t.user != "" {
			return "", usageErr("give --service-account or --user, not both")
		}
		return kindServiceAccount, nil
	}
	if t.user != "" && (t.project != "" || t.group != "") {
		return "", usageErr("--user is for personal access tokens; drop --project/--group")
	}
	switch {
	case t.project != "":
		return kindProject, nil
	case t.group != "":
		return kindGroup, nil
	}
	return kindPersonal, nil
}

// saID is the --service-account user ID, which check has validated.
func (t *tokenTarget) saID() int64 {
	id, _ := parseID("--service-account", t.sa)
	return id
}

// personalAPI reports whether tokens of kind are served by the personal
// access token routes: a user's own, or an instance service account's.
func (t *tokenTarget) personalAPI(kind string) bool {
	return kind == kindPersonal || (kind == kindServiceAccount && t.group == "" && t.project == "")
}

// tokenRef parses a token argument: a numeric ID, or "self" for the token
// in use. 'self' takes no --service-account; verb names the command in that
// refusal.
func tokenRef(ref, kind, verb string) (id int64, self bool, err error) {
	if ref != "self" {
		id, err = parseID("the token ID", ref)
		return id, false, err
	}
	if kind == kindServiceAccount {
		return 0, true, usageErr("'self' needs no --service-account: run 'botgate token %s self' with the service account's token", verb)
	}
	return 0, true, nil
}

// owner names the tokens' owner for messages.
func (t *tokenTarget) owner() string {
	switch {
	case t.sa != "" && t.group != "":
		return fmt.Sprintf("service account %s of %s", t.sa, describe("group", t.group))
	case t.sa != "" && t.project != "":
		return fmt.Sprintf("service account %s of %s", t.sa, describe("project", t.project))
	case t.sa != "":
		return "service account " + t.sa
	case t.project != "":
		return describe("project", t.project)
	case t.group != "":
		return describe("group", t.group)
	case t.user != "":
		return "user " + t.user
	}
	return ""
}

// tokenWhat names a token for not-found messages.
func (t *tokenTarget) tokenWhat(id string) string {
	s := "token " + id
	if o := t.owner(); o != "" {
		s += " of " + o + " (or the " + strings.SplitN(o, " ", 2)[0] + " itself)"
	}
	return s
}

func newTokenCmd(e *env) *cobra.Command {
	cmd, a := newAPIGroup(e, "token", "List, create, rotate and revoke access tokens",
		`token manages tokens through botgate's GitLab-compatible API:

  personal access tokens          (default; --user ID for another user, admin only)
  project access tokens           --project ID|PATH  (each has its own bot user)
  group access tokens             --group ID|PATH
  service account tokens          --service-account ID [--group G | --project P]

A token's secret is shown exactly once, by create and rotate, or written to
--token-file (mode 0600) instead. Prefer one project access token per
automation, with the fewest scopes and the lowest role it needs.`)
	cmd.AddCommand(a.tokenListCmd(), a.tokenShowCmd(), a.tokenCreateCmd(), a.tokenRotateCmd(), a.tokenRevokeCmd(),
		a.tokenUsageCmd(), a.tokenLookupCmd())
	a.refineAll(cmd)
	return cmd
}

func (a *apiCmd) tokenListCmd() *cobra.Command {
	var t tokenTarget
	var state, search string
	var pf pageFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens",
		Example: `  botgate token list
  botgate token list --state active --search deploy --all
  botgate token list --user 7                 # another user's tokens (admin)
  botgate token list --project team/app       # project access tokens
  botgate token list --group team --service-account 12 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			kind, err := t.check()
			if err != nil {
				return err
			}
			if state != "" && state != "active" && state != "inactive" {
				return usageErr("--state must be active or inactive, not %q", state)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			var views []tokenView
			switch {
			case t.personalAPI(kind):
				opt := &gitlab.ListPersonalAccessTokensOptions{State: optional(state), Search: optional(search)}
				uid := t.user
				if uid == "" {
					uid = t.sa
				}
				if uid != "" {
					id, err := parseID("--user", uid)
					if err != nil {
						return err
					}
					opt.UserID = &id
				}
				what := "the token list"
				if uid != "" {
					what = "user " + uid
				}
				ts, err := collect(pf, what, func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.PersonalAccessTokens.ListPersonalAccessTokens(opt, ctx)
				})
				if err != nil {
					return err
				}
				for _, x := range ts {
					views = append(views, patView(x, kind))
				}
			case kind == kindProject:
				opt := &gitlab.ListProjectAccessTokensOptions{State: optional(state)}
				ts, err := collect(pf, describe("project", t.project), func(lo gitlab.ListOptions) ([]*gitlab.ProjectAccessToken, *gitlab.Response, error) {
					opt.ListOptions = lo
					// client-go's options lack GitLab's search parameter
					// for project tokens: add it to the query.
					return c.ProjectAccessTokens.ListProjectAccessTokens(idOrPath(t.project), opt, ctx, withQuery("search", search))
				})
				if err != nil {
					return err
				}
				for _, x := range ts {
					views = append(views, resourceView(&x.PersonalAccessToken, x.AccessLevel, kind))
				}
			case kind == kindGroup:
				opt := &gitlab.ListGroupAccessTokensOptions{}
				if state != "" {
					opt.State = gitlab.Ptr(gitlab.AccessTokenState(state))
				}
				opt.Search = optional(search)
				ts, err := collect(pf, describe("group", t.group), func(lo gitlab.ListOptions) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
					opt.ListOptions = lo
					return c.GroupAccessTokens.ListGroupAccessTokens(idOrPath(t.group), opt, ctx)
				})
				if err != nil {
					return err
				}
				for _, x := range ts {
					views = append(views, resourceView(&x.PersonalAccessToken, x.AccessLevel, kind))
				}
			default: // a group's or project's service account
				ts, err := t.serviceAccountTokens(c, ctx, pf, optional(state), optional(search))
				if err != nil {
					return err
				}
				for _, x := range ts {
					views = append(views, patView(x, kind))
				}
			}
			return writeTokens(a, asJSON, views, kind == kindProject || kind == kindGroup)
		},
	}
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "list this user's personal access tokens (`ID`; admin only)")
	cmd.Flags().StringVar(&state, "state", "", "active or inactive (revoked or expired)")
	cmd.Flags().StringVar(&search, "search", "", "only tokens whose name contains this")
	pf.register(cmd)
	return a.withOutput(cmd)
}

// withQuery adds a query parameter to a client-go request, when v is set.
func withQuery(k, v string) gitlab.RequestOptionFunc {
	return func(req *retryablehttp.Request) error {
		if v != "" {
			q := req.URL.Query()
			q.Set(k, v)
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}
}

// writeTokens writes the token list; withRole adds the resource tokens' role.
func writeTokens(a *apiCmd, asJSON bool, views []tokenView, withRole bool) error {
	header := []string{"ID", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED", "USER"}
	if withRole {
		header = append(header, "ROLE")
	}
	return writeList(a.e.stdout, asJSON, views, header, func(v tokenView) []string {
		exp := "never"
		if v.ExpiresAt != nil {
			exp = *v.ExpiresAt
		}
		r := []string{fmt.Sprint(v.ID), v.Name, strings.Join(v.Scopes, ","), tokenState(v), exp, fmtTime(v.LastUsedAt), fmt.Sprint(v.UserID)}
		if withRole {
			r = append(r, roleName(gitlab.AccessLevelValue(v.AccessLevel)))
		}
		return r
	})
}

// tokenState names a token's state: active, revoked, or expired.
func tokenState(v tokenView) string {
	switch {
	case v.Revoked:
		return "revoked"
	case !v.Active:
		return "expired"
	}
	return "active"
}

// tokenFields writes one token, without its secret.
func tokenFields(a *apiCmd, v tokenView) error {
	exp := "never"
	if v.ExpiresAt != nil {
		exp = *v.ExpiresAt
	}
	kv := [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Name", v.Name},
		{"Description", orDash(v.Description)},
		{"Kind", v.Kind},
		{"Scopes", strings.Join(v.Scopes, ",")},
		{"User", fmt.Sprint(v.UserID)},
	}
	if v.AccessLevel != 0 {
		kv = append(kv, [2]string{"Role", fmt.Sprintf("%s (%d)", roleName(gitlab.AccessLevelValue(v.AccessLevel)), v.AccessLevel)})
	}
	kv = append(kv,
		[2]string{"State", tokenState(v)},
		[2]string{"Created", fmtTime(v.CreatedAt)},
		[2]string{"Last used", fmtTime(v.LastUsedAt)},
		[2]string{"Expires", exp},
	)
	return fields(a.e.stdout, kv)
}

func (a *apiCmd) tokenShowCmd() *cobra.Command {
	var t tokenTarget
	cmd := &cobra.Command{
		Use:   "show ID|self",
		Short: "Show one token (self: the token in use)",
		Example: `  botgate token show self
  botgate token show 42
  botgate token show 42 --project team/app
  botgate token show self --project team/app --output json   # as the project's own token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := a.json()
			if err != nil {
				return err
			}
			kind, err := t.check()
			if err != nil {
				return err
			}
			ref := args[0]
			id, self, err := tokenRef(ref, kind, "show")
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := gitlab.WithContext(cmd.Context())
			what := t.tokenWhat(ref)
			var v tokenView
			switch kind {
			case kindPersonal:
				var x *gitlab.PersonalAccessToken
				var resp *gitlab.Response
				if self {
					x, resp, err = c.PersonalAccessTokens.GetSinglePersonalAccessToken(ctx)
				} else {
					x, resp, err = c.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(id, ctx)
				}
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = patView(x, kind)
			case kindProject, kindGroup:
				var x *gitlab.ProjectAccessToken
				var resp *gitlab.Response
				switch {
				case self:
					x, resp, err = getResourceTokenSelf(c, kind, t, ctx)
				case kind == kindProject:
					x, resp, err = c.ProjectAccessTokens.GetProjectAccessToken(idOrPath(t.project), id, ctx)
				default:
					var g *gitlab.GroupAccessToken
					g, resp, err = c.GroupAccessTokens.GetGroupAccessToken(idOrPath(t.group), id, ctx)
					if g != nil {
						x = (*gitlab.ProjectAccessToken)(g)
					}
				}
				if err != nil {
					return apiErr(err, resp, what)
				}
				v = resourceView(&x.PersonalAccessToken, x.AccessLevel, kind)
			default:
				// GitLab has no "get one" route for a service account's
				// tokens: find it in the list.
				found, err := a.findServiceAccountToken(c, t, id, ctx)
				if err != nil {
					return err
				}
				v = patView(found, kind)
			}
			if asJSON {
				return writeJSON(a.e.stdout, v)
			}
			return tokenFields(a, v)
		},
	}
	t.register(cmd)
	return a.withOutput(cmd)
}

// getResourceTokenSelf calls GET /{projects|groups}/:id/access_tokens/self,
// which client-go does not wrap, through client-go's request machinery.
func getResourceTokenSelf(c *gitlab.Client, kind string, t tokenTarget, ctx gitlab.RequestOptionFunc) (*gitlab.ProjectAccessToken, *gitlab.Response, error) {
	res, ref := "projects", t.project
	if kind == kindGroup {
		res, ref = "groups", t.group
	}
	req, err := c.NewRequest(http.MethodGet, res+"/"+gitlab.PathEscape(ref)+"/access_tokens/self", nil, []gitlab.RequestOptionFunc{ctx})
	if err != nil {
		return nil, nil, err
	}
	var x gitlab.ProjectAccessToken
	resp, err := c.Do(req, &x)
	if err != nil {
		return nil, resp, err
	}
	return &x, resp, nil
}

func (a *apiCmd) findServiceAccountToken(c *gitlab.Client, t tokenTarget, id int64, ctx gitlab.RequestOptionFunc) (*gitlab.PersonalAccessToken, error) {
	if t.group == "" && t.project == "" {
		x, resp, err := c.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(id, ctx)
		if err != nil {
			return nil, apiErr(err, resp, t.tokenWhat(fmt.Sprint(id)))
		}
		if x.UserID != t.saID() {
			return nil, apiErr(gitlab.ErrNotFound, nil, t.tokenWhat(fmt.Sprint(id)))
		}
		return x, nil
	}
	ts, err := t.serviceAccountTokens(c, ctx, pageFlags{all: true, page: 1, perPage: 100}, nil, nil)
	if err != nil {
		return nil, err
	}
	for _, x := range ts {
		if x.ID == id {
			return x, nil
		}
	}
	return nil, apiErr(gitlab.ErrNotFound, nil, t.tokenWhat(fmt.Sprint(id)))
}

// serviceAccountTokens lists the tokens of a group's or a project's service
// account; state and search filter them when set.
func (t *tokenTarget) serviceAccountTokens(c *gitlab.Client, ctx gitlab.RequestOptionFunc, pf pageFlags, state, search *string) ([]*gitlab.PersonalAccessToken, error) {
	uid := t.saID()
	if t.group != "" {
		opt := &gitlab.ListServiceAccountPersonalAccessTokensOptions{State: state, Search: search}
		return collect(pf, t.owner(), func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
			opt.ListOptions = lo
			return c.Groups.ListServiceAccountPersonalAccessTokens(idOrPath(t.group), uid, opt, ctx)
		})
	}
	opt := &gitlab.ListProjectServiceAccountPersonalAccessTokensOptions{State: state, Search: search}
	return collect(pf, t.owner(), func(lo gitlab.ListOptions) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		opt.ListOptions = lo
		return c.Projects.ListProjectServiceAccountPersonalAccessTokens(idOrPath(t.project), uid, opt, ctx)
	})
}
