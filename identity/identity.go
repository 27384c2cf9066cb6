// Package identity exchanges a workload's identity token (a GitLab CI
// id_token, a GitHub Actions OIDC token, a Kubernetes service-account
// token: a JWT its platform signs) for a minutes-long botgate token of an
// automation whose trust policy admits it, in the shape of OAuth 2.0 Token
// Exchange (RFC 8693). No long-lived secret is stored anywhere: the job
// proves who it is each time.
//
// The Exchanger verifies the token with go-oidc and go-jose against the
// issuer's published keys (OIDC discovery, JWKS cached and refetched, at a
// bounded rate, for an unknown key ID); checks iss, aud, exp, nbf and iat
// with a bounded clock skew; accepts only asymmetric signatures (no "none",
// no HMAC keyed with a public key); matches the automation's trust
// policies; and has the authority mint the token, which records the jti
// (refusing a replay on every node sharing the store) and audits the
// exchange with the job's identity, in one transaction.
package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
)

// RFC 8693 names.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypeUpstream, as requested_token_type, asks for a real upstream
	// GitLab token of the automation (minted by the broker for this job)
	// instead of a botgate token.
	TokenTypeUpstream = "urn:botgate:params:oauth:token-type:upstream_token"
)

// Error codes of RFC 6749 section 5.2 and RFC 8693 section 2.2.2.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidGrant         = "invalid_grant"
	CodeInvalidTarget        = "invalid_target"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeServerError          = "server_error"
	CodeTemporarilyUnavail   = "temporarily_unavailable"
)

// Error is a refused exchange: an RFC 6749 error code and a description
// that names the failed condition. It never holds token material.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// asymmetricAlgs are the only signature algorithms accepted: the issuer's
// published keys are public, so an HMAC "signature" keyed with one proves
// nothing, and "none" proves less.
var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Minter issues the token once the identity is verified; the authority.
type Minter interface {
	MintWorkloadToken(ctx context.Context, g authority.WorkloadGrant) (*authority.Created, error)
}

// UpstreamGranter mints upstream tokens for jobs; the broker.
type UpstreamGranter interface {
	GrantJob(ctx context.Context, j broker.JobGrant) (*broker.Grant, error)
}

// Config configures an Exchanger.
type Config struct {
	// Store holds the automations (with their trust policies) and the
	// used token IDs.
	Store botgate.Store
	// Minter issues the tokens.
	Minter Minter
	// Upstream, if set, mints upstream tokens for requests that ask for
	// TokenTypeUpstream; without one such requests are refused.
	Upstream UpstreamGranter
	// Clock is the time; nil means the system clock.
	Clock botgate.Clock
	// HTTPClient fetches issuers' discovery documents and keys; nil means
	// a client with a 10s timeout.
	HTTPClient *http.Client
	// Skew is the clock difference tolerated on exp, nbf and iat (default
	// 30s, at most 5m).
	Skew time.Duration
	// KeyRefresh is the least time between two fetches of one issuer's
	// keys for unknown key IDs (default 30s).
	KeyRefresh time.Duration
	// Logger logs refused exchanges (never a token); nil discards.
	Logger *slog.Logger
}

// Exchanger exchanges identity tokens. It is safe for concurrent use.
type Exchanger struct {
	store      botgate.Store
	minter     Minter
	upstream   UpstreamGranter
	clock      botgate.Clock
	client     *http.Client
	skew       time.Duration
	keyRefresh time.Duration
	log        *slog.Logger

	mu      sync.Mutex
	issuers map[string]*issuer
	// failed records when discovery of an issuer last failed: it is not
	// retried within keyRefresh, so refused exchanges cannot turn into a
	// stream of requests to an issuer that is down.
	failed map[string]time.Time
}

// issuer is a trusted issuer's verifier, built from its discovery document.
type issuer struct {
	verifier *oidc.IDTokenVerifier
	keys     *keySet
}

// New returns an Exchanger.
func New(cfg Config) (*Exchanger, error) {
	if cfg.Store == nil || cfg.Minter == nil {
		return nil, errors.New("identity: Config.Store and Config.Minter are required")
	}
	x := &Exchanger{store: cfg.Store, minter: cfg.Minter, upstream: cfg.Upstream, clock: cfg.Clock, client: cfg.HTTPClient,
		skew: cfg.Skew, keyRefresh: cfg.KeyRefresh, log: cfg.Logger, issuers: map[string]*issuer{}, failed: map[string]time.Time{}}
	if x.clock == nil {
		x.clock = botgate.SystemClock{}
	}
	if x.client == nil {
		x.client = &http.Client{Timeout: 10 * time.Second}
	}
	if x.skew <= 0 {
		x.skew = 30 * time.Second
	}
	x.skew = min(x.skew, 5*time.Minute)
	if x.keyRefresh <= 0 {
		x.keyRefresh = 30 * time.Second
	}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	return x, nil
}

// Request is a token exchange request (RFC 8693 section 2.1).
type Request struct {
	GrantType        string
	SubjectToken     string
	SubjectTokenType string
	// Audience or Resource names the automation.
	Audience, Resource string
	// RequestedTokenType is "" or TokenTypeAccessToken for a botgate
	// token, TokenTypeUpstream for an upstream token.
	RequestedTokenType string
	// TTL is the lifetime asked for (botgate's "expires_in", seconds on
	// the wire); 0 asks for the policy's maximum.
	TTL time.Duration
	// IP and UserAgent are the client's, for the audit log.
	IP, UserAgent string
}

// Response is a successful exchange (RFC 8693 section 2.2.1), plus
// botgate's own fields.
type Response struct {
	AccessToken     string    `json:"access_token"`
	IssuedTokenType string    `json:"issued_token_type"`
	TokenType       string    `json:"token_type"`
	ExpiresIn       int       `json:"expires_in"`
	Scope           string    `json:"scope,omitempty"`
	Automation      string    `json:"automation"`
	TokenID         int64     `json:"token_id,omitempty"`
	ExpiresAt       time.Time `json:"expires_at"`
	// UpstreamURL and GrantID are set for an upstream token: where it
	// works, and the grant botgate revokes when its time passes.
	UpstreamURL string `json:"upstream_url,omitempty"`
	GrantID     int64  `json:"grant_id,omitempty"`
}

// maxSubjectToken bounds the identity token accepted.
const maxSubjectToken = 16 << 10

// Exchange verifies req.SubjectToken and returns a token of the automation
// it names. A refusal is an *Error with the failed condition; other errors
// are internal.
func (x *Exchanger) Exchange(ctx context.Context, req Request) (*Response, error) {
	name, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	var rec *botgate.Automation
	err = x.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		rec, err = tx.AutomationByName(ctx, name)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) || err == nil && len(rec.Trust) == 0 {
		return nil, refuse(CodeInvalidTarget, "automation %q does not exist or trusts no workload identity (declare `trust:` for it in the manifest)", name)
	}
	if err != nil {
		return nil, err
	}

	// Read the header and issuer before verifying, only to refuse early
	// and clearly, and to pick the issuer among those the automation
	// trusts: nothing unverified is used for anything else.
	alg, iss, err := peek(req.SubjectToken)
	if err != nil {
		return nil, err
	}
	if e := checkAlg(alg); e != nil {
		return nil, e
	}
	// The refusal does not list the trusted issuers: the caller has not
	// proven anything yet.
	var policies []botgate.TrustPolicy
	for _, p := range rec.Trust {
		if p.Issuer == iss {
			policies = append(policies, p)
		}
	}
	if len(policies) == 0 {
		return nil, refuse(CodeInvalidGrant, "issuer %q is not trusted by automation %s", iss, name)
	}

	claims, err := x.verify(ctx, iss, req.SubjectToken)
	if err != nil {
		return nil, err
	}
	exp, err := x.checkTimes(claims)
	if err != nil {
		return nil, err
	}
	policy, err := matchPolicy(name, policies, claims)
	if err != nil {
		return nil, err
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return nil, refuse(CodeInvalidGrant, "the token has no jti claim, so a replay could not be detected")
	}

	now := x.clock.Now()
	ttl := policy.MaxTTL
	if ttl <= 0 {
		ttl = botgate.DefaultWorkloadTTL
	}
	if req.TTL > 0 {
		ttl = min(ttl, req.TTL)
	}
	ttl = min(ttl, botgate.MaxWorkloadTTL)

	sub, _ := claims["sub"].(string)
	if req.RequestedTokenType == TokenTypeUpstream {
		return x.upstreamToken(ctx, rec, iss, sub, jti, exp, ttl, claims)
	}
	c, err := x.minter.MintWorkloadToken(ctx, authority.WorkloadGrant{
		Automation: name, ExpiresAt: now.Add(ttl), Subject: sub, Issuer: iss,
		Identity: jobIdentity(claims), IP: req.IP, UserAgent: req.UserAgent,
		// The jti is kept until the identity token itself expires (plus
		// the skew it was accepted with): a replay within that time is
		// refused on every node sharing the store.
		JTI: jti, JTIExpiresAt: exp.Add(x.skew),
	})
	switch botgate.KindOf(err) {
	case botgate.KindOther:
		if err != nil {
			return nil, err
		}
	case botgate.KindConflict:
		return nil, refuse(CodeInvalidGrant, "%s", botgate.MessageOf(err))
	case botgate.KindNotFound, botgate.KindForbidden, botgate.KindInvalid:
		return nil, refuse(CodeInvalidTarget, "%s", botgate.MessageOf(err))
	default:
		return nil, err
	}
	return &Response{
		AccessToken: c.Secret, IssuedTokenType: TokenTypeAccessToken, TokenType: "Bearer",
		ExpiresIn: int(ttl / time.Second), Scope: c.Token.Scopes.String(), Automation: name,
		TokenID: c.Token.ID, ExpiresAt: *c.Token.ExpiresAt,
	}, nil
}

// upstreamToken records the jti and has the broker mint an upstream token
// of the automation for this job, audited with the job's identity.
func (x *Exchanger) upstreamToken(ctx context.Context, rec *botgate.Automation, iss, sub, jti string, exp time.Time, ttl time.Duration, claims map[string]any) (*Response, error) {
	if x.upstream == nil {
		return nil, refuse(CodeInvalidRequest, "this botgate mints no upstream tokens (it has no broker)")
	}
	err := x.store.Update(ctx, func(tx botgate.Tx) error {
		return tx.UseTokenID(ctx, iss, jti, exp.Add(x.skew), x.clock.Now())
	})
	if botgate.IsKind(err, botgate.KindConflict) {
		return nil, refuse(CodeInvalidGrant, "the identity token was already exchanged (jti %q): identity tokens are single-use", jti)
	}
	if err != nil {
		return nil, err
	}
	id := jobIdentity(claims)
	id["issuer"] = iss
	g, err := x.upstream.GrantJob(ctx, broker.JobGrant{OwnerGroupID: rec.OwnerGroupID, Automation: rec.Name, TTL: ttl, Subject: sub, Identity: id})
	switch {
	case botgate.IsKind(err, botgate.KindNotFound):
		return nil, refuse(CodeInvalidTarget, "%s", botgate.MessageOf(err))
	case err != nil:
		x.log.Warn("minting an upstream job token failed", "automation", rec.Name, "err", err)
		return nil, refuse(CodeTemporarilyUnavail, "the upstream token could not be minted: %s", botgate.MessageOf(err))
	}
	return &Response{AccessToken: g.Value, IssuedTokenType: TokenTypeUpstream, TokenType: "Bearer",
		ExpiresIn: int(ttl / time.Second), Scope: rec.Scopes.String(), Automation: rec.Name,
		ExpiresAt: g.ExpiresAt, UpstreamURL: g.UpstreamURL, GrantID: g.ID}, nil
}

// checkRequest checks the request's shape and returns the automation name.
func checkRequest(req Request) (string, error) {
	if req.GrantType != GrantTypeTokenExchange {
		return "", refuse(CodeUnsupportedGrantType, "grant_type must be %s", GrantTypeTokenExchange)
	}
	if req.SubjectTokenType != TokenTypeJWT && req.SubjectTokenType != TokenTypeIDToken {
		return "", refuse(CodeInvalidRequest, "subject_token_type must be %s or %s", TokenTypeJWT, TokenTypeIDToken)
	}
	if req.SubjectToken == "" {
		return "", refuse(CodeInvalidRequest, "subject_token is missing: send the job's identity token")
	}
	if len(req.SubjectToken) > maxSubjectToken {
		return "", refuse(CodeInvalidRequest, "subject_token is longer than %d bytes", maxSubjectToken)
	}
	if req.TTL < 0 {
		return "", refuse(CodeInvalidRequest, "expires_in must be a positive number of seconds")
	}
	switch req.RequestedTokenType {
	case "", TokenTypeAccessToken, TokenTypeUpstream:
	default:
		return "", refuse(CodeInvalidRequest, "requested_token_type must be %s (a botgate token) or %s (an upstream token)", TokenTypeAccessToken, TokenTypeUpstream)
	}
	name := req.Audience
	if name == "" {
		name = req.Resource
	}
	if req.Audience != "" && req.Resource != "" && req.Audience != req.Resource {
		return "", refuse(CodeInvalidTarget, "audience %q and resource %q name different automations: send one", req.Audience, req.Resource)
	}
	if name == "" {
		return "", refuse(CodeInvalidTarget, "audience is missing: name the automation the token is for")
	}
	if err := botgate.ValidateAutomationName(name); err != nil {
		return "", refuse(CodeInvalidTarget, "%s", botgate.MessageOf(err))
	}
	return name, nil
}

// peek decodes a compact JWT's header algorithm and payload issuer without
// verifying anything.
func peek(token string) (alg, iss string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", refuse(CodeInvalidGrant, "subject_token is not a signed JWT (three base64url parts separated by dots)")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var payload struct {
		Iss string `json:"iss"`
	}
	for _, p := range []struct {
		part, what string
		into       any
	}{{parts[0], "header", &header}, {parts[1], "payload", &payload}} {
		raw, err := base64.RawURLEncoding.DecodeString(p.part)
		if err != nil || json.Unmarshal(raw, p.into) != nil {
			return "", "", refuse(CodeInvalidGrant, "subject_token's %s is not base64url-encoded JSON", p.what)
		}
	}
	if payload.Iss == "" {
		return "", "", refuse(CodeInvalidGrant, "the token has no iss claim")
	}
	return header.Alg, payload.Iss, nil
}

// checkAlg refuses the algorithms no verifier may accept, saying why.
func checkAlg(alg string) *Error {
	switch {
	case strings.EqualFold(alg, "none") || alg == "":
		return refuse(CodeInvalidGrant, "the token is unsigned (alg %q): only tokens signed by the issuer are accepted", alg)
	case strings.HasPrefix(alg, "HS"):
		return refuse(CodeInvalidGrant, "symmetric algorithm %s is refused: an identity token must carry an asymmetric signature (RS256, ES256, ...) by the issuer's published key", alg)
	case !slices.Contains(asymmetricAlgs, jose.SignatureAlgorithm(alg)):
		return refuse(CodeInvalidGrant, "signature algorithm %q is not accepted (use RS256, PS256, ES256, EdDSA or a stronger variant)", alg)
	}
	return nil
}

// verify checks the token's signature and issuer with go-oidc, and returns
// its claims.
func (x *Exchanger) verify(ctx context.Context, iss, token string) (map[string]any, error) {
	is, err := x.issuer(ctx, iss)
	if err != nil {
		x.log.Warn("identity issuer unreachable", "issuer", iss, "err", err)
		return nil, refuse(CodeTemporarilyUnavail, "the issuer %s could not be reached for its keys; try again", iss)
	}
	idt, err := is.verifier.Verify(ctx, token)
	if err != nil {
		msg := err.Error()
		switch {
		case errors.Is(err, errUnknownKey) || strings.Contains(msg, errUnknownKey.Error()):
			return nil, refuse(CodeInvalidGrant, "the token is signed with a key issuer %s does not publish (unknown kid)", iss)
		case strings.Contains(msg, "signature"):
			return nil, refuse(CodeInvalidGrant, "the token's signature does not verify with issuer %s's keys", iss)
		case strings.Contains(msg, "issued by a different provider"):
			return nil, refuse(CodeInvalidGrant, "the token's issuer does not match %s", iss)
		}
		return nil, refuse(CodeInvalidGrant, "the token is not a valid identity token: %s", strings.TrimPrefix(msg, "oidc: "))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, refuse(CodeInvalidGrant, "the token's claims are not a JSON object")
	}
	return claims, nil
}

// issuer returns the verifier of a trusted issuer, discovering it once. A
// failed discovery is retried after keyRefresh.
func (x *Exchanger) issuer(ctx context.Context, iss string) (*issuer, error) {
	x.mu.Lock()
	is, ok := x.issuers[iss]
	last, failed := x.failed[iss]
	x.mu.Unlock()
	if ok {
		return is, nil
	}
	if failed && x.clock.Now().Sub(last) < x.keyRefresh {
		return nil, fmt.Errorf("discovery of %s failed at %s; not retried before %s", iss, last.UTC().Format(time.RFC3339), x.keyRefresh)
	}
	is, err := x.discover(ctx, iss)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.failed[iss] = x.clock.Now()
		return nil, err
	}
	delete(x.failed, iss)
	if cur, ok := x.issuers[iss]; ok {
		return cur, nil
	}
	x.issuers[iss] = is
	return is, nil
}

// discover reads the issuer's discovery document and builds its verifier.
func (x *Exchanger) discover(ctx context.Context, iss string) (*issuer, error) {
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, x.client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, iss)
	if err != nil {
		return nil, err
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil || doc.JWKS == "" {
		return nil, fmt.Errorf("discovery document of %s names no jwks_uri", iss)
	}
	algs := make([]string, len(asymmetricAlgs))
	for i, a := range asymmetricAlgs {
		algs[i] = string(a)
	}
	ks := &keySet{url: doc.JWKS, client: x.client, now: x.clock.Now, minRefresh: x.keyRefresh}
	return &issuer{keys: ks, verifier: oidc.NewVerifier(iss, ks, &oidc.Config{
		SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: algs, Now: x.clock.Now,
	})}, nil
}

// checkTimes checks exp (required), nbf and iat against the clock with
// the skew, and returns the expiry.
func (x *Exchanger) checkTimes(claims map[string]any) (time.Time, error) {
	now := x.clock.Now()
	at := func(name string) (time.Time, bool, error) {
		v, ok := claims[name]
		if !ok {
			return time.Time{}, false, nil
		}
		f, ok := v.(float64)
		if !ok {
			return time.Time{}, false, refuse(CodeInvalidGrant, "claim %s is not a number of seconds", name)
		}
		return time.Unix(int64(f), 0), true, nil
	}
	exp, ok, err := at("exp")
	if err != nil {
		return exp, err
	}
	if !ok {
		return exp, refuse(CodeInvalidGrant, "the token has no exp claim: identity tokens must expire")
	}
	if !now.Before(exp.Add(x.skew)) {
		return exp, refuse(CodeInvalidGrant, "the token expired at %s (now %s)", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if nbf, ok, err := at("nbf"); err != nil {
		return exp, err
	} else if ok && now.Add(x.skew).Before(nbf) {
		return exp, refuse(CodeInvalidGrant, "the token is not valid before %s (now %s)", nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if iat, ok, err := at("iat"); err != nil {
		return exp, err
	} else if ok && now.Add(x.skew).Before(iat) {
		return exp, refuse(CodeInvalidGrant, "the token was issued in the future (iat %s, now %s)", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return exp, nil
}

// matchPolicy returns the first policy whose audience and claim conditions
// the token meets, or a refusal naming, for each policy, the condition
// that failed.
func matchPolicy(name string, policies []botgate.TrustPolicy, claims map[string]any) (*botgate.TrustPolicy, error) {
	var why []string
	for i := range policies {
		p := &policies[i]
		err := audience(p.Audience, claims)
		if err == nil {
			err = p.Match(claims)
		}
		if err == nil {
			return p, nil
		}
		why = append(why, botgate.MessageOf(err))
	}
	if len(why) == 1 {
		return nil, refuse(CodeInvalidGrant, "automation %s's trust policy does not admit the token: %s", name, why[0])
	}
	return nil, refuse(CodeInvalidGrant, "none of automation %s's %d trust policies for this issuer admits the token: %s", name, len(why), strings.Join(why, "; "))
}

// audience checks that want is among the token's aud values.
func audience(want string, claims map[string]any) error {
	var auds []string
	switch v := claims["aud"].(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	if slices.Contains(auds, want) {
		return nil
	}
	return botgate.Errorf(botgate.KindForbidden, "audience %q is not among the token's aud %q", want, auds)
}

// identityClaims are the claims the audit event keeps of the workload.
var identityClaims = []string{
	"project_path", "project_id", "namespace_path", "pipeline_id", "pipeline_source", "job_id", "ref", "ref_type",
	"ref_protected", "environment", "user_login", "repository", "run_id", "workflow", "jti",
}

func jobIdentity(claims map[string]any) map[string]string {
	out := map[string]string{}
	for _, n := range identityClaims {
		if v, ok := botgate.ClaimString(claims, n); ok {
			out[n] = v
		}
	}
	if k8s, ok := claims["kubernetes.io"].(map[string]any); ok {
		if ns, ok := k8s["namespace"].(string); ok {
			out["k8s_namespace"] = ns
		}
		if pod, ok := k8s["pod"].(map[string]any); ok {
			if n, ok := pod["name"].(string); ok {
				out["k8s_pod"] = n
			}
		}
	}
	return out
}
