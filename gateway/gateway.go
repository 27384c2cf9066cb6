package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/ratelimit"
)

// LoopBreaker is the loop breaker's contract (ratelimit.Breaker in memory;
// a shared one can satisfy it too): Observe counts one request of a shape
// from a token and says whether it belongs to a runaway loop.
type LoopBreaker interface {
	Observe(ctx context.Context, tokenKey, shape string) (ratelimit.Verdict, error)
}

// Options are what a Gateway is built from. Authority and Store are
// required.
type Options struct {
	Authority *authority.Service
	Store     botgate.Store
	// Config is the gateway configuration; nil for the defaults.
	Config *FileConfig
	// Trust lists the proxies whose X-Forwarded-For is believed, the same
	// list the API uses; the configuration's trusted_proxies are added.
	Trust edge.Trust
	// Limiter enforces per-token limits (default: ratelimit.Memory).
	Limiter botgate.Limiter
	// Breaker is the loop breaker (default: a ratelimit.Breaker built from
	// Config.Loop).
	Breaker LoopBreaker
	// Credentials supplies upstream credentials (default:
	// ConfigCredentials reading Getenv and files).
	Credentials CredentialSource
	Getenv      func(string) string
	Clock       botgate.Clock
	Logger      *slog.Logger
	// WebhookClient posts loop webhooks (default: a client with a 10s
	// timeout).
	WebhookClient *http.Client
	// AutomationLimits, if set, supplies automations' own rate limits
	// (botgate's automation records); see Gateway.limitOf for precedence.
	// If it is also an AutomationModes, automations' enforcement modes.
	AutomationLimits AutomationLimits
	// Enforcement, if set, overrides Config.Enforcement: the instance-wide
	// mode, enforce or shadow (the serve flag).
	Enforcement string
}

// Gateway decides on third-party API requests for forward-auth proxies
// (ForwardAuth) and forwards them itself (Proxy). Create it with New and
// stop it with Close, which writes pending usage.
type Gateway struct {
	auth    *authority.Service
	store   botgate.Store
	cfg     *compiled
	limiter botgate.Limiter
	breaker LoopBreaker
	creds   CredentialSource
	clock   botgate.Clock
	log     *slog.Logger
	webhook *http.Client
	members *memberships
	paths   *pathCache
	usage   *usageBuffer
	shadow  *shadowLog
	metrics *metrics
	counts  [2]map[string]prometheus.Counter
	latency [2]prometheus.Observer
	proxies map[*route]http.Handler
	// fallback serves forward-auth requests no configured route matches:
	// the default policy, with GitLab membership checks.
	fallback *route

	// autoLimits supplies automations' own limits (nil: none).
	autoLimits AutomationLimits
	// familyLimits are the configuration's per-token limits keyed by
	// rotation family (resolveTokenLimits).
	familyLimits map[int64]botgate.Limit

	// ctx ends when the gateway closes; background work runs under it.
	ctx       context.Context
	stop      context.CancelFunc
	janitors  []func(context.Context, time.Duration) error
	bgMu      sync.Mutex // guards closed and bg.Add
	closed    bool
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// The decision modes, for metrics.
const (
	modeAuth = iota
	modeProxy
)

var modeNames = [2]string{"auth", "proxy"}

// New validates the configuration and returns a Gateway. It starts
// nothing: Run does the background work (usage flushing, limiter and
// breaker janitors), Close stops it.
// Errors are KindInvalid, naming the offending configuration field.
func New(o Options) (*Gateway, error) {
	const op = "gateway.New"
	if o.Authority == nil || o.Store == nil {
		return nil, botgate.E(op, botgate.Invalid("options", "the gateway needs an authority and a store"))
	}
	fc := o.Config
	if fc == nil {
		fc = &FileConfig{}
	}
	if o.Enforcement != "" {
		c := *fc
		c.Enforcement = o.Enforcement
		fc = &c
	}
	cfg, err := fc.compile()
	if err != nil {
		return nil, err
	}
	cfg.trust = o.Trust.Merge(cfg.trust)
	g := &Gateway{
		auth: o.Authority, store: o.Store, cfg: cfg, limiter: o.Limiter, breaker: o.Breaker,
		creds: o.Credentials, clock: o.Clock, log: o.Logger, webhook: o.WebhookClient,
		metrics: newMetrics(), autoLimits: o.AutomationLimits,
	}
	if g.clock == nil {
		g.clock = botgate.SystemClock{}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.webhook == nil {
		g.webhook = &http.Client{Timeout: 10 * time.Second}
	}
	if g.creds == nil {
		g.creds = &ConfigCredentials{Getenv: o.Getenv}
	}
	g.ctx, g.stop = context.WithCancel(context.Background())
	if g.familyLimits, err = resolveTokenLimits(g.ctx, o.Store, cfg.tokenLimits); err != nil {
		g.stop()
		return nil, botgate.E(op, err)
	}
	if g.limiter == nil {
		m := ratelimit.NewMemory(g.clock)
		g.limiter = m
		g.janitors = append(g.janitors, m.Run)
	}
	if g.breaker == nil {
		b, err := ratelimit.NewBreaker(g.clock, cfg.breaker)
		if err != nil {
			g.stop()
			return nil, botgate.E(op, err)
		}
		g.breaker = b
		g.janitors = append(g.janitors, b.Run)
	}
	for i, mode := range modeNames {
		g.counts[i] = map[string]prometheus.Counter{}
		for _, r := range []string{resultAllowed, resultUnauthenticated, resultForbidden, resultRateLimited,
			resultLoop, resultInvalid, resultNoRoute, resultError} {
			g.counts[i][r] = g.metrics.decisions.WithLabelValues(mode, r)
		}
		g.latency[i] = g.metrics.latency.WithLabelValues(mode)
	}
	g.paths = newPathCache(8192)
	g.members = newMemberships(o.Store, g.clock, cfg.membershipTTL, cfg.membershipMax)
	g.usage = newUsageBuffer(maxUsageKeys, g.metrics.usageDropped)
	g.shadow = &shadowLog{m: make(map[shadowKey]*shadowEntry)}
	g.proxies = make(map[*route]http.Handler)
	g.fallback = &route{name: "default", prefix: "/", gitlab: true}
	for _, rt := range cfg.routes {
		if rt.upstream != nil {
			g.proxies[rt] = g.newProxy(rt)
		}
	}
	return g, nil
}

// Run does the gateway's background work until ctx is done or Close is
// called: it writes coalesced route usage every flush interval and sweeps
// the in-memory limiter and loop breaker it made for itself. It returns nil
// when stopped. A gateway that is never run still decides; Close writes its
// pending usage.
func (g *Gateway) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancel(g.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	for _, j := range g.janitors {
		g.goBG(func() { _ = j(rctx, time.Minute) })
	}
	g.goBG(func() { g.flushLoop(rctx, g.cfg.flushEvery) })
	<-rctx.Done()
	return nil
}

// goBG runs fn in the background unless the gateway is closing.
func (g *Gateway) goBG(fn func()) {
	g.bgMu.Lock()
	defer g.bgMu.Unlock()
	if g.closed {
		return
	}
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		fn()
	}()
}

// Close stops background work, waits for webhooks in flight and writes
// pending usage.
func (g *Gateway) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.bgMu.Lock()
		g.closed = true
		g.bgMu.Unlock()
		g.stop()
		g.bg.Wait()
		err = g.FlushUsage(context.Background())
		g.flushShadow(context.Background(), true)
	})
	return err
}

// PurgeMemberships forgets cached membership answers, so that a change of
// memberships takes effect at once.
func (g *Gateway) PurgeMemberships() { g.members.purge() }

// decision is the outcome of decide.
type decision struct {
	id *authority.Identity
	// info is what the gateway derived from id (nil without id).
	info  *identityInfo
	route *route
	// path is the canonical request path every check used.
	path     *pathInfo
	limit    botgate.LimitResult
	hasLimit bool
	// now is when the limiter decided, for the rate-limit headers.
	now time.Time
	// retryAfter, when set, overrides Retry-After (loop refusals).
	retryAfter time.Duration
	// shadow is why the request would have been refused had its mode
	// been enforce (ShadowRateLimit, ShadowLoop), "" if it would not.
	shadow string
	err    error
	result string
}

// decide runs the checks on one request: path, token, loop breaker, rate
// limit, scope policy and resource membership, in that order.
func (g *Gateway) decide(ctx context.Context, o *original, pi *pathInfo, rt *route) (d decision) {
	d.route, d.path = rt, pi
	segs := pi.segs
	if o.token == "" {
		return d.fail(edge.ErrNoCredential, resultUnauthenticated)
	}
	id, err := g.auth.Authenticate(ctx, o.token, authority.RequestMeta{IP: o.ip, UserAgent: o.userAgent})
	if err != nil {
		if botgate.IsKind(err, botgate.KindUnauthenticated) {
			return d.fail(err, resultUnauthenticated)
		}
		return d.fail(err, resultError)
	}
	d.id = id
	d.info = authority.Derived(id, newIdentityInfo)
	key := d.info.limitKey
	limit := g.limitOf(ctx, id.Token)

	// The loop breaker looks first, so that a blocked loop does not spend
	// the token's budget: its other requests carry on.
	var shape string
	if o.bodyLen != -1 {
		shape = ratelimit.Shape(o.method, pi.canonical, o.rawQuery+"\x00len="+strconv.FormatInt(o.bodyLen, 10), o.body)
	} else {
		shape = ratelimit.Shape(o.method, pi.canonical, o.rawQuery, o.body)
	}
	v, err := g.breaker.Observe(ctx, key, shape)
	if err != nil {
		return d.fail(err, resultError)
	}
	// In shadow mode (modeOf) a refusal of the breaker or the limit,
	// computed as in enforce mode, is counted and audited, and the request
	// goes on to the other checks.
	if v.Denied() {
		if res, err := g.limiter.Allow(ctx, key, limit, 0); err == nil {
			d.limit, d.hasLimit = res, true
		}
		d.now = g.clock.Now()
		mode, source := g.modeOf(ctx, id.Token)
		if !mode.Shadow() {
			d.retryAfter = v.RetryAfter
			return d.fail(g.loopDetected(ctx, o, pi, rt, id, shape, v), resultLoop)
		}
		d.shadow = ShadowLoop
		g.shadowed(ctx, o, id, ShadowLoop, source, shadowWhat{method: o.method, route: g.routePattern(o, pi, rt),
			routeName: rt.name, loop: v, isLoop: true, shape: shape})
	} else {
		res, err := g.limiter.Allow(ctx, key, limit, 1)
		if err != nil {
			return d.fail(err, resultError)
		}
		// One reading of the clock serves the rest of the decision.
		d.limit, d.hasLimit, d.now = res, true, g.clock.Now()
		if !res.Allowed {
			mode, source := g.modeOf(ctx, id.Token)
			if !mode.Shadow() {
				g.metrics.limiterDenials.Inc()
				return d.fail(botgate.Errorf(botgate.KindRateLimited,
					"This token has exceeded its rate limit of %d requests per minute. Try again in %s.",
					ratelimit.PerMinute(limit), ceilDuration(res.RetryAfter)), resultRateLimited)
			}
			d.shadow = ShadowRateLimit
			g.shadowed(ctx, o, id, ShadowRateLimit, source, shadowWhat{method: o.method, route: g.routePattern(o, pi, rt),
				routeName: rt.name, limit: limit})
		}
	}

	pol := rt.policyFor(o.method, segs)
	if pol.deny {
		return d.fail(botgate.Errorf(botgate.KindForbidden, "the gateway does not allow %s on this route", o.method), resultForbidden)
	}
	if !id.Token.Scopes.HasAny(pol.scopes...) {
		return d.fail(&botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope,
			Message: pol.scopes.String()}, resultForbidden)
	}
	if err := g.checkAutomationRoutes(ctx, id.Token, o.method, segs); err != nil {
		if botgate.IsKind(err, botgate.KindForbidden) {
			return d.fail(err, resultForbidden)
		}
		return d.fail(err, resultError)
	}
	if rt.gitlab && !(id.User.Admin && id.User.Active()) {
		if typ, ref, ok := resourceRef(segs); ok {
			level, err := g.members.level(ctx, d.info, id.User.ID, typ, ref, d.now)
			if err != nil {
				return d.fail(err, resultError)
			}
			if level <= botgate.NoAccess {
				return d.fail(botgate.Errorf(botgate.KindForbidden,
					"this token's user is not a member of this %s", typ), resultForbidden)
			}
		}
	}
	pattern := pol.pattern
	if pattern == "" {
		pattern = pi.pattern
	}
	var needed botgate.Scope
	if len(pol.scopes) > 0 {
		needed = pol.scopes[0]
	}
	g.usage.note(id.Token.ID, o.method, pattern, needed, d.now)
	d.result = resultAllowed
	return d
}

func (d decision) fail(err error, result string) decision {
	d.err, d.result = err, result
	return d
}

// limitKey is the key of a token's rate limit and loop breaker state: its
// rotation family, so that rotating a token neither resets its budget nor
// lifts a loop block.
func limitKey(t *botgate.Token) string {
	return "family:" + strconv.FormatInt(familyOf(t), 10)
}

// ceilDuration rounds d up to a whole second, at least one.
func ceilDuration(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// writeDecision writes the headers every decision carries and, for a
// refusal, the GitLab-style error body. It reports whether the request
// was allowed.
func (g *Gateway) writeDecision(w http.ResponseWriter, r *http.Request, mode int, d decision) bool {
	h := w.Header()
	if d.hasLimit {
		ratelimit.Headers(h, d.limit, d.now)
	}
	if d.shadow != "" {
		// Let through: the limit's headers say where it stands, but
		// nothing was refused that a client should retry after.
		h.Set(HeaderShadow, d.shadow)
		h.Del(ratelimit.HeaderRetryAfter)
	}
	if d.err == nil {
		return true
	}
	if d.retryAfter > 0 {
		h.Set(ratelimit.HeaderRetryAfter, strconv.FormatInt(int64(ceilDuration(d.retryAfter)/time.Second), 10))
	}
	switch {
	case d.result == resultError:
		g.log.Error("gateway decision failed", "method", r.Method, "path", r.URL.Path, "err", d.err)
	case g.log.Enabled(r.Context(), slog.LevelDebug):
		// Never the query or a header: they may hold credentials.
		var tokenID int64
		if d.id != nil {
			tokenID = d.id.Token.ID
		}
		g.log.LogAttrs(r.Context(), slog.LevelDebug, "gateway refused a request",
			slog.String("result", d.result), slog.String("reason", string(botgate.ReasonOf(d.err))),
			slog.Int64("token_id", tokenID), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	status, body := httpapi.ErrorBody(d.err)
	if mode == modeAuth {
		h.Set(HeaderError, asciiJSON(body))
	}
	httpapi.WriteErrorBody(w, status, body)
	return false
}

// asciiJSON is v as one line of JSON with every character outside
// printable ASCII escaped, fit for a header value.
func asciiJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"message":"500 Internal Server Error"}`
	}
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r >= 0x20 && r < 0x7f:
			sb.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&sb, "\\u%04x", r)
		}
	}
	return sb.String()
}

// holdRefusal delays a refused loop request by the configured refusal
// delay, and a rate-limited one by that delay or until the token has
// budget again, whichever is sooner, or until the client goes away: a
// client retrying at once on a 429 then costs the gateway one refusal per
// delay per connection instead of the CPU other tokens need, and a
// rate-limited client is answered no later than it could have succeeded.
func (g *Gateway) holdRefusal(r *http.Request, d decision) {
	delay := g.cfg.refusalDelay
	switch d.result {
	case resultLoop:
	case resultRateLimited:
		delay = min(delay, d.limit.RetryAfter)
	default:
		return
	}
	if delay <= 0 {
		return
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// observe records the decision's metrics.
func (g *Gateway) observe(mode int, result string, start time.Time) {
	if c, ok := g.counts[mode][result]; ok {
		c.Inc()
	}
	g.latency[mode].Observe(time.Since(start).Seconds())
}

// ForwardAuth returns the forward-auth handler, to be mounted at /-/auth
// and below (the Envoy prefix). It answers 200 with X-Botgate-User,
// X-Botgate-Token-Id, X-Botgate-Automation and X-Botgate-Scopes when the
// original request may proceed; 401, 403 or 429 with a GitLab-style JSON
// body when not; and the rate-limit headers on every decision about a
// valid token.
func (g *Gateway) ForwardAuth() http.Handler {
	return http.HandlerFunc(g.serveAuth)
}

func (g *Gateway) serveAuth(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	o, err := forwardAuthOriginal(r, g.cfg)
	if err != nil {
		g.writeDecision(w, r, modeAuth, decision{err: err, result: resultInvalid})
		g.observe(modeAuth, resultInvalid, start)
		return
	}
	pi, err := g.paths.get(o.path)
	if err != nil {
		g.writeDecision(w, r, modeAuth, decision{err: err, result: resultInvalid})
		g.observe(modeAuth, resultInvalid, start)
		return
	}
	o.ip, _ = g.cfg.trust.ClientIP(r.RemoteAddr, r.Header)
	o.token, err = edge.Credential(r.Header, o.rawQuery, g.cfg.credentials)
	if err != nil && !errors.Is(err, edge.ErrNoCredential) {
		// A malformed or ambiguous credential: refused before decide.
		g.writeDecision(w, r, modeAuth, decision{err: err, result: resultUnauthenticated})
		g.observe(modeAuth, resultUnauthenticated, start)
		return
	}
	// Envoy may send the body (with_request_body); nginx and Traefik do
	// not. It counts towards the request's shape.
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		head, complete, err := g.readBodyHead(w, r)
		if err != nil {
			g.refuseBody(w, r, err)
			g.observe(modeAuth, resultInvalid, start)
			return
		}
		o.setBody(head, complete, r.ContentLength, g.cfg.bodyBytes)
	}
	rt := matchRoute(g.cfg.routes, o.host, pi.canonical)
	if rt == nil {
		rt = g.fallback
	}
	d := g.decide(r.Context(), &o, pi, rt)
	g.holdRefusal(r, d)
	if g.writeDecision(w, r, modeAuth, d) {
		d.info.setHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
	}
	g.observe(modeAuth, d.result, start)
}

// identityInfo is what the gateway derives from one identity, computed
// once and kept with it (authority.Derived): its limit key and its
// X-Botgate-* header values. The slices are shared by every response:
// nothing writes to them.
type identityInfo struct {
	// limitKey is limitKey(the token).
	limitKey string
	// values are the X-Botgate-* header values, in headerNames' order;
	// setHeaders hands out one-element slices of this array, so that they
	// take no memory of their own.
	values [4]string
	// member is the last membership answer given to the identity.
	member atomic.Pointer[memberMemo]
}

// The positions of identityInfo.values.
const (
	valueUser = iota
	valueTokenID
	valueAutomation
	valueScopes
)

// headerNames are the identity headers, in identityInfo.values' order.
var headerNames = [4]string{HeaderUser, HeaderTokenID, HeaderAutomation, HeaderScopes}

// header returns the value at position i as a header's values.
func (ih *identityInfo) header(i int) []string { return ih.values[i : i+1 : i+1] }

func (ih *identityInfo) setHeaders(h http.Header) {
	for i, k := range headerNames {
		h[k] = ih.header(i)
	}
}

// newIdentityInfo derives the gateway's values from an identity; the
// authority keeps them with it (authority.Derived).
func newIdentityInfo(id *authority.Identity) *identityInfo {
	return &identityInfo{
		limitKey: limitKey(id.Token),
		values: [4]string{id.User.Username, strconv.FormatInt(id.Token.ID, 10), id.Token.Automation,
			id.Token.Scopes.String()},
	}
}
