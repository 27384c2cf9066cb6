package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// The console's cookies. The session cookie holds a random id whose
// SHA-256 digest the store keeps; the sign-in cookie holds the CSRF token
// of the sign-in form, before there is a session.
const (
	sessionCookie = "botgate_session"
	signInCookie  = "botgate_sign_in"
)

// touchEvery bounds how often a session's last-seen time is written.
const touchEvery = time.Minute

// session is a signed-in request: the person, the token they signed in
// with, and the CSRF token of their forms.
type session struct {
	digest []byte
	id     *authority.Identity
	meta   authority.RequestMeta
	csrf   string
}

// actor is the session's person as the authority's Actor.
func (s *session) actor() authority.Actor { return s.id.Actor(s.meta) }

// randomID returns 32 random bytes, base64url-encoded.
func randomID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func digestOf(id string) []byte {
	d := sha256.Sum256([]byte(id))
	return d[:]
}

// csrfOf derives a session's CSRF token from its id: only the holder of
// the session cookie can know it, and the server needs to store nothing.
func csrfOf(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("botgate console csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// sameToken compares a submitted CSRF token with the expected one in
// constant time.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// secure reports whether the request reached botgate over TLS, directly
// or through a trusted proxy that says so.
func (c *Console) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	_, fromProxy := c.trust.ClientIP(r.RemoteAddr, r.Header)
	return fromProxy && r.Header.Get("X-Forwarded-Proto") == "https"
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Secure under
// TLS, for the whole site; maxAge < 0 deletes it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r)})
}

// meta describes where the request came from.
func (c *Console) meta(r *http.Request) authority.RequestMeta {
	ip, _ := c.trust.ClientIP(r.RemoteAddr, r.Header)
	return authority.RequestMeta{IP: ip, UserAgent: r.UserAgent()}
}

// startSession stores a new session for the identity and sets its
// cookie.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, id *authority.Identity) error {
	sid, err := randomID()
	if err != nil {
		return err
	}
	now := c.clock.Now()
	meta := c.meta(r)
	s := &botgate.Session{Digest: digestOf(sid), UserID: id.User.ID, TokenID: id.Token.ID, CreatedAt: now, LastSeenAt: now,
		IP: meta.IP, UserAgent: meta.UserAgent}
	err = c.store.Update(r.Context(), func(tx botgate.Tx) error {
		// Sweep the sessions that have timed out, so that the table holds
		// live sessions only.
		if _, err := tx.DeleteSessions(r.Context(), now.Add(-c.idle), now.Add(-c.maxAge)); err != nil {
			return err
		}
		return tx.CreateSession(r.Context(), s)
	})
	if err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, sid, int(c.maxAge/time.Second))
	return nil
}

// errNoSession is a request without a live session.
var errNoSession = &botgate.Error{Kind: botgate.KindUnauthenticated, Message: "sign in to use the console"}

// loadSession returns the request's live session: its cookie names a
// stored session that is neither idle nor too old, and whose token and
// person the authority still admits. A dead session is deleted.
func (c *Console) loadSession(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	ctx := r.Context()
	digest := digestOf(ck.Value)
	var stored *botgate.Session
	err = c.store.View(ctx, func(tx botgate.Tx) (err error) {
		stored, err = tx.SessionByDigest(ctx, digest)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := c.clock.Now()
	end := func() (*session, error) {
		c.endSession(r, digest)
		return nil, &botgate.Error{Kind: botgate.KindUnauthenticated, Message: "your session has ended; sign in again"}
	}
	if now.Sub(stored.LastSeenAt) > c.idle || now.Sub(stored.CreatedAt) > c.maxAge {
		return end()
	}
	id, err := c.auth.SessionIdentity(ctx, stored.TokenID)
	if botgate.IsKind(err, botgate.KindUnauthenticated) || botgate.IsKind(err, botgate.KindForbidden) {
		return end()
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(stored.LastSeenAt) >= touchEvery {
		err := c.store.Update(ctx, func(tx botgate.Tx) error { return tx.TouchSession(ctx, digest, now) })
		if err != nil && !botgate.IsKind(err, botgate.KindNotFound) {
			return nil, err
		}
	}
	return &session{digest: digest, id: id, meta: c.meta(r), csrf: csrfOf(ck.Value)}, nil
}

// endSession deletes the stored session.
func (c *Console) endSession(r *http.Request, digest []byte) {
	err := c.store.Update(r.Context(), func(tx botgate.Tx) error { return tx.DeleteSession(r.Context(), digest) })
	if err != nil && !botgate.IsKind(err, botgate.KindNotFound) {
		c.log.Warn("ending a console session failed", "err", err)
	}
}

// pageFunc answers a signed-in request.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page serves a signed-in page: without a live session it sends the
// browser to sign in (and back here after).
func (c *Console) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		s, err := c.loadSession(r)
		if err != nil {
			if botgate.IsKind(err, botgate.KindUnauthenticated) {
				http.Redirect(w, r, "/-/console/sign_in?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// form serves a signed-in form submission: it needs a live session and
// the session's CSRF token in the form's csrf field, or it is refused 403
// and nothing happens.
func (c *Console) form(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s, err := c.loadSession(r)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if !sameToken(r.PostFormValue("csrf"), s.csrf) {
			c.fail(w, r, s, &botgate.Error{Kind: botgate.KindForbidden,
				Message: "the form's CSRF token is missing or wrong; reload the page and submit it again"})
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// public serves a page that needs no session.
func (c *Console) public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		if err := h(w, r); err != nil {
			c.fail(w, r, nil, err)
		}
	})
}

// safeNext returns next if it is a console path on this site, else the
// inventory: the sign-in redirect never leaves the console.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || len(next) < 2 || next[0] != '/' || next[1] == '/' || next[1] == '\\' {
		return "/-/console/inventory"
	}
	return next
}
