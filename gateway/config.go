package gateway

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/internal/yamlfile"
	"github.com/botgate/botgate/ratelimit"
)

// FileConfig is the gateway's configuration file (YAML). Every field is
// optional; LoadConfig fills in the defaults documented on each field.
//
//	trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]
//	envoy_prefix: /-/auth/envoy
//	limits:
//	  default: {rate: 2000, period: 1m, burst: 2000}
//	  automations: {triage: {rate: 600, period: 1m}}
//	  tokens: {42: {rate: 60, period: 1m}}
//	loop: {threshold: 50, window: 1m, cooldown: 5m, suspend: true}
//	webhooks: {platform/tooling: https://hooks.example.com/botgate}
//	routes:
//	  - name: gitlab
//	    upstream: https://gitlab.example.com
//	    gitlab: true
//	    credential: env:GITLAB_UPSTREAM_TOKEN
//	    rules:
//	      - {method: POST, path: /api/v4/projects/:id/statuses/:sha, scopes: [api]}
//	      - {path: /api/v4/admin/*, deny: true}
type FileConfig struct {
	// TrustedProxies are the addresses or CIDR prefixes whose
	// X-Forwarded-For is believed. From any other peer the client address
	// is the peer's own.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// EnvoyPrefix is the path prefix under which Envoy ext_authz (HTTP
	// mode, path_prefix) sends the original request (default
	// "/-/auth/envoy").
	EnvoyPrefix string `yaml:"envoy_prefix"`
	// AllowQueryToken accepts a token in the private_token or access_token
	// query parameter, as GitLab does. Off by default: a token in a URL
	// ends up in access logs, so such requests are refused.
	AllowQueryToken bool `yaml:"allow_query_token"`
	// Limits are the per-token rate limits.
	Limits LimitsConfig `yaml:"limits"`
	// Loop configures the loop breaker.
	Loop LoopConfig `yaml:"loop"`
	// Webhooks maps a team (a group's full path) to the URL told when one
	// of its tokens trips the loop breaker. A team's webhook also serves
	// its subgroups; the key "*" serves every token without one.
	Webhooks map[string]string `yaml:"webhooks"`
	// MembershipTTL is how long a membership answer is cached (default
	// 1m; botgate serve also empties the cache within a second of any
	// membership change, through the store's authentication revision);
	// MembershipCacheSize bounds the cache (default 1,048,576: a million
	// active tokens).
	MembershipTTL       time.Duration `yaml:"membership_ttl"`
	MembershipCacheSize int           `yaml:"membership_cache_size"`
	// UsageFlushInterval is how often route usage is written (default 10s).
	UsageFlushInterval time.Duration `yaml:"usage_flush_interval"`
	// MaxTokenLength refuses longer credentials without looking at them
	// (default 512 bytes).
	MaxTokenLength int `yaml:"max_token_length"`
	// BodyReadTimeout bounds the wait for the body's first bytes, which the
	// loop breaker reads before anything is forwarded (default 30s): a
	// client that trickles its body is answered 408 instead of holding the
	// request open.
	BodyReadTimeout time.Duration `yaml:"body_read_timeout"`
	// Enforcement is the instance-wide mode of rate limits and the loop
	// breaker: enforce (the default) refuses what they deny, as each
	// automation's own mode says; shadow lets every such request through,
	// counting, marking (X-Botgate-Shadow) and auditing what would have
	// been refused. Instance-wide shadow overrides every automation's
	// enforce; an automation in shadow is shadowed under enforce too.
	Enforcement string `yaml:"enforcement"`
	// Routes map requests (by host and path prefix) to upstreams and
	// policies. Without routes, forward-auth uses one default route with
	// GitLab membership checks and the proxy has nowhere to send requests.
	Routes []RouteConfig `yaml:"routes"`
}

// LimitsConfig holds the default limit and its overrides. An override for
// the token wins over one for its automation, which wins over the default.
// There is no "unlimited": every limit must have a positive rate.
type LimitsConfig struct {
	// Default applies to every token without an override (default 2000 a
	// minute with a burst of 2000, GitLab.com's authenticated API limit).
	Default     *LimitConfig           `yaml:"default"`
	Automations map[string]LimitConfig `yaml:"automations"`
	Tokens      map[int64]LimitConfig  `yaml:"tokens"`
}

// LimitConfig is one limit: Rate requests per Period, bursts of Burst
// (default Burst = Rate, Period = 1m).
type LimitConfig struct {
	Rate   int           `yaml:"rate"`
	Period time.Duration `yaml:"period"`
	Burst  int           `yaml:"burst"`
}

// LoopConfig configures the loop breaker; zero fields take the defaults of
// ratelimit.BreakerConfig (more than 50 identical requests in 1 minute
// trip it; the shape is then refused for 5 minutes).
type LoopConfig struct {
	Threshold int           `yaml:"threshold"`
	Window    time.Duration `yaml:"window"`
	Cooldown  time.Duration `yaml:"cooldown"`
	MaxShapes int           `yaml:"max_shapes"`
	// Suspend revokes a token whose loop trips the breaker (as the system,
	// audited) instead of only refusing the looping request.
	Suspend bool `yaml:"suspend"`
	// BodyBytes is how much of a request body counts towards its shape
	// (default 64 KiB); the length of a longer body counts too.
	BodyBytes int `yaml:"body_bytes"`
	// RefusalDelay holds each refused loop request this long before the
	// 429 is sent (default 1s; 0 turns it off), so that a script retrying
	// at once on a 429 slows to one request per delay per connection
	// instead of spending the gateway's CPU that other tokens need. A
	// request refused by the rate limit is held as long, or until the
	// token has budget again if that is sooner. A client that goes away
	// is released at once.
	RefusalDelay *time.Duration `yaml:"refusal_delay"`
}

// RouteConfig is one route: the requests it takes, where they go and
// what they need.
type RouteConfig struct {
	// Name identifies the route in metrics and logs (required, unique).
	Name string `yaml:"name"`
	// Host, if set, restricts the route to that Host (without port).
	Host string `yaml:"host"`
	// PathPrefix restricts the route to paths below it (default "/").
	PathPrefix string `yaml:"path_prefix"`
	// Upstream is the base URL requests are forwarded to; empty for a
	// route used by forward-auth only.
	Upstream string `yaml:"upstream"`
	// GitLab turns on membership checks of /api/v4/projects/:id/… and
	// /api/v4/groups/:id/… paths.
	GitLab bool `yaml:"gitlab"`
	// Credential references the upstream credential the proxy injects:
	// "env:NAME" or "file:PATH" (the vault adds its own references).
	Credential string `yaml:"credential"`
	// CredentialHeader is the header it is sent in (default PRIVATE-TOKEN);
	// CredentialPrefix is put before it (e.g. "Bearer " for Authorization).
	CredentialHeader string `yaml:"credential_header"`
	CredentialPrefix string `yaml:"credential_prefix"`
	// Timeout bounds the wait for the upstream's response headers (default
	// 60s); DialTimeout the connection (default 10s).
	Timeout     time.Duration `yaml:"timeout"`
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Rules override the default scope policy (reads need read_api or api,
	// writes need api); the first rule that matches wins.
	Rules []RuleConfig `yaml:"rules"`
}

// RuleConfig sets the scopes a method and path pattern need. The pattern
// is matched against the URL-escaped path, segment by segment: ":name"
// matches one segment, a final "*" matches the rest (or nothing). An empty
// method or "*" matches every method.
type RuleConfig struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Scopes the call needs: any one of them, weakest first (the first is
	// recorded as the scope the call needed).
	Scopes []string `yaml:"scopes"`
	// Deny refuses the route to every token.
	Deny bool `yaml:"deny"`
}

// DefaultEnvoyPrefix is where Envoy ext_authz sends original requests.
const DefaultEnvoyPrefix = "/-/auth/envoy"

// DefaultLimit is GitLab.com's authenticated API limit.
var defaultLimit = botgate.Limit{Rate: 2000, Period: time.Minute, Burst: 2000}

// ParseConfig reads a YAML configuration, refusing unknown fields.
func ParseConfig(data []byte) (*FileConfig, error) {
	return ParseConfigNamed("gateway configuration", data)
}

// ParseConfigNamed is ParseConfig with the file name its problems name
// ("file:line:column: path: what is wrong").
func ParseConfigNamed(name string, data []byte) (*FileConfig, error) {
	var c FileConfig
	if _, err := yamlfile.Decode(name, data, &c); err != nil {
		return nil, err // a *yamlfile.Errors, KindInvalid: file:line: key: what
	}
	return &c, nil
}

// LoadConfig reads and parses the configuration file at path.
func LoadConfig(path string) (*FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, botgate.E("gateway.LoadConfig", botgate.KindInvalid, err)
	}
	return ParseConfigNamed(path, data)
}

// Validate checks everything New checks about the configuration without
// building a gateway: limits, loop breaker, webhooks, trusted proxies,
// routes and their rules.
func (c *FileConfig) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is a validated configuration.
type compiled struct {
	trust           edge.Trust
	envoyPrefix     string
	allowQueryToken bool
	credentials     edge.CredentialOptions
	defaultLimit    botgate.Limit
	tokenLimits     map[int64]botgate.Limit
	autoLimits      map[string]botgate.Limit
	breaker         ratelimit.BreakerConfig
	suspend         bool
	refusalDelay    time.Duration
	bodyBytes       int
	webhooks        map[string]string
	membershipTTL   time.Duration
	membershipMax   int
	flushEvery      time.Duration
	maxTokenLen     int
	bodyTimeout     time.Duration
	enforcement     botgate.Enforcement
	routes          []*route
}

func (c *FileConfig) compile() (*compiled, error) {
	const op = "gateway.New"
	bad := func(field, format string, args ...any) error {
		e := botgate.Invalid(field, format, args...)
		e.Op = op
		return e
	}
	var err error
	out := &compiled{
		envoyPrefix:     strings.TrimSuffix(c.EnvoyPrefix, "/"),
		allowQueryToken: c.AllowQueryToken,
		defaultLimit:    defaultLimit,
		tokenLimits:     map[int64]botgate.Limit{},
		autoLimits:      map[string]botgate.Limit{},
		breaker: ratelimit.BreakerConfig{Threshold: c.Loop.Threshold, Window: c.Loop.Window,
			Cooldown: c.Loop.Cooldown, MaxShapes: c.Loop.MaxShapes},
		suspend:       c.Loop.Suspend,
		refusalDelay:  time.Second,
		bodyBytes:     c.Loop.BodyBytes,
		webhooks:      map[string]string{},
		membershipTTL: c.MembershipTTL,
		membershipMax: c.MembershipCacheSize,
		flushEvery:    c.UsageFlushInterval,
		maxTokenLen:   c.MaxTokenLength,
		bodyTimeout:   c.BodyReadTimeout,
	}
	if out.enforcement, err = botgate.ParseEnforcement(c.Enforcement); err != nil {
		return nil, bad("enforcement", "enforcement must be enforce or shadow, got %q", c.Enforcement)
	}
	if out.envoyPrefix == "" {
		out.envoyPrefix = DefaultEnvoyPrefix
	}
	if !strings.HasPrefix(out.envoyPrefix, "/-/auth/") {
		return nil, bad("envoy_prefix", "envoy_prefix must start with /-/auth/, got %q", c.EnvoyPrefix)
	}
	if c.Loop.RefusalDelay != nil {
		if *c.Loop.RefusalDelay < 0 || *c.Loop.RefusalDelay > time.Minute {
			return nil, bad("loop.refusal_delay", "loop.refusal_delay must be between 0 and 1m, got %s", *c.Loop.RefusalDelay)
		}
		out.refusalDelay = *c.Loop.RefusalDelay
	}
	if out.bodyBytes <= 0 {
		out.bodyBytes = 64 << 10
	}
	if out.membershipTTL <= 0 {
		out.membershipTTL = time.Minute
	}
	if out.membershipMax <= 0 {
		out.membershipMax = 1 << 20
	}
	if out.flushEvery <= 0 {
		out.flushEvery = 10 * time.Second
	}
	if out.bodyTimeout <= 0 {
		out.bodyTimeout = 30 * time.Second
	}
	if out.maxTokenLen <= 0 {
		out.maxTokenLen = edge.DefaultMaxTokenLen
	}
	out.credentials = edge.CredentialOptions{AllowQuery: out.allowQueryToken, MaxLen: out.maxTokenLen}
	if out.trust, err = edge.ParseTrust(c.TrustedProxies); err != nil {
		return nil, bad("trusted_proxies", "%s", botgate.MessageOf(err))
	}
	limit := func(field string, l LimitConfig) (botgate.Limit, error) {
		if l.Period == 0 {
			l.Period = time.Minute
		}
		if l.Burst == 0 {
			l.Burst = l.Rate
		}
		bl := botgate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst}
		if err := ratelimit.ValidateLimit(bl); err != nil {
			return bl, bad(field, "%s: %s (there is no unlimited: give every token a positive rate)", field, botgate.MessageOf(err))
		}
		return bl, nil
	}
	if c.Limits.Default != nil {
		if out.defaultLimit, err = limit("limits.default", *c.Limits.Default); err != nil {
			return nil, err
		}
	}
	for name, l := range c.Limits.Automations {
		if out.autoLimits[name], err = limit("limits.automations."+name, l); err != nil {
			return nil, err
		}
	}
	for id, l := range c.Limits.Tokens {
		if out.tokenLimits[id], err = limit(fmt.Sprintf("limits.tokens.%d", id), l); err != nil {
			return nil, err
		}
	}
	for team, u := range c.Webhooks {
		if _, err := botgate.ParseHTTPURL("webhook", u); err != nil {
			return nil, bad("webhooks", "team %q: %s", team, botgate.MessageOf(err))
		}
		out.webhooks[strings.ToLower(strings.Trim(team, "/"))] = u
	}
	routes := c.Routes
	if len(routes) == 0 {
		routes = []RouteConfig{{Name: "default", GitLab: true}}
	}
	names := map[string]bool{}
	for i, rc := range routes {
		r, err := compileRoute(rc)
		if err != nil {
			return nil, bad(botgate.FieldOf(err), "routes[%d]: %s", i, botgate.MessageOf(err))
		}
		if names[r.name] {
			return nil, bad("routes", "route name %q is used twice", r.name)
		}
		names[r.name] = true
		out.routes = append(out.routes, r)
	}
	return out, nil
}
