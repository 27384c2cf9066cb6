package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-retryablehttp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// GitLab is a typed client of the /api/v4 routes the CLI uses. Its methods
// resolve references (IDs, paths, usernames), page through lists and return
// the views the CLI shows; their errors are Explain's.
type GitLab struct {
	c *gitlab.Client
}

// NewGitLab builds the client for r, as New does.
func NewGitLab(r Resolved, o Options) (*GitLab, error) {
	c, err := New(r, o)
	if err != nil {
		return nil, err
	}
	return &GitLab{c: c}, nil
}

// Page selects what a list fetches: one page, or every page with All.
type Page struct {
	All     bool
	Page    int64
	PerPage int64
}

// AllPages is every page, at the largest page size.
var AllPages = Page{All: true, Page: 1, PerPage: 100}

// collect fetches one page, or every page with p.All, calling fetch with
// the list options to use and mapping each item to its view.
func collect[T, V any](p Page, what string, view func(T) V, fetch func(gitlab.ListOptions) ([]T, *gitlab.Response, error)) ([]V, error) {
	opt := gitlab.ListOptions{Page: p.Page, PerPage: p.PerPage}
	if p.All {
		opt.Page = 1
	}
	out := []V{}
	for pages := 0; ; pages++ {
		items, resp, err := fetch(opt)
		if err != nil {
			return nil, Explain(err, resp, what)
		}
		for _, x := range items {
			out = append(out, view(x))
		}
		if !p.All || resp == nil || resp.NextPage == 0 || resp.NextPage <= opt.Page || len(items) == 0 {
			return out, nil
		}
		if pages > 100000 {
			return nil, botgate.Errorf(botgate.KindInternal, "the server keeps returning pages; stopped after %d", pages)
		}
		opt.Page = resp.NextPage
	}
}

// one returns the view of x, or Explain's error about what.
func one[T, V any](x T, resp *gitlab.Response, err error, what string, view func(T) V) (V, error) {
	if err != nil {
		var zero V
		return zero, Explain(err, resp, what)
	}
	return view(x), nil
}

// IDOrPath returns a numeric ID as int64 and anything else as the string
// path; client-go accepts both for projects and groups.
func IDOrPath(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return n
	}
	return s
}

// Describe names a project or group for messages, e.g. `project "team/app"`.
func Describe(kind, ref string) string {
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return kind + " " + ref
	}
	return fmt.Sprintf("%s %q", kind, ref)
}

// Refine improves a 401 from the server. GitLab answers 401 not only for a
// bad token but also for a token it will not let the caller manage (another
// user's token, for a non-admin); so when the token still works for GET
// /user, it says that instead of sending the user to log in again. Any other
// error is returned as it is.
func (g *GitLab) Refine(ctx context.Context, err error) error {
	var er *gitlab.ErrorResponse
	if err == nil || !botgate.IsKind(err, botgate.KindUnauthenticated) ||
		botgate.ReasonOf(err) != "" || !errors.As(err, &er) {
		return err
	}
	me, _, perr := g.c.Users.CurrentUser(gitlab.WithContext(ctx))
	if perr != nil {
		return err
	}
	return &botgate.Error{Kind: botgate.KindForbidden, Err: er, Message: fmt.Sprintf(
		"the server refused this for %s (HTTP 401): the token works, but may not act on that; "+
			"tokens of other users need an administrator", me.Username)}
}

// UserID turns an ID or a username into a user ID.
func (g *GitLab) UserID(ctx context.Context, ref string) (int64, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	us, resp, err := g.c.Users.ListUsers(&gitlab.ListUsersOptions{Username: &ref}, gitlab.WithContext(ctx))
	if err != nil {
		// Looking users up by name may need more rights than the command
		// itself: say how to do without it.
		e := Explain(err, resp, fmt.Sprintf("user %q", ref))
		return 0, &botgate.Error{Kind: botgate.KindOf(e), Err: e,
			Message: fmt.Sprintf("cannot look up the username %q (%s): give the numeric user ID instead", ref, botgate.MessageOf(e))}
	}
	for _, u := range us {
		if u.Username == ref {
			return u.ID, nil
		}
	}
	if id, ok, err := g.serviceAccountNamed(ctx, ref); ok || err != nil {
		return id, err
	}
	return 0, Explain(gitlab.ErrNotFound, nil, fmt.Sprintf("user %q", ref))
}

// serviceAccountNamed finds the one bot user whose name (as given to
// 'service-account create --name', while the server generated its
// username, as GitLab does) is exactly name. ok is false when there is
// none; several are an error naming their usernames.
func (g *GitLab) serviceAccountNamed(ctx context.Context, name string) (id int64, ok bool, err error) {
	us, _, err := g.c.Users.ListUsers(&gitlab.ListUsersOptions{Search: &name, ListOptions: gitlab.ListOptions{PerPage: 100}}, gitlab.WithContext(ctx))
	if err != nil {
		return 0, false, nil // the username lookup's not-found says enough
	}
	var found []*gitlab.User
	for _, u := range us {
		if u.Bot && u.Name == name {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return 0, false, nil
	case 1:
		return found[0].ID, true, nil
	}
	names := make([]string, len(found))
	for i, u := range found {
		names[i] = u.Username
	}
	return 0, true, botgate.Errorf(botgate.KindInvalid, "%d bots are named %q (%s): give the username or the numeric ID", len(found), name, strings.Join(names, ", "))
}

// GroupID resolves a group ID or path to its numeric ID.
func (g *GitLab) GroupID(ctx context.Context, ref string) (int64, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	x, resp, err := g.c.Groups.GetGroup(ref, nil, gitlab.WithContext(ctx))
	if err != nil {
		return 0, Explain(err, resp, Describe("group", ref))
	}
	return x.ID, nil
}

// nonSlug is compiled on first use, not at every start of the binary.
var nonSlug = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9_.-]+`) })

// Slug derives a URL path from a name, as GitLab's UI suggests one.
func Slug(name string) string {
	return strings.Trim(nonSlug().ReplaceAllString(strings.ToLower(name), "-"), "-.")
}

// accessLevels maps role names to GitLab access levels.
var accessLevels = []struct {
	name  string
	level gitlab.AccessLevelValue
}{
	{"guest", gitlab.GuestPermissions},
	{"planner", gitlab.PlannerPermissions},
	{"reporter", gitlab.ReporterPermissions},
	{"developer", gitlab.DeveloperPermissions},
	{"maintainer", gitlab.MaintainerPermissions},
	{"owner", gitlab.OwnerPermissions},
}

// ParseAccessLevel accepts a role name or its number.
func ParseAccessLevel(s string) (gitlab.AccessLevelValue, bool) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for _, l := range accessLevels {
		if ls == l.name || ls == strconv.Itoa(int(l.level)) {
			return l.level, true
		}
	}
	return 0, false
}

// RoleName names an access level.
func RoleName(l gitlab.AccessLevelValue) string {
	for _, x := range accessLevels {
		if x.level == l {
			return x.name
		}
	}
	if l == 0 {
		return ""
	}
	return strconv.Itoa(int(l))
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

// do sends a request through client-go's request machinery, for a route
// client-go does not wrap or whose answer it decodes short: query, when not
// nil, is encoded in the query string; a non-nil body is sent as JSON (never
// in the query string, even for DELETE), and the answer is decoded into out
// unless nil.
func (g *GitLab) do(ctx context.Context, method, path string, query, body, out any) (*gitlab.Response, error) {
	req, err := g.c.NewRequest(method, path, query, []gitlab.RequestOptionFunc{gitlab.WithContext(ctx)})
	if err != nil {
		return nil, err
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		if err := req.SetBody(b); err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
	}
	return g.c.Do(req, out)
}
