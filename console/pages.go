package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/lint"
)

// perPage is the inventory's page size.
const perPage = 50

func (c *Console) home(w http.ResponseWriter, r *http.Request) error {
	if _, err := c.loadSession(r); err == nil {
		http.Redirect(w, r, "/-/console/inventory", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/-/console/sign_in", http.StatusSeeOther)
	return nil
}

// signInData is the sign-in page's data.
type signInData struct{ Next string }

func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) error {
	return c.showSignIn(w, r, http.StatusOK, "")
}

// showSignIn renders the sign-in form with a fresh pre-session CSRF token
// (kept in a cookie and compared with the form's on submission).
func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	tok, err := randomID()
	if err != nil {
		return err
	}
	c.setCookie(w, r, signInCookie, tok, 600)
	c.render(w, status, "sign_in", view{Title: "Sign in", CSRF: tok, Message: msg,
		Data: signInData{Next: safeNext(r.FormValue("next"))}})
	return nil
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(signInCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		return &botgate.Error{Kind: botgate.KindForbidden, Message: "the sign-in form's CSRF token is missing or wrong; reload the page and sign in again"}
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	id, err := c.auth.SignIn(r.Context(), secret, c.meta(r))
	if err != nil {
		if k := botgate.KindOf(err); k == botgate.KindUnauthenticated || k == botgate.KindForbidden {
			msg := "that token does not sign in: it is unknown, revoked or expired"
			if k == botgate.KindForbidden {
				msg = botgate.MessageOf(err)
			}
			return c.showSignIn(w, r, statusOf(err), msg)
		}
		return err
	}
	if err := c.startSession(w, r, id); err != nil {
		return err
	}
	c.setCookie(w, r, signInCookie, "", -1)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	c.endSession(r, s.digest)
	if err := c.auth.SignedOut(r.Context(), s.actor()); err != nil {
		c.log.Warn("auditing a console sign-out failed", "err", err)
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/-/console/sign_in", http.StatusSeeOther)
	return nil
}

// with returns the view of a signed-in page.
func (s *session) view(title, nav string, data any) view {
	return view{Title: title, User: s.id.User, Admin: s.id.User.Admin && s.id.User.Active(), CSRF: s.csrf, Nav: nav, Data: data}
}

// inventoryData is the inventory page's data.
type inventoryData struct {
	Inv          *authority.Inventory
	TeamID       int64
	Project      string
	User         string
	Search       string
	Page, Pages  int
	PrevQ, NextQ string
	Now          time.Time
}

// intParam reads a positive integer query parameter (def when absent).
func intParam(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, botgate.Invalid(name, "%s must be a positive whole number", name)
	}
	return n, nil
}

func (c *Console) inventory(w http.ResponseWriter, r *http.Request, s *session) error {
	team, err := intParam(r, "team", 0)
	if err != nil {
		return err
	}
	page, err := intParam(r, "page", 1)
	if err != nil {
		return err
	}
	page = max(page, 1)
	qv := r.URL.Query()
	search, project, username := qv.Get("search"), qv.Get("project"), qv.Get("user")
	iq := authority.InventoryQuery{TeamID: team, Project: project, Search: search,
		Page: botgate.Page{Offset: int(page-1) * perPage, Limit: perPage}}
	if username != "" {
		u, err := c.auth.UserByRef(r.Context(), username)
		if err != nil {
			return err
		}
		iq.UserID = u.ID
	}
	inv, err := c.auth.Inventory(r.Context(), s.actor(), iq)
	if err != nil {
		return err
	}
	d := inventoryData{Inv: inv, TeamID: team, Project: project, User: username, Search: search, Page: int(page),
		Pages: max(1, (inv.Total+perPage-1)/perPage), Now: c.clock.Now()}
	q := func(p int) string {
		return "team=" + strconv.FormatInt(team, 10) + "&project=" + urlQuery(project) + "&user=" + urlQuery(username) +
			"&search=" + urlQuery(search) + "&page=" + strconv.Itoa(p)
	}
	if d.Page > 1 {
		d.PrevQ = q(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.NextQ = q(d.Page + 1)
	}
	c.render(w, http.StatusOK, "inventory", s.view("Inventory", "inventory", d))
	return nil
}

// The API's web_url fields point at these addresses: a group, a project
// or a user, each shown as the inventory narrowed to it. The authority
// decides, as for the API, whether the person may see the group or
// project at all.

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) error {
	res, err := c.auth.Resource(r.Context(), s.actor(), botgate.GroupResource, r.PathValue("path"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/-/console/inventory?team="+strconv.FormatInt(res.ID, 10), http.StatusSeeOther)
	return nil
}

func (c *Console) projectPage(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := c.auth.Project(r.Context(), s.actor(), r.PathValue("path"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/-/console/inventory?project="+urlQuery(p.PathWithNamespace), http.StatusSeeOther)
	return nil
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.auth.UserByRef(r.Context(), r.PathValue("username"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/-/console/inventory?user="+urlQuery(u.Username), http.StatusSeeOther)
	return nil
}

// tokenData is the token page's data.
type tokenData struct {
	Token      *botgate.Token
	Family     []*botgate.Token
	Usage      []botgate.RouteUsage
	ScopesUsed botgate.Scopes
	Unused     botgate.Scopes
	Automation *botgate.Automation
	Secret     string
	Now        time.Time
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, botgate.NotFound("Token")
	}
	return id, nil
}

// tokenView reads the token and what its page shows, if the person may
// manage it (the authority's TokenFamily rule, as GET
// /api/botgate/v1/tokens/:id).
func (c *Console) tokenView(r *http.Request, s *session) (*tokenData, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	t, fam, err := c.auth.TokenFamily(r.Context(), s.actor(), id)
	if err != nil {
		return nil, err
	}
	d := &tokenData{Token: t, Family: fam, Now: c.clock.Now()}
	err = c.store.View(r.Context(), func(tx botgate.Tx) error {
		var err error
		if d.Usage, err = tx.FindRouteUsage(r.Context(), t.ID); err != nil {
			return err
		}
		if t.Automation != "" {
			d.Automation, err = tx.AutomationByName(r.Context(), t.Automation)
			if botgate.IsKind(err, botgate.KindNotFound) {
				d.Automation, err = nil, nil
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	d.ScopesUsed = authority.InventoryRow{Usage: d.Usage}.ScopesUsed()
	for _, sc := range t.Scopes {
		if !d.ScopesUsed.Has(sc) {
			d.Unused = append(d.Unused, sc)
		}
	}
	return d, nil
}

func (c *Console) token(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.tokenView(r, s)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "token", s.view("Token "+d.Token.Name, "inventory", d))
	return nil
}

// requireAPI refuses a write to a session whose token lacks the api scope,
// as the API's write routes do.
func requireAPI(s *session) error {
	if !s.id.Token.Scopes.Has(botgate.ScopeAPI) {
		return &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope,
			Message: "you signed in with a token without the api scope; sign in with one that has it to change tokens"}
	}
	return nil
}

func (c *Console) rotate(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := requireAPI(s); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	created, err := c.auth.RotateToken(r.Context(), s.actor(), id, nil)
	if err != nil {
		return err
	}
	c.showOnce(w, r, s, created)
	return nil
}

// blastData is the revoke confirmation's data: what revoking touches.
type blastData struct {
	*tokenData
	Bot     *botgate.User
	Targets []string
	Secrets []*botgate.Secret
}

func (c *Console) revokeConfirm(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.tokenView(r, s)
	if err != nil {
		return err
	}
	b := &blastData{tokenData: d}
	err = c.store.View(r.Context(), func(tx botgate.Tx) error {
		var err error
		if b.Bot, err = tx.User(r.Context(), d.Token.UserID); err != nil {
			return err
		}
		if d.Automation != nil {
			b.Targets = append(append(b.Targets, d.Automation.Projects...), d.Automation.Groups...)
		}
		if res := d.Token.Resource; res.ID != 0 {
			switch res.Type {
			case botgate.ProjectResource:
				if p, err := tx.Project(r.Context(), res.ID); err == nil {
					b.Targets = appendNew(b.Targets, p.PathWithNamespace)
				}
			case botgate.GroupResource:
				if g, err := tx.Group(r.Context(), res.ID); err == nil {
					b.Targets = appendNew(b.Targets, g.FullPath)
				}
			}
		}
		b.Secrets, _, err = tx.FindSecrets(r.Context(), botgate.SecretFilter{BoundFamilyID: d.Token.FamilyID})
		return err
	})
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "revoke", s.view("Revoke "+d.Token.Name, "inventory", b))
	return nil
}

func appendNew(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := requireAPI(s); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := c.auth.RevokeToken(r.Context(), s.actor(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/-/console/tokens/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// createToken creates a token for an automation: a project or group
// access token on its first target, or a token of its service account,
// through the same authority calls as the API, labelled with the
// automation.
func (c *Console) createToken(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := requireAPI(s); err != nil {
		return err
	}
	name := r.PathValue("name")
	var au *botgate.Automation
	err := c.store.View(r.Context(), func(tx botgate.Tx) (err error) {
		au, err = tx.AutomationByName(r.Context(), name)
		return err
	})
	if err != nil {
		return err
	}
	in := authority.NewToken{Name: au.Name, Description: au.Purpose, Scopes: au.Scopes.Strings(), AccessLevel: au.AccessLevel,
		Automation: au.Name}
	if au.ExpiresInDays > 0 {
		exp := botgate.Date(c.clock.Now()).AddDate(0, 0, au.ExpiresInDays)
		in.ExpiresAt = &exp
	}
	ctx, a := r.Context(), s.actor()
	var created *authority.Created
	switch {
	case au.Kind == botgate.AutomationProjectToken && len(au.Projects) > 0:
		res, err := c.auth.Resource(ctx, a, botgate.ProjectResource, au.Projects[0])
		if err != nil {
			return err
		}
		created, err = c.auth.CreateResourceToken(ctx, a, res, in)
		if err != nil {
			return err
		}
	case au.Kind == botgate.AutomationGroupToken && len(au.Groups) > 0:
		res, err := c.auth.Resource(ctx, a, botgate.GroupResource, au.Groups[0])
		if err != nil {
			return err
		}
		created, err = c.auth.CreateResourceToken(ctx, a, res, in)
		if err != nil {
			return err
		}
	case au.Kind == botgate.AutomationServiceAccount && au.ServiceAccount != "":
		sa, err := c.auth.UserByRef(ctx, au.ServiceAccount)
		if err != nil {
			return err
		}
		in.AccessLevel = 0
		created, err = c.auth.CreateServiceAccountToken(ctx, a, sa.ID, in)
		if err != nil {
			return err
		}
	default:
		return botgate.Invalid("automation", "automation %s names no target to create its token on", au.Name)
	}
	c.showOnce(w, r, s, created)
	return nil
}

// lintData is the lint page's data.
type lintData struct {
	Report *lint.Report
	None   bool
}

func (c *Console) lintPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := requireAdmin(s, "the lint report"); err != nil {
		return err
	}
	d := lintData{None: c.linter == nil}
	if c.linter != nil {
		var err error
		if d.Report, err = c.linter(r.Context(), lint.Config{}); err != nil {
			return err
		}
	}
	c.render(w, http.StatusOK, "lint", s.view("Lint", "lint", d))
	return nil
}

// requireAdmin refuses a page that the API shows administrators only.
func requireAdmin(s *session, what string) error {
	if !s.id.User.Admin || !s.id.User.Active() {
		return botgate.Errorf(botgate.KindForbidden, "%s is for administrators", what)
	}
	return nil
}

// auditData is the audit and leak pages' data.
type auditData struct {
	Events      []*botgate.AuditEvent
	Action      string
	TokenID     int64
	Verify      *authority.VerifyResult
	Page        int
	PrevQ, Next string
}

func (c *Console) auditEvents(r *http.Request, s *session, action string) (*auditData, error) {
	tokenID, err := intParam(r, "token_id", 0)
	if err != nil {
		return nil, err
	}
	page, err := intParam(r, "page", 1)
	if err != nil {
		return nil, err
	}
	page = max(page, 1)
	d := &auditData{Action: action, TokenID: tokenID, Page: int(page)}
	events, err := c.auth.AuditEvents(r.Context(), s.actor(), botgate.AuditFilter{Action: action, TokenID: tokenID,
		Descending: true, Page: botgate.Page{Offset: int(page-1) * perPage, Limit: perPage + 1}})
	if err != nil {
		return nil, err
	}
	base := "action=" + urlQuery(action) + "&token_id=" + strconv.FormatInt(tokenID, 10) + "&page="
	if len(events) > perPage {
		events = events[:perPage]
		d.Next = base + strconv.Itoa(d.Page+1)
	}
	if d.Page > 1 {
		d.PrevQ = base + strconv.Itoa(d.Page-1)
	}
	d.Events = events
	return d, nil
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.auditEvents(r, s, strings.TrimSpace(r.URL.Query().Get("action")))
	if err != nil {
		return err
	}
	res, err := c.auth.VerifyAuditAs(r.Context(), s.actor())
	if err != nil {
		return err
	}
	d.Verify = &res
	c.render(w, http.StatusOK, "audit", s.view("Audit trail", "audit", d))
	return nil
}

func (c *Console) leaks(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.auditEvents(r, s, authority.ActionTokenLeaked)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "leaks", s.view("Leak reports", "leaks", d))
	return nil
}

// vaultTeam is one team's secrets on the vault page.
type vaultTeam struct {
	Team    *botgate.Group
	Secrets []*botgate.Secret
	Total   int
	Error   string
}

func (c *Console) vaultPage(w http.ResponseWriter, r *http.Request, s *session) error {
	var teams []vaultTeam
	if c.vault != nil {
		inv, err := c.auth.Inventory(r.Context(), s.actor(), authority.InventoryQuery{Page: botgate.Page{Limit: 1}})
		if err != nil {
			return err
		}
		for _, g := range inv.Teams {
			secs, total, err := c.vault.ListSecrets(r.Context(), s.actor(), g.ID, botgate.Page{Limit: 100})
			vt := vaultTeam{Team: g, Secrets: secs, Total: total}
			if err != nil {
				if k := botgate.KindOf(err); k != botgate.KindForbidden && k != botgate.KindNotFound {
					return err
				}
				vt.Error = botgate.MessageOf(err)
			}
			teams = append(teams, vt)
		}
	}
	// Who read which secret when: the audit trail's reads, which the API
	// shows administrators only.
	var reads *auditData
	if s.id.User.Admin && c.vault != nil {
		events, err := c.auth.AuditEvents(r.Context(), s.actor(), botgate.AuditFilter{Action: botgate.ActionSecretRead,
			Descending: true, Page: botgate.Page{Limit: perPage}})
		if err != nil {
			return err
		}
		reads = &auditData{Events: events}
	}
	c.render(w, http.StatusOK, "vault", s.view("Vault", "vault", map[string]any{"Teams": teams, "None": c.vault == nil, "Reads": reads}))
	return nil
}
