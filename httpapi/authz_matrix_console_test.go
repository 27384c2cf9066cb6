package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

// The matrix's rows for the web console and the workload identity
// exchange: the routes whose credential is not a botgate token in a header
// (a console session cookie; an identity token in the body).

// nConsole is the need of a console page or form: a session, which only a
// person's active personal token with read_api or api signs in to.
const nConsole = "console"

// signsIn reports whether the case's token signs in to the console.
func signsIn(c *mCase) bool {
	return c.state == stActive && !c.actor.deactivated && c.actor.human() && (c.scope == "api" || c.scope == "read_api")
}

// statusToSignIn stands for a redirect to the console's sign-in page: the
// answer to a page without a session (a 303 like a form's success, told
// apart by where it sends the browser).
const statusToSignIn = 1303

var (
	toSignInO = outcome{"303 to sign in", []int{statusToSignIn}}
	seeO      = outcome{"303 (done)", []int{http.StatusSeeOther}}
	pageO     = outcome{"200 (the page)", []int{http.StatusOK}}
)

// consoleWrite is the rule of a console form that changes tokens: the
// session's token needs the api scope (403, before anything is looked up),
// then r; success is a redirect.
func consoleWrite(r func(*mActor, string) outcome) func(*mActor, string) outcome {
	return func(a *mActor, scope string) outcome {
		if scope != "api" {
			return forbidO
		}
		if o := r(a, scope); !o.ok() {
			return o
		}
		return seeO
	}
}

// consoleAdmin: a page the API shows administrators only.
func consoleAdmin(a *mActor, _ string) outcome {
	if a.admin {
		return pageO
	}
	return forbidO
}

func consoleRows() []*mRow {
	page := func(pattern, path string, rule func(*mActor, string) outcome) *mRow {
		return &mRow{pattern: pattern, mode: "console", need: nConsole, build: fixed(path, nil), rule: rule}
	}
	allPage := func(*mActor, string) outcome { return pageO }
	victimTok := func(suffix string) func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
		return func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
			return fmt.Sprintf("/-/console/tokens/%d%s", m.victimT.id, suffix), nil
		}
	}
	ownTok := func(suffix string) func(m *mx, _ *testing.T, c *mCase, _ bool) (string, any) {
		return func(m *mx, _ *testing.T, c *mCase, _ bool) (string, any) {
			return fmt.Sprintf("/-/console/tokens/%d%s", c.tok.id, suffix), nil
		}
	}
	// victimFresh: a form on the victim's token, a fresh one for a case
	// that reaches the handler.
	victimFresh := func(suffix string) func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
		return func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
			id := m.victimT.id
			if fresh {
				id = m.freshPAT(t, m.victim.ID).id
			}
			return fmt.Sprintf("/-/console/tokens/%d%s", id, suffix), nil
		}
	}
	// adminOrHiddenPage: another person's token is the administrators'.
	adminOrHiddenPage := func(a *mActor, _ string) outcome {
		if a.admin {
			return pageO
		}
		return hiddenO
	}
	// A redirect to the inventory narrowed to what the page names, for
	// those who may see it.
	narrowed := func(where string) func(*mActor, string) outcome {
		return func(a *mActor, s string) outcome {
			if o := member(where, botgate.GuestAccess)(a, s); !o.ok() {
				return o
			}
			return seeO
		}
	}
	return []*mRow{
		// Home sends a signed-in person to the inventory, anyone else to
		// sign in.
		{pattern: "GET /{$}", mode: "console", need: nConsole, build: fixed("/", nil), rule: func(*mActor, string) outcome { return seeO }},
		{pattern: "GET /-/console/assets/", mode: "console", need: nPublic, build: fixed("/-/console/assets/console.css", nil), rule: func(*mActor, string) outcome { return pageO }},
		{pattern: "GET /-/console/sign_in", mode: "console", need: nPublic, build: fixed("/-/console/sign_in", nil), rule: func(*mActor, string) outcome { return pageO }},
		// Signing in with the case's token: only a person's active
		// personal token with read_api or api gets a session.
		{pattern: "POST /-/console/sign_in", mode: "console-sign-in", need: nPublic, build: fixed("/-/console/sign_in", nil),
			rule: func(*mActor, string) outcome { return anyO }},
		// Signing out sends the browser to sign in again.
		{pattern: "POST /-/console/sign_out", mode: "console", need: nConsole, consumes: true, build: fixed("/-/console/sign_out", nil),
			rule: func(*mActor, string) outcome { return toSignInO }},
		page("GET /-/console/inventory", "/-/console/inventory", allPage),
		{pattern: "GET /-/console/tokens/{id}", variant: "own", mode: "console", need: nConsole, build: ownTok(""), rule: allPage},
		{pattern: "GET /-/console/tokens/{id}", variant: "another's", mode: "console", need: nConsole, build: victimTok(""), rule: adminOrHiddenPage},
		// A new secret is shown once, to the session that made it: there is
		// none waiting here.
		{pattern: "GET /-/console/tokens/{id}/new", mode: "console", need: nConsole, build: victimTok("/new"),
			rule: func(a *mActor, _ string) outcome {
				if a.admin {
					return anyO
				}
				return hiddenO
			}},
		{pattern: "GET /-/console/tokens/{id}/revoke", mode: "console", need: nConsole, build: victimTok("/revoke"), rule: adminOrHiddenPage},
		{pattern: "POST /-/console/tokens/{id}/rotate", variant: "another's", mode: "console", need: nConsole, write: true,
			rule:  consoleWrite(adminOrHidden),
			build: victimFresh("/rotate")},
		// A form without the session's CSRF token does nothing, whoever
		// submits it.
		{pattern: "POST /-/console/tokens/{id}/rotate", variant: "no CSRF token", mode: "console-no-csrf", need: nConsole, write: true,
			rule:  func(*mActor, string) outcome { return forbidO },
			build: victimFresh("/rotate")},
		{pattern: "POST /-/console/tokens/{id}/revoke", variant: "another's", mode: "console", need: nConsole, write: true,
			rule:  consoleWrite(adminOrHidden),
			build: victimFresh("/revoke")},
		// The team's automation on its project: a project access token, as
		// the API's POST /projects/:id/access_tokens decides.
		{pattern: "POST /-/console/automations/{name}/tokens", mode: "console", need: nConsole, write: true,
			rule: consoleWrite(tokenAdmin("P", botgate.MaintainerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return "/-/console/automations/" + m.automation + "/tokens", nil
			}},
		page("GET /-/console/lint", "/-/console/lint", consoleAdmin),
		page("GET /-/console/leaks", "/-/console/leaks", consoleAdmin),
		page("GET /-/console/audit", "/-/console/audit", consoleAdmin),
		page("GET /-/console/vault", "/-/console/vault", allPage),
		page("GET /-/console/charts", "/-/console/charts", allPage),
		page("GET /-/console/charts/expiry.svg", "/-/console/charts/expiry.svg", allPage),
		page("GET /-/console/charts/requests.svg", "/-/console/charts/requests.svg", allPage),
		page("GET /-/console/charts/refusals.svg", "/-/console/charts/refusals.svg", allPage),
		page("GET /-/console/groups/{path...}", "/-/console/groups/platform", narrowed("G")),
		page("GET /-/console/projects/{path...}", "/-/console/projects/platform/app", narrowed("P")),
		page("GET /-/console/users/{username}", "/-/console/users/root", func(*mActor, string) outcome { return seeO }),
		// A console session is no credential for the API.
		{pattern: "GET /api/v4/user", variant: "a console session cookie, no token", mode: "console-cookie-only", need: nPublic,
			build: fixed("/api/v4/user", nil), rule: func(*mActor, string) outcome { return unauthO }},
	}
}

// identityRows: the exchange takes an identity token in its form body and
// nothing else; a botgate token, in a header or as the subject token,
// buys nothing.
func identityRows() []*mRow {
	form := func(subject func(c *mCase) string) func(m *mx, _ *testing.T, c *mCase, _ bool) (string, any) {
		return func(m *mx, _ *testing.T, c *mCase, _ bool) (string, any) {
			return "/api/botgate/v1/identity/token", url.Values{
				"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
				"subject_token":      {subject(c)},
				"audience":           {m.automation},
			}
		}
	}
	refused := func(*mActor, string) outcome { return outcome{"400 (invalid_request or invalid_grant)", []int{400}} }
	return []*mRow{
		{pattern: "POST /api/botgate/v1/identity/token", variant: "a botgate token in the header only", mode: "form", need: nPublic, write: true,
			build: form(func(*mCase) string { return "" }), rule: refused},
		{pattern: "POST /api/botgate/v1/identity/token", variant: "a botgate token as the subject token", mode: "form", need: nPublic, write: true,
			build: form(func(c *mCase) string { return c.tok.secret }), rule: refused},
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSession is a signed-in console session: its cookie and its forms'
// CSRF token.
type consoleSession struct{ cookie, csrf string }

// signIn signs in to the console with secret as a browser does (the form,
// its CSRF cookie, the post); ok is false if the console refused the
// token. The answer to the post is returned too.
func (m *mx) signIn(secret string) (consoleSession, response, bool) {
	m.t.Helper()
	form := m.console("GET", "/-/console/sign_in", nil, "", nil)
	mt := csrfField.FindSubmatch(form.body)
	var pre *http.Cookie
	for _, c := range (&http.Response{Header: form.header}).Cookies() {
		if c.Name == "botgate_sign_in" {
			pre = c
		}
	}
	if mt == nil || pre == nil {
		m.t.Fatalf("the sign-in form has no CSRF token or cookie: HTTP %d %.300s", form.status, form.body)
	}
	res := m.console("POST", "/-/console/sign_in", url.Values{"csrf": {string(mt[1])}, "token": {secret}}, "", []*http.Cookie{pre})
	var s consoleSession
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "botgate_session" && c.Value != "" {
			s.cookie = c.Value
		}
	}
	if s.cookie == "" {
		return s, res, false
	}
	inv := m.console("GET", "/-/console/inventory", nil, "", []*http.Cookie{{Name: "botgate_session", Value: s.cookie}})
	if mt := csrfField.FindSubmatch(inv.body); mt != nil {
		s.csrf = string(mt[1])
	}
	if s.csrf == "" {
		m.t.Fatalf("signed in, the inventory has no CSRF token: HTTP %d %.300s", inv.status, inv.body)
	}
	return s, res, true
}

// session returns the case token's console session, signing in once.
func (m *mx) session(secret string) (consoleSession, bool) {
	if s, ok := m.sessions[secret]; ok {
		return s, s.cookie != ""
	}
	s, _, ok := m.signIn(secret)
	m.sessions[secret] = s
	return s, ok
}

// console sends a console request without following redirects; a redirect
// to the sign-in page reads as statusToSignIn.
func (m *mx) console(method, path string, form url.Values, token string, cookies []*http.Cookie) response {
	m.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, m.srv.URL+path, body)
	if err != nil {
		m.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	out := m.roundTrip(req)
	if out.status == http.StatusSeeOther && strings.HasPrefix(out.header.Get("Location"), "/-/console/sign_in") {
		out.status = statusToSignIn
	}
	return out
}

// sendConsole sends a console case: the case's session (a new one for a
// row that ends it), and its token in PRIVATE-TOKEN too, which the console
// must ignore.
func (m *mx) sendConsole(r *mRow, method, path string, c *mCase, fresh bool) response {
	m.t.Helper()
	switch r.mode {
	case "console-sign-in":
		_, res, _ := m.signIn(c.tok.secret)
		return res
	case "console-cookie-only":
		s, _ := m.session(c.tok.secret)
		return m.console(method, path, nil, "", []*http.Cookie{{Name: "botgate_session", Value: s.cookie}})
	}
	s, _ := m.session(c.tok.secret)
	if r.consumes && fresh {
		s, _, _ = m.signIn(c.tok.secret)
	}
	var form url.Values
	if method == "POST" {
		form = url.Values{"csrf": {s.csrf}}
		if r.mode == "console-no-csrf" {
			form = url.Values{}
		}
	}
	var cookies []*http.Cookie
	if s.cookie != "" {
		cookies = append(cookies, &http.Cookie{Name: "botgate_session", Value: s.cookie})
	}
	return m.console(method, path, form, c.tok.secret, cookies)
}

// sendForm posts a form body with the case's token in PRIVATE-TOKEN.
func (m *mx) sendForm(path, secret string, form url.Values) response {
	m.t.Helper()
	return m.console("POST", path, form, secret, nil)
}

// consoleSessions checks the session's life: the cookie a browser brought
// before signing in is never adopted (fixation), signing out ends the
// session on the server, and so does revoking the token it signed in with.
func consoleSessions(t *testing.T, m *mx) {
	owner := m.users["owner"]
	page := func(cookie string) int {
		return m.console("GET", "/-/console/inventory", nil, "", []*http.Cookie{{Name: "botgate_session", Value: cookie}}).status
	}
	tok := m.mint(t, matrixActors[1], "api", nil)
	if matrixActors[1].name != "owner" || tok.userID != owner.ID {
		t.Fatalf("matrixActors[1] is %s, want owner", matrixActors[1].name)
	}
	planted := "planted-by-the-attacker"
	form := m.console("GET", "/-/console/sign_in", nil, "", []*http.Cookie{{Name: "botgate_session", Value: planted}})
	csrf := csrfField.FindSubmatch(form.body)
	var pre *http.Cookie
	for _, c := range (&http.Response{Header: form.header}).Cookies() {
		if c.Name == "botgate_sign_in" {
			pre = c
		}
	}
	if csrf == nil || pre == nil {
		t.Fatalf("sign-in form: HTTP %d", form.status)
	}
	res := m.console("POST", "/-/console/sign_in", url.Values{"csrf": {string(csrf[1])}, "token": {tok.secret}}, "",
		[]*http.Cookie{pre, {Name: "botgate_session", Value: planted}})
	var sid string
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == "botgate_session" {
			sid = c.Value
		}
	}
	if res.status != http.StatusSeeOther || sid == "" || sid == planted {
		t.Fatalf("sign-in with a planted cookie: HTTP %d, session %q; want a new session id", res.status, sid)
	}
	if got := page(planted); got != statusToSignIn {
		t.Errorf("the planted cookie after sign-in: HTTP %d, want a redirect to sign in", got)
	}
	if got := page(sid); got != http.StatusOK {
		t.Fatalf("the new session: HTTP %d, want 200", got)
	}
	s, _, ok := m.signIn(tok.secret)
	if !ok {
		t.Fatal("a second sign-in failed")
	}
	out := m.console("POST", "/-/console/sign_out", url.Values{"csrf": {s.csrf}}, "", []*http.Cookie{{Name: "botgate_session", Value: s.cookie}})
	if out.status != statusToSignIn {
		t.Fatalf("sign out: HTTP %d", out.status)
	}
	if got := page(s.cookie); got != statusToSignIn {
		t.Errorf("the signed-out session's cookie, sent again: HTTP %d, want a redirect to sign in", got)
	}
	if got := page(sid); got != http.StatusOK {
		t.Errorf("another session of the same token after one signed out: HTTP %d, want 200", got)
	}
	m.check(t, m.auth.RevokeToken(m.ctx, m.admin, tok.id))
	if got := page(sid); got != statusToSignIn {
		t.Errorf("a session whose token was revoked: HTTP %d, want a redirect to sign in", got)
	}
}
