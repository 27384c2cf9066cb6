// Package server assembles a botgate server from its parts and runs it:
// the store, the authority, what a node shares with the others (Redis,
// PostgreSQL LISTEN/NOTIFY), the vault and the upstream broker, the
// gateway, the HTTP API and governance. New builds them in that order and
// starts nothing; Run starts every background job and the listeners and
// returns when its context ends or a listener fails; Close stops what New
// built, in reverse order. Open and Initialize serve the commands that
// work on an installation without serving it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
	"github.com/botgate/botgate/broker/vaultcred"
	"github.com/botgate/botgate/console"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/identity"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/notify"
	"github.com/botgate/botgate/ratelimit"
)

// Config is every setting of a server.
type Config struct {
	// DataDir is the data directory: pepper, master key and the SQLite
	// database.
	DataDir string
	// Store selects the store: "" or "sqlite" the data directory's SQLite
	// database, or a postgres:// URL shared by several nodes.
	Store string
	// Getenv reads the environment: the vault's master key
	// (vault.EnvMasterKey) and the gateway's env: credential references.
	// Default os.Getenv.
	Getenv func(string) string
	// Clock tells the time (default the system clock).
	Clock botgate.Clock

	// Listen is the API listener's address (host:port; port 0 picks one).
	Listen string
	// ProxyListen, if set, is the address of the gateway's reverse proxy.
	ProxyListen string
	// Listeners, if set, are Listen's and ProxyListen's listeners and the
	// data directory's lock, taken by Bind; New binds them otherwise. The
	// server closes them.
	Listeners *Listeners
	// TrustedProxies are the reverse proxies whose X-Forwarded-* headers
	// are believed, with the gateway configuration's trusted_proxies.
	TrustedProxies edge.Trust
	// APILimit is the per-user limit on authenticated API requests.
	APILimit botgate.Limit
	// ReadHeaderTimeout bounds the time the API listener waits for a
	// request's headers; BodyReadTimeout for its body.
	ReadHeaderTimeout time.Duration
	BodyReadTimeout   time.Duration

	// TLS, when it names a certificate, serves the API and the proxy over
	// HTTPS.
	TLS TLSConfig
	// TokenRevocationToken is the pre-shared token of GitLab's token
	// revocation API (/v1/revocable_token_types, /v1/revoke_tokens); empty
	// refuses every call to it.
	TokenRevocationToken string
	// RotationGrace is how long a rotated-out token still authenticates
	// for ordinary calls (never to rotate); 0, the default, as GitLab.
	RotationGrace time.Duration

	// Gateway configures the gateway.
	Gateway GatewayConfig
	// Vault configures the vault and the rotation scheduler.
	Vault VaultConfig
	// Scale configures what the node shares with others.
	Scale ScaleConfig
	// Demo applies the example automations (governance.Demo) at start.
	Demo bool
	// Identity configures the workload identity token exchange.
	Identity IdentityConfig
	// Expiry configures the expiry notices to owning teams (thresholds,
	// interval, SMTP); the zero value notifies at 30, 7 and 1 days by
	// webhook only.
	Expiry notify.ExpirySettings
	// WebhookClient posts the expiry notices' webhooks (default a client
	// with a 10s timeout).
	WebhookClient *http.Client
}

// IdentityConfig configures the workload identity token exchange
// (identity.Exchanger), which is always on: an automation without trust
// policies admits no workload.
type IdentityConfig struct {
	// HTTPClient fetches the trusted issuers' discovery documents and keys
	// (default a client with a 10s timeout).
	HTTPClient *http.Client
}

// GatewayConfig configures the gateway.
type GatewayConfig struct {
	// File is the gateway's configuration from botgate.yaml; it does not
	// go with ConfigFile or Upstream.
	File *gateway.FileConfig
	// ConfigFile is the gateway's configuration file (YAML: routes,
	// limits, loop breaker, webhooks, trusted proxies).
	ConfigFile string
	// Upstream is the proxy's upstream base URL (a GitLab instance) when
	// there is no ConfigFile; UpstreamCredential the reference (env:NAME,
	// file:PATH) to the credential the proxy injects.
	Upstream           string
	UpstreamCredential string
	// MetricsPublic serves /metrics to anyone instead of administrators.
	MetricsPublic bool
	// Enforcement, if set, is the instance-wide mode of rate limits and the
	// loop breaker (enforce or shadow), over the configuration's
	// gateway.enforcement.
	Enforcement string
}

// ScaleConfig chooses what a node shares with the others besides the
// store: rate limits, the loop breaker and invalidations, through Redis.
type ScaleConfig struct {
	// Redis is a redis:// URL, or "" for none.
	Redis string
	// RedisPrefix prefixes botgate's Redis keys and channel.
	RedisPrefix string
	// RedisFail is what happens while Redis is unreachable: open (limit
	// per node, stay ready) or closed (refuse, not ready).
	RedisFail string
	// AuthCacheTTL is how long an authenticated token is trusted from
	// memory (default the authority's).
	AuthCacheTTL time.Duration
}

// requestSummaryEvery is how often the API's requests are summarised at
// info (each is logged at debug).
const requestSummaryEvery = time.Minute

// Server is a botgate server, built by New and run by Run.
type Server struct {
	cfg Config
	log *slog.Logger

	in *Instance
	// apiLimits is the API's own limiter when the node shares none.
	apiLimits *ratelimit.Memory
	vault     *authority.Vault
	scheduler *broker.Scheduler
	gw        *gateway.Gateway
	api       *http.Server
	apiH      *httpapi.Server
	apiLn     net.Listener
	proxy     *http.Server
	proxyLn   net.Listener
	bound     *Listeners
	// certs is the TLS certificate, nil without TLS.
	certs *certificates
	demo  *governance.ApplyResult
	// expiry tells teams about their tokens' coming expiry.
	expiry *notify.Expiry
}

// New builds the server cfg describes: the store, the authority and what
// the node shares with others, the vault and the upstream broker, the
// gateway, the HTTP API and governance, in that order, and binds the
// listeners. It starts no background work: Run does. With cfg.Demo it
// applies the example automations (DemoResult). The data directory must be
// initialised (Initialize).
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.bound = cfg.Listeners
	if s.bound == nil {
		if s.bound, err = Bind(cfg); err != nil {
			return nil, err
		}
	}
	s.apiLn, s.proxyLn = s.bound.api, s.bound.proxy
	s.certs = s.bound.certs
	if s.in, err = open(ctx, cfg, false, log); err != nil {
		return nil, err
	}
	in := s.in
	gwCfg, err := loadGatewayConfig(cfg.Gateway)
	if err != nil {
		return nil, err
	}
	// One list of trusted proxies for the API and the gateway: the
	// configured one and the gateway configuration's trusted_proxies
	// together.
	trust := cfg.TrustedProxies
	if gwCfg != nil {
		gwTrust, err := edge.ParseTrust(gwCfg.TrustedProxies)
		if err != nil {
			return nil, err
		}
		trust = trust.Merge(gwTrust)
	}
	var limiter botgate.Limiter = in.scale.limiter
	if limiter == nil {
		s.apiLimits = ratelimit.NewMemory(cfg.Clock)
		limiter = s.apiLimits
	}

	// The vault and the upstream broker.
	if s.vault, err = in.OpenVault(ctx, log); err != nil {
		return nil, err
	}
	// By default a replaced upstream token outlives its successor's
	// storing by twice the gateway's cache time, so that no proxied call
	// carries a token revoked under it.
	b, err := broker.New(broker.Config{Store: in.Store, Vault: s.vault, Clock: cfg.Clock, Logger: log.With("component", "broker"), RevokeGrace: cfg.Vault.RevokeGrace})
	if err != nil {
		return nil, err
	}
	if !cfg.Vault.NoRotationScheduler {
		host, _ := os.Hostname()
		s.scheduler, err = broker.NewScheduler(broker.SchedulerConfig{Broker: b, Holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
			Interval: cfg.Vault.RotationInterval, NotifyWithin: cfg.Vault.ExpiryNotice, Logger: log.With("component", "rotation-scheduler")})
		if err != nil {
			return nil, err
		}
	}

	// The gateway.
	br, err := in.scale.breaker(gwCfg)
	if err != nil {
		return nil, err
	}
	// An apply (automation.* events) bumps the authentication revision:
	// its rate limits and routes then reach the gateway at the next purge,
	// not only after the cache's TTL.
	limits := governance.NewLimits(in.Store, nil, 0, log)
	s.gw, err = gateway.New(gateway.Options{
		Authority: in.Authority, Store: in.Store, Config: gwCfg, Trust: trust, Getenv: cfg.Getenv, Logger: log.With("component", "gateway"),
		Limiter: in.scale.limiter, Breaker: br,
		Credentials:      &gateway.ConfigCredentials{Getenv: cfg.Getenv, Next: &vaultcred.Source{Vault: s.vault}},
		AutomationLimits: limits, Enforcement: cfg.Gateway.Enforcement,
	})
	if err != nil {
		return nil, err
	}
	if err := in.scale.register(s.gw.Registry()); err != nil {
		return nil, err
	}
	in.scale.onPurge(s.gw.PurgeMemberships)
	in.scale.onPurge(limits.Purge)
	if s.proxyLn != nil {
		s.proxy = &http.Server{
			Handler:           s.gw.Proxy(),
			ReadHeaderTimeout: 10 * time.Second,
			MaxHeaderBytes:    64 << 10,
			IdleTimeout:       2 * time.Minute,
		}
		if s.certs != nil {
			s.proxy.TLSConfig = s.certs.tlsConfig()
		}
	}

	// Governance, whose lint report the API serves.
	gov, err := governance.New(governance.Config{Authority: in.Authority, Store: in.Store, Vault: s.vault, Logger: log.With("component", "governance")})
	if err != nil {
		return nil, err
	}

	linter := func(ctx context.Context, cfg lint.Config) (*lint.Report, error) {
		return gov.Lint(ctx, governance.SnapshotOptions{}, cfg)
	}

	// The web console, over the same authority.
	con, err := console.New(console.Config{Authority: in.Authority, Store: in.Store, Vault: s.vault, Linter: linter,
		Trust: trust, Logger: log.With("component", "console"), Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	// The workload identity token exchange.
	x, err := identity.New(identity.Config{Store: in.Store, Minter: in.Authority, Upstream: b, Clock: cfg.Clock,
		HTTPClient: cfg.Identity.HTTPClient, Logger: log.With("component", "identity")})
	if err != nil {
		return nil, err
	}

	// The HTTP API, with everything it serves.
	s.apiH = httpapi.New(httpapi.Config{
		Authority: in.Authority, Store: in.Store, Logger: log, Version: botgate.Version, Clock: cfg.Clock,
		Trust: trust, Limiter: limiter, APILimit: cfg.APILimit,
		BodyReadTimeout: cfg.BodyReadTimeout,
		Ready: func(ctx context.Context) error {
			if err := in.scale.ready(ctx); err != nil {
				return err
			}
			_, err := authority.Initialized(ctx, in.Store)
			return err
		},
		Vault: s.vault, Broker: b, Linter: linter, Reissuer: gov.Reissue, Console: con, Governance: governance.API{Governor: gov},
		Leaks:                s.gw,
		Exchanger:            x,
		TokenRevocationToken: cfg.TokenRevocationToken,
		ForwardAuth:          s.gw.ForwardAuth(), Metrics: s.gw.MetricsHandler(), MetricsPublic: cfg.Gateway.MetricsPublic,
	})
	s.api = s.bound.apiSrv

	// The expiry notices to owning teams.
	var mailer *notify.Mailer
	if cfg.Expiry.SMTP != nil {
		if mailer, err = notify.NewMailer(*cfg.Expiry.SMTP); err != nil {
			return nil, err
		}
	}
	host, _ := os.Hostname()
	s.expiry, err = notify.NewExpiry(notify.ExpiryConfig{Store: in.Store, Authority: in.Authority, Clock: cfg.Clock,
		Thresholds: cfg.Expiry.Thresholds, Interval: cfg.Expiry.Interval, Holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
		HTTPClient: cfg.WebhookClient, Mailer: mailer, Logger: log.With("component", "expiry-notices"), Registerer: s.gw.Registry()})
	if err != nil {
		return nil, err
	}

	if cfg.Demo {
		var progress strings.Builder
		if s.demo, err = gov.Demo(ctx, &progress); err != nil {
			return nil, fmt.Errorf("applying the demo manifest: %w", err)
		}
	}
	return s, nil
}

// loadGatewayConfig reads the gateway's configuration (nil for the
// defaults) from the file or builds it from the upstream.
func loadGatewayConfig(o GatewayConfig) (*gateway.FileConfig, error) {
	switch {
	case o.File != nil && (o.ConfigFile != "" || o.Upstream != ""):
		return nil, fmt.Errorf("the configuration file's gateway section does not go with --gateway-config or --upstream: keep the gateway in one place")
	case o.File != nil:
		return o.File, nil
	case o.ConfigFile != "" && o.Upstream != "":
		return nil, fmt.Errorf("--upstream and --gateway-config do not go together: put the upstream in the configuration's routes")
	case o.ConfigFile != "":
		return gateway.LoadConfig(o.ConfigFile)
	case o.Upstream != "":
		return &gateway.FileConfig{Routes: []gateway.RouteConfig{{
			Name: "upstream", Upstream: o.Upstream, GitLab: true, Credential: o.UpstreamCredential,
		}}}, nil
	}
	return nil, nil
}

// Addr is the API listener's address.
func (s *Server) Addr() net.Addr { return s.apiLn.Addr() }

// ProxyAddr is the proxy listener's address, nil without one.
func (s *Server) ProxyAddr() net.Addr {
	if s.proxyLn == nil {
		return nil
	}
	return s.proxyLn.Addr()
}

// DemoResult is what the demo applied (Config.Demo), nil without it.
func (s *Server) DemoResult() *governance.ApplyResult { return s.demo }

// Run serves until ctx is done or a listener fails. It starts every
// background job (the authority's and the gateway's, the other nodes'
// invalidations, the sweeps of the in-memory limits, the vault check, the
// rotation scheduler, the expiry notices, the audit checkpoint) and the listeners; when it returns, in-flight requests have
// finished and the jobs have stopped. It returns nil when ctx ends, the
// listener's error when one fails. Call Close afterwards.
func (s *Server) Run(ctx context.Context) error {
	// SIGHUP reloads the certificate. The handler is in place before any
	// listener serves: a SIGHUP sent once the server answers must reload,
	// never be lost or, with no handler yet, end the process.
	hup := make(chan os.Signal, 1)
	if s.certs != nil {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	bctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	goBG := func(fn func(ctx context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(bctx)
		}()
	}
	defer func() {
		stop()
		wg.Wait()
	}()
	goBG(func(ctx context.Context) { _ = s.in.Authority.Run(ctx) })
	s.in.scale.run(bctx)
	goBG(func(ctx context.Context) { _ = s.gw.Run(ctx) })
	if s.apiLimits != nil {
		goBG(func(ctx context.Context) { _ = s.apiLimits.Run(ctx, time.Minute) })
	}
	// Damage is reported per secret and never stops the server.
	goBG(func(ctx context.Context) {
		damaged, err := s.vault.Check(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("vault check failed", "err", err)
		case len(damaged) > 0:
			s.log.Error("vault secrets that do not open; every other secret works", "count", len(damaged))
		}
	})
	if s.scheduler != nil {
		goBG(s.scheduler.Run)
	}
	goBG(s.expiry.Run)
	goBG(func(ctx context.Context) { s.apiH.LogSummaries(ctx, requestSummaryEvery) })

	errc := make(chan error, 2)
	if s.proxy != nil {
		s.log.Info("botgate proxy listening", "addr", s.proxyLn.Addr().String())
		go func() {
			if err := s.serve(s.proxy, s.proxyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("proxy listener stopped", "err", err)
				errc <- fmt.Errorf("proxy listener: %w", err)
			}
		}()
	}
	s.bound.start()
	s.bound.starting.Install(s.in.scale.readiness(s.apiH))
	// Said once the API serves: whoever waits for this line may call it.
	s.log.Info("botgate listening", "addr", s.apiLn.Addr().String(), "data_dir", s.cfg.DataDir, "version", botgate.Version)
	go func() {
		if err := <-s.bound.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	// The audit checkpoint (audit.go) follows the log, outside the
	// database.
	s.in.checkpointAudit(ctx, s.log)
	tick := time.NewTicker(auditCheckpointEvery)
	defer tick.Stop()
	var runErr error
wait:
	for {
		select {
		case runErr = <-errc:
			break wait
		case <-hup:
			if err := s.ReloadTLS(); err != nil {
				s.log.Error("TLS certificate not reloaded; the previous one stays in use", "err", err)
			} else {
				s.log.Info("TLS certificate reloaded", "cert_file", s.cfg.TLS.CertFile)
			}
		case <-tick.C:
			s.in.checkpointAudit(ctx, s.log)
		case <-ctx.Done():
			break wait
		}
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if s.proxy != nil {
		if err := s.proxy.Shutdown(sctx); err != nil {
			s.log.Warn("proxy shutdown", "err", err)
		}
	}
	if err := s.api.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) && runErr == nil {
		runErr = err
	}
	s.in.checkpointAudit(sctx, s.log)
	return runErr
}

// serve serves srv on ln, over TLS when the server has a certificate.
func (s *Server) serve(srv *http.Server, ln net.Listener) error {
	if s.certs != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// Close releases what New built, in reverse order: the listeners, the
// gateway (writing its pending usage), the vault's keys, the authority
// (writing its pending usage and audit events), the connections to the
// other nodes and the store. It is for after Run, or instead of it.
func (s *Server) Close() error {
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	if s.bound != nil {
		s.bound.closeListeners()
	}
	if s.gw != nil {
		keep(s.gw.Close())
	}
	if s.vault != nil {
		s.vault.Keyring().Destroy()
	}
	if s.in != nil {
		keep(s.in.Close())
	}
	// The data directory is let go last, once the store is closed.
	keep(s.bound.Close())
	return err
}

// MinRevocationToken is the shortest pre-shared token the token
// revocation API accepts to be configured with.
const MinRevocationToken = 16

// ReadRevocationToken returns the token revocation API's pre-shared token:
// the content of file (trailing newline trimmed) if a file is named,
// otherwise value; "" when neither is set. A token shorter than
// MinRevocationToken is refused.
func ReadRevocationToken(file, value string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the token revocation token: %w", err)
		}
		value = strings.TrimRight(string(b), "\r\n")
		if value == "" {
			return "", fmt.Errorf("the token revocation token file %s is empty", file)
		}
	}
	if value != "" && len(value) < MinRevocationToken {
		return "", fmt.Errorf("the token revocation token must be at least %d characters", MinRevocationToken)
	}
	return value, nil
}
