package gateway

import (
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// route is a compiled RouteConfig.
type route struct {
	name        string
	host        string
	prefix      string
	upstream    *url.URL // nil: forward-auth only
	gitlab      bool
	credential  string
	credHeader  string
	credPrefix  string
	timeout     time.Duration
	dialTimeout time.Duration
	rules       []rule
}

// Name returns the route's configured name.
func (r *route) Name() string { return r.name }

// rule is a compiled RuleConfig.
type rule struct {
	method  string // "" for any
	pattern string
	segs    []string
	rest    bool // the pattern ends in "*"
	scopes  botgate.Scopes
	deny    bool
}

func compileRoute(rc RouteConfig) (*route, error) {
	bad := func(field, format string, args ...any) error { return botgate.Invalid(field, format, args...) }
	if rc.Name == "" {
		return nil, bad("name", "a route needs a name")
	}
	r := &route{
		name:        rc.Name,
		host:        strings.ToLower(rc.Host),
		prefix:      rc.PathPrefix,
		gitlab:      rc.GitLab,
		credential:  rc.Credential,
		credHeader:  rc.CredentialHeader,
		credPrefix:  rc.CredentialPrefix,
		timeout:     rc.Timeout,
		dialTimeout: rc.DialTimeout,
	}
	if r.prefix == "" {
		r.prefix = "/"
	}
	if !strings.HasPrefix(r.prefix, "/") {
		return nil, bad("path_prefix", "route %q: path_prefix must start with /", rc.Name)
	}
	if r.credHeader == "" {
		r.credHeader = "PRIVATE-TOKEN"
	}
	if r.timeout <= 0 {
		r.timeout = 60 * time.Second
	}
	if r.dialTimeout <= 0 {
		r.dialTimeout = 10 * time.Second
	}
	if rc.Upstream != "" {
		u, err := botgate.ParseHTTPURL("upstream", rc.Upstream)
		if err != nil {
			return nil, bad("upstream", "route %q: %s", rc.Name, botgate.MessageOf(err))
		}
		r.upstream = u
	}
	if rc.Credential != "" && !strings.HasPrefix(rc.Credential, "env:") && !strings.HasPrefix(rc.Credential, "file:") &&
		!strings.Contains(rc.Credential, ":") {
		return nil, bad("credential", "route %q: credential must be a reference such as env:NAME or file:PATH, never the secret itself", rc.Name)
	}
	for i, rc2 := range rc.Rules {
		ru, err := compileRule(rc2)
		if err != nil {
			return nil, bad("rules", "route %q rule %d: %s", rc.Name, i, botgate.MessageOf(err))
		}
		r.rules = append(r.rules, ru)
	}
	return r, nil
}

func compileRule(rc RuleConfig) (rule, error) {
	ru := rule{method: strings.ToUpper(rc.Method), pattern: rc.Path, deny: rc.Deny}
	if ru.method == "*" {
		ru.method = ""
	}
	if !strings.HasPrefix(rc.Path, "/") {
		return ru, botgate.Invalid("path", "path pattern %q must start with /", rc.Path)
	}
	segs := strings.Split(rc.Path[1:], "/")
	if segs[len(segs)-1] == "*" {
		ru.rest = true
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		if s == "*" {
			return ru, botgate.Invalid("path", "in %q, * may only end a pattern", rc.Path)
		}
	}
	ru.segs = segs
	switch {
	case rc.Deny && len(rc.Scopes) > 0:
		return ru, botgate.Invalid("scopes", "a deny rule takes no scopes")
	case rc.Deny:
	default:
		if len(rc.Scopes) == 0 {
			return ru, botgate.Invalid("scopes", "a rule needs scopes (any one of them is enough) or deny: true")
		}
		for _, s := range rc.Scopes {
			sc := botgate.Scope(strings.TrimSpace(s))
			if !sc.Known() {
				return ru, botgate.Invalid("scopes", "unknown scope %q", s)
			}
			ru.scopes = append(ru.scopes, sc) // kept in the written order: weakest first
		}
	}
	return ru, nil
}

// matches reports whether the rule matches the method and the canonical
// path's segments; fixed words match without regard to case
// (edge.Word).
func (ru *rule) matches(method string, segs []string) bool {
	if ru.method != "" && ru.method != method {
		return false
	}
	if len(segs) < len(ru.segs) || (!ru.rest && len(segs) != len(ru.segs)) {
		return false
	}
	for i, p := range ru.segs {
		if strings.HasPrefix(p, ":") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if !edge.Word(segs[i], p) {
			return false
		}
	}
	return true
}

// Scopes needed by default: reads need read_api or api, writes need api.
var (
	readScopes  = botgate.Scopes{botgate.ScopeReadAPI, botgate.ScopeAPI}
	writeScopes = botgate.Scopes{botgate.ScopeAPI}
)

// policy is what a request needs.
type policy struct {
	scopes  botgate.Scopes // any one of them; weakest first
	deny    bool
	pattern string // the matched rule's pattern, or "" to normalize the path
}

// policyFor returns the policy for the method and path segments.
func (r *route) policyFor(method string, segs []string) policy {
	for i := range r.rules {
		ru := &r.rules[i]
		if ru.matches(method, segs) {
			return policy{scopes: ru.scopes, deny: ru.deny, pattern: ru.pattern}
		}
	}
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return policy{scopes: readScopes}
	}
	return policy{scopes: writeScopes}
}

// matchRoute returns the first route for the host and the canonical
// path, or nil. Prefixes compare without regard to case, as route words do.
func matchRoute(routes []*route, host, path string) *route {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	for _, r := range routes {
		if r.host != "" && !strings.EqualFold(r.host, host) {
			continue
		}
		if len(path) >= len(r.prefix) && strings.EqualFold(path[:len(r.prefix)], r.prefix) {
			return r
		}
	}
	return nil
}

// resourceRef returns the project or group a GitLab API path addresses:
// /api/v4/projects/:id/… or /api/v4/groups/:id/…, with a numeric id or a
// URL-encoded full path. ok is false for other paths.
func resourceRef(segs []string) (typ botgate.ResourceType, ref string, ok bool) {
	if len(segs) < 4 || !edge.Word(segs[0], "api") || !edge.Word(segs[1], "v4") || segs[3] == "" {
		return "", "", false
	}
	switch {
	case edge.Word(segs[2], "projects"):
		typ = botgate.ProjectResource
	case edge.Word(segs[2], "groups"):
		typ = botgate.GroupResource
	default:
		return "", "", false
	}
	return typ, segs[3], true
}

// normalize turns a path into a route pattern for usage records:
// resource ids and paths, numbers, hex digests and every segment that is
// not a fixed route word become parameters, so that the calls of one
// endpoint count together, the records stay bounded and no identifier
// values are recorded.
func normalize(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		b.WriteByte('/')
		switch {
		case i > 0 && (segs[i-1] == "projects" || segs[i-1] == "groups" || segs[i-1] == "users" ||
			segs[i-1] == "namespaces") && s != "":
			b.WriteString(":id")
		case isDigits(s):
			b.WriteString(":id")
		case len(s) >= 7 && len(s) <= 64 && isHex(s) && !isDigits(s):
			b.WriteString(":sha")
		case routeWord(s):
			b.WriteString(s)
		default:
			// Names, refs, file paths and anything else a caller chooses:
			// a parameter, so that the records stay few and hold no data.
			b.WriteString(":param")
		}
	}
	if len(segs) == 0 {
		return "/"
	}
	return b.String()
}

// routeWord reports whether a path segment is a fixed word of an API's
// routes: lower-case letters and '_' (merge_requests), a version such as
// v4, or GitLab's "-" separator.
func routeWord(s string) bool {
	if s == "" || s == "-" {
		return true
	}
	if len(s) > 40 {
		return false
	}
	if s[0] == 'v' && len(s) <= 3 && isDigits(s[1:]) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// pathInfo is what the gateway derives from an escaped path: its
// canonical form (edge.CanonicalPath), on which every decision is taken and
// which the proxy forwards.
type pathInfo struct {
	canonical string
	segs      []string
	pattern   string // normalize(segs)
}

// pathCache remembers checked and normalized paths, which repeat a lot
// (a poller asks for the same paths all day). It is bounded: when full it
// starts over. Refused paths are not cached.
type pathCache struct {
	max int
	mu  sync.RWMutex
	m   map[string]*pathInfo
}

func newPathCache(max int) *pathCache { return &pathCache{max: max, m: make(map[string]*pathInfo)} }

func (c *pathCache) get(escaped string) (*pathInfo, error) {
	c.mu.RLock()
	pi := c.m[escaped]
	c.mu.RUnlock()
	if pi != nil {
		return pi, nil
	}
	p, err := edge.CanonicalPath(escaped)
	if err != nil {
		return nil, err
	}
	pi = &pathInfo{canonical: p.Canonical, segs: p.Segs, pattern: normalize(p.Segs)}
	if len(escaped) <= 512 {
		c.mu.Lock()
		if len(c.m) >= c.max {
			clear(c.m)
		}
		c.m[escaped] = pi
		c.mu.Unlock()
	}
	return pi, nil
}
