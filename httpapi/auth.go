package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
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

// credentialQueryParams are the query parameters that carry a credential.
// They are accepted for compatibility and never logged.
var credentialQueryParams = []string{"private_token", "access_token", "job_token"}

// credential returns the token presented with the request, looking where
// GitLab looks: the PRIVATE-TOKEN header, the private_token parameter,
// Authorization: Bearer, the access_token parameter, the JOB-TOKEN header
// and the job_token parameter.
func credential(r *http.Request) string {
	if v := r.Header.Get("Private-Token"); v != "" {
		return strings.TrimSpace(v)
	}
	var q url.Values // nil reads as empty: most requests have no query to parse
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	if v := q.Get("private_token"); v != "" {
		return v
	}
	if v := r.Header.Get("Authorization"); v != "" {
		if scheme, tok, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	if v := q.Get("access_token"); v != "" {
		return v
	}
	if v := r.Header.Get("Job-Token"); v != "" {
		return strings.TrimSpace(v)
	}
	return q.Get("job_token")
}

// authed wraps h: it authenticates the request, checks the token's scopes
// against n, and applies Sudo.
func (s *Server) authed(n need, h authedFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		secret := credential(r)
		if secret == "" {
			return &botgate.Error{Kind: botgate.KindUnauthenticated, Message: "401 Unauthorized"}
		}
		meta := authority.RequestMeta{IP: s.clientIP(r), UserAgent: r.UserAgent()}
		if strings.HasSuffix(r.URL.Path, "/rotate") {
			meta.Purpose = authority.PurposeRotate
		}
		id, err := s.auth.Authenticate(r.Context(), secret, meta)
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
				return botgate.Errorf(botgate.KindForbidden, "403 Forbidden - Must be admin to use sudo")
			}
			u, err := s.auth.UserByRef(r.Context(), sudo)
			if err != nil {
				if botgate.IsKind(err, botgate.KindNotFound) {
					return botgate.NotFound("User with ID or username '" + sudo + "'")
				}
				return err
			}
			if !u.Active() {
				return botgate.Errorf(botgate.KindForbidden, "403 Forbidden - the user %s is %s", u.Username, u.State)
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

// clientIP returns the address of the client: the peer address, or, when
// the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	peer := remoteAddr(r)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		if !s.trusted(hops[i]) {
			return hops[i].String()
		}
	}
	if len(hops) > 0 {
		return hops[0].String()
	}
	return peer.String()
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func forwardedFor(r *http.Request) []netip.Addr {
	var out []netip.Addr
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromTrustedProxy reports whether the peer is a trusted proxy, whose
// X-Forwarded-* headers may be believed.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	a := remoteAddr(r)
	return a.IsValid() && s.trusted(a)
}

// redactQuery returns the raw query with credential parameters' values
// replaced, for logging. An unparsable query is not logged at all.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "[unparsable]"
	}
	for k := range q {
		if isCredentialParam(k) {
			q[k] = []string{"[REDACTED]"}
		}
	}
	return q.Encode()
}

func isCredentialParam(k string) bool {
	if strings.EqualFold(k, "token") {
		// POST/DELETE /admin/token may carry the looked-up token here.
		return true
	}
	for _, c := range credentialQueryParams {
		if strings.EqualFold(k, c) {
			return true
		}
	}
	return false
}

// rateLimit applies the per-user API limit, if one is configured: it sets
// GitLab's RateLimit-* headers and, when the user is over the limit,
// answers 429 as GitLab's Rack::Attack does and reports true. A failing
// limiter lets the request through (and is logged): the limit protects the
// service, it does not guard access.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, id *authority.Identity) bool {
	if s.limiter == nil {
		return false
	}
	res, err := s.limiter.Allow(r.Context(), "api:user:"+strconv.FormatInt(id.User.ID, 10), s.limit, 1)
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
