package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/ratelimit"
)

// need is the scope a route requires; the token must hold one of the
// scopes need.scopes lists.
type need int

// The scope requirements.
const (
	needRead       need = iota // read_api or api
	needWrite                  // api
	needUser                   // read_user, read_api or api
	needSelfRotate             // self_rotate or api
	needAny                    // any scope (the token's own self endpoints)
	needManage                 // manage_automations or api (the manifest endpoints, and nothing else)
)

func (n need) scopes() []botgate.Scope {
	switch n {
	case needRead:
		return []botgate.Scope{botgate.ScopeAPI, botgate.ScopeReadAPI}
	case needWrite:
		return []botgate.Scope{botgate.ScopeAPI}
	case needUser:
		return []botgate.Scope{botgate.ScopeAPI, botgate.ScopeReadAPI, botgate.ScopeReadUser}
	case needSelfRotate:
		return []botgate.Scope{botgate.ScopeAPI, botgate.ScopeSelfRotate}
	case needManage:
		return []botgate.Scope{botgate.ScopeAPI, botgate.ScopeManageAutomations}
	}
	return nil
}

// call is an authenticated request: who asks, with which token, acting as
// whom (Sudo).
type call struct {
	id    *authority.Identity
	actor authority.Actor
	meta  authority.RequestMeta
}

// authedFunc is a handler for an authenticated request.
type authedFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// authenticate authenticates the request's credential, read by the one
// rule of edge.Credential (query tokens accepted, as GitLab's API does),
// from the client address edge.Trust finds.
func (s *Server) authenticate(r *http.Request) (*authority.Identity, authority.RequestMeta, error) {
	ip, _ := s.trust.ClientIP(r.RemoteAddr, r.Header)
	meta := authority.RequestMeta{IP: ip, UserAgent: r.UserAgent()}
	secret, err := edge.Credential(r.Header, r.URL.RawQuery, edge.CredentialOptions{AllowQuery: true})
	if err != nil {
		if errors.Is(err, edge.ErrNoCredential) {
			return nil, meta, botgate.E(botgate.KindUnauthenticated)
		}
		return nil, meta, err
	}
	if strings.HasSuffix(r.URL.Path, "/rotate") {
		meta.Purpose = authority.PurposeRotate
	}
	id, err := s.auth.Authenticate(r.Context(), secret, meta)
	return id, meta, err
}

// authed wraps h: it authenticates the request, checks the token's scopes
// against n, and applies Sudo.
func (s *Server) authed(n need, h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, meta, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if limited := s.rateLimit(w, r, id); limited {
			return nil
		}
		if want := n.scopes(); len(want) > 0 && !id.Token.Scopes.HasAny(want...) {
			return &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: botgate.Scopes(want).String()}
		}
		c := &call{id: id, actor: id.Actor(meta), meta: meta}
		if sudo := sudoTarget(r); sudo != "" {
			if !id.User.Admin || !id.Token.Scopes.Has(botgate.ScopeSudo) {
				return botgate.Errorf(botgate.KindForbidden, "Must be admin to use sudo")
			}
			u, err := s.auth.UserByRef(r.Context(), sudo)
			if err != nil {
				if botgate.IsKind(err, botgate.KindNotFound) {
					return botgate.NotFound("User with ID or username '" + sudo + "'")
				}
				return err
			}
			if !u.Active() {
				return botgate.Errorf(botgate.KindForbidden, "the user %s is %s", u.Username, u.State)
			}
			c.actor.User = u
		}
		return h(w, r, c)
	}
}

func sudoTarget(r *http.Request) string {
	if v := r.Header.Get("Sudo"); v != "" {
		return strings.TrimSpace(v)
	}
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("sudo")
}

// rateLimit applies the per-user API limit, if one is configured: it sets
// GitLab's RateLimit-* headers and, when the user is over the limit,
// answers 429 as GitLab's Rack::Attack does and reports true. A failing
// limiter lets the request through (and is logged): the limit protects the
// service, it does not guard access.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, id *authority.Identity) bool {
	return s.rateLimitKey(w, r, "user:"+strconv.FormatInt(id.User.ID, 10))
}

// rateLimitKey is rateLimit for the client the key names ("user:7").
func (s *Server) rateLimitKey(w http.ResponseWriter, r *http.Request, key string) bool {
	if s.limiter == nil {
		return false
	}
	res, err := s.limiter.Allow(r.Context(), "api:"+key, s.limit, 1)
	if err != nil {
		s.log.Error("rate limiter failed; request allowed", "request_id", w.Header().Get("X-Request-Id"), "err", err)
		return false
	}
	w.Header().Set("RateLimit-Name", "throttle_authenticated_api")
	ratelimit.Headers(w.Header(), res, s.clock.Now())
	if res.Allowed {
		return false
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
	return true
}
