// Package console serves botgate's web console: server-rendered pages
// (html/template, assets embedded in the binary, no script framework) that
// show the credentials inventory by team, automation and token, and let a
// person with the right role create, rotate and revoke tokens.
//
// A person signs in with their personal access token; the console keeps a
// server-side session (only the digest of its id is stored) and never
// gives the token back to the browser. Every page asks the authority, with
// the same rules as the API, what the person may see and do. Every form
// carries a per-session CSRF token; pages are served with a
// Content-Security-Policy that allows no inline script.
package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/lint"
)

//go:embed templates/*.html assets/*
var files embed.FS

// Linter builds the live lint report (governance.Governor's Lint).
type Linter func(ctx context.Context, cfg lint.Config) (*lint.Report, error)

// Config configures a Console.
type Config struct {
	Authority *authority.Service
	Store     botgate.Store
	// Vault lists secrets on the vault page; nil hides the page's list.
	Vault *authority.Vault
	// Linter serves the lint page; nil says the instance has none.
	Linter Linter
	// Trust lists the reverse proxies whose X-Forwarded-* headers are
	// believed (for the client address and whether the request came over
	// TLS).
	Trust  edge.Trust
	Logger *slog.Logger
	Clock  botgate.Clock
	// IdleTimeout ends a session unused for that long (default 30
	// minutes); MaxAge ends any session that old (default 12 hours).
	IdleTimeout time.Duration
	MaxAge      time.Duration
}

// Console serves the console's pages.
type Console struct {
	auth   *authority.Service
	store  botgate.Store
	vault  *authority.Vault
	linter Linter
	trust  edge.Trust
	log    *slog.Logger
	clock  botgate.Clock
	idle   time.Duration
	maxAge time.Duration
	pages  map[string]*template.Template
	assets http.Handler
	// flash holds each new secret until its one showing (see secrets.go).
	flashMu sync.Mutex
	flash   map[string]flashSecret
}

// New parses the templates and returns a Console.
func New(cfg Config) (*Console, error) {
	c := &Console{
		auth: cfg.Authority, store: cfg.Store, vault: cfg.Vault, linter: cfg.Linter, trust: cfg.Trust,
		log: cfg.Logger, clock: cfg.Clock, idle: cfg.IdleTimeout, maxAge: cfg.MaxAge,
		pages: map[string]*template.Template{}, flash: map[string]flashSecret{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = botgate.SystemClock{}
	}
	if c.idle <= 0 {
		c.idle = 30 * time.Minute
	}
	if c.maxAge <= 0 {
		c.maxAge = 12 * time.Hour
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := n[len("templates/") : len(n)-len(".html")]
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, n)
		if err != nil {
			return nil, err
		}
		c.pages[name] = t
	}
	sub, _ := fs.Sub(files, "assets")
	c.assets = http.StripPrefix("/-/console/assets/", http.FileServerFS(sub))
	return c, nil
}

// Handler returns the handler of one console route, by name, for
// httpapi's routes.go to register; it panics on an unknown name, a
// programming error found at start-up.
func (c *Console) Handler(name string) http.Handler {
	h, ok := map[string]http.Handler{
		"home":           c.public(c.home),
		"assets":         c.static(),
		"sign_in_form":   c.public(c.signInForm),
		"sign_in":        c.public(c.signIn),
		"sign_out":       c.form(c.signOut),
		"inventory":      c.page(c.inventory),
		"token":          c.page(c.token),
		"token_secret":   c.page(c.tokenSecret),
		"rotate":         c.form(c.rotate),
		"revoke_confirm": c.page(c.revokeConfirm),
		"revoke":         c.form(c.revoke),
		"create_token":   c.form(c.createToken),
		"lint":           c.page(c.lintPage),
		"leaks":          c.page(c.leaks),
		"audit":          c.page(c.audit),
		"vault":          c.page(c.vaultPage),
		"charts":         c.page(c.charts),
		"expiry_svg":     c.page(c.expirySVG),
		"requests_svg":   c.page(c.hourlySVG(func(ch *authority.Charts) map[string][]int { return ch.Requests }, "requests")),
		"refusals_svg":   c.page(c.hourlySVG(func(ch *authority.Charts) map[string][]int { return ch.Refusals }, "refusals or loop trips")),
		"group":          c.page(c.groupPage),
		"project":        c.page(c.projectPage),
		"user":           c.page(c.userPage),
	}[name]
	if !ok {
		panic("console: no route " + strconv.Quote(name))
	}
	return h
}

// static serves the embedded assets, cacheable, with the same security
// headers as pages.
func (c *Console) static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		c.assets.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows the console's own stylesheet, script and
// images and nothing inline: no inline script, no other origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every console answer carries.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// view is what every page template gets: the signed-in person (nil on the
// sign-in page), the CSRF token for its forms, the page's title and data.
type view struct {
	Title   string
	User    *botgate.User
	Admin   bool
	CSRF    string
	Nav     string
	Data    any
	Message string
}

// render writes the page with status.
func (c *Console) render(w http.ResponseWriter, status int, page string, v view) {
	t, ok := c.pages[page]
	if !ok {
		panic("console: no template " + page)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", v); err != nil {
		c.log.Error("console template failed", "page", page, "err", err)
	}
}

// statusOf maps an error's kind to an HTTP status, as the API does.
func statusOf(err error) int {
	switch botgate.KindOf(err) {
	case botgate.KindInvalid:
		return http.StatusBadRequest
	case botgate.KindNotFound:
		return http.StatusNotFound
	case botgate.KindConflict:
		return http.StatusConflict
	case botgate.KindUnauthenticated:
		return http.StatusUnauthorized
	case botgate.KindForbidden:
		return http.StatusForbidden
	case botgate.KindRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// fail renders err as an error page, saying why (internal causes are
// logged, not shown).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := statusOf(err)
	msg := botgate.MessageOf(err)
	if status == http.StatusInternalServerError {
		c.log.Error("console request failed", "request_id", w.Header().Get("X-Request-Id"), "path", r.URL.Path, "err", err)
		msg = "something went wrong; the server's log has the details (request " + w.Header().Get("X-Request-Id") + ")"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	v := view{Title: http.StatusText(status), Message: msg, Data: status}
	if s != nil {
		v.User, v.Admin, v.CSRF = s.id.User, s.id.User.Admin, s.csrf
	}
	c.render(w, status, "error", v)
}
