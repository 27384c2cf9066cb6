package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/server"
)

func newServeCmd(e *env) *cobra.Command {
	var cfg server.Config
	var opts server.Options
	var tokenFile, logLevel string
	cmd := &cobra.Command{
		Use: "serve", Short: "Run the botgate server", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Getenv = e.getenv
			var err error
			if e.conf != nil {
				cfg.Gateway.File = e.conf.GatewayConfig()
				cfg.Expiry, err = e.conf.ExpiryNotices(e.getenv)
			}
			if err == nil {
				err = opts.Apply(&cfg)
			}
			if err == nil {
				err = server.Serve(cmd.Context(), cfg, server.Admin{Username: "root", Email: "admin@botgate.local", TokenFile: tokenFile}, newLogger(e, logLevel), e.stderr)
			}
			return cliout.Invalid(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", envOr(e.getenv, "BOTGATE_LISTEN", "127.0.0.1:8080"), "address to listen on [env BOTGATE_LISTEN]")
	dataDirFlag(cmd, e, &cfg.DataDir)
	f.StringVar(&tokenFile, "admin-token-file", envOr(e.getenv, "BOTGATE_ADMIN_TOKEN_FILE", ""), "on first start, write the admin token here (0600) [env BOTGATE_ADMIN_TOKEN_FILE]")
	// The gateway.
	f.StringVar(&cfg.ProxyListen, "proxy-listen", envOr(e.getenv, "BOTGATE_PROXY_LISTEN", ""),
		"also run the gateway's reverse proxy on this address [env BOTGATE_PROXY_LISTEN]")
	f.StringVar(&cfg.Gateway.Upstream, "upstream", envOr(e.getenv, "BOTGATE_UPSTREAM", ""),
		"the proxy's upstream base URL (a GitLab instance), when there is no --gateway-config [env BOTGATE_UPSTREAM]")
	f.StringVar(&cfg.Gateway.UpstreamCredential, "upstream-credential", envOr(e.getenv, "BOTGATE_UPSTREAM_CREDENTIAL", ""),
		"reference to the upstream credential the proxy injects, env:NAME or file:PATH [env BOTGATE_UPSTREAM_CREDENTIAL]")
	f.StringVar(&cfg.Gateway.ConfigFile, "gateway-config", envOr(e.getenv, "BOTGATE_GATEWAY_CONFIG", ""),
		"gateway configuration file (YAML: routes, limits, loop breaker, webhooks, trusted proxies) [env BOTGATE_GATEWAY_CONFIG]")
	f.BoolVar(&cfg.Gateway.MetricsPublic, "metrics-public", envOr(e.getenv, "BOTGATE_METRICS_PUBLIC", "") == "true",
		"serve /metrics without authentication (default: an administrator's token with read_api or api) [env BOTGATE_METRICS_PUBLIC=true]")
	f.StringVar(&cfg.Gateway.Enforcement, "gateway-enforcement", envOr(e.getenv, "BOTGATE_GATEWAY_ENFORCEMENT", ""),
		"enforce or shadow: in shadow the gateway lets through what rate limits and the loop breaker would refuse, and counts and audits it; overrides gateway.enforcement and every automation's enforce [env BOTGATE_GATEWAY_ENFORCEMENT]")
	vaultFlags(cmd, e, &cfg.Vault)
	// Scale-out. The URLs' defaults come from the environment but are not
	// shown in --help: they may hold passwords.
	f.StringVar(&cfg.Store, "store", e.getenv("BOTGATE_STORE"),
		"the store: sqlite (the data directory's database, the default) or a postgres:// URL shared by several nodes [env BOTGATE_STORE]")
	f.StringVar(&cfg.Scale.Redis, "redis", e.getenv("BOTGATE_REDIS"),
		"a redis:// URL: share rate limits, the loop breaker and revocations with the other nodes [env BOTGATE_REDIS]")
	f.Lookup("store").DefValue, f.Lookup("redis").DefValue = "", ""
	f.StringVar(&cfg.Scale.RedisPrefix, "redis-prefix", envOr(e.getenv, "BOTGATE_REDIS_PREFIX", "botgate:"),
		"prefix of botgate's Redis keys and channel, for installations sharing one Redis [env BOTGATE_REDIS_PREFIX]")
	f.StringVar(&cfg.Scale.RedisFail, "redis-fail", envOr(e.getenv, "BOTGATE_REDIS_FAIL", "open"),
		"while Redis is unreachable: open (limit per node, stay ready) or closed (refuse, not ready) [env BOTGATE_REDIS_FAIL]")
	f.DurationVar(&cfg.Scale.AuthCacheTTL, "auth-cache-ttl", envDuration(e, "BOTGATE_AUTH_CACHE_TTL", time.Minute),
		"how long an authenticated token is trusted from memory; the backstop behind the store's revision (polled every second) and the fan-out [env BOTGATE_AUTH_CACHE_TTL]")
	// The API's edge.
	var trusted []string
	if v := e.getenv("BOTGATE_TRUSTED_PROXIES"); v != "" {
		trusted = strings.Split(v, ",")
	}
	f.StringSliceVar(&opts.TrustedProxies, "trusted-proxy", trusted,
		"address or CIDR of a reverse proxy whose X-Forwarded-For/-Proto/-Host are believed; repeatable [env BOTGATE_TRUSTED_PROXIES, comma-separated]")
	f.StringVar(&opts.RateLimit, "api-rate-limit", envOr(e.getenv, "BOTGATE_API_RATE_LIMIT", "7200/hour"),
		"per-user limit on authenticated /api requests, as COUNT/PERIOD (s, min, hour); each bot, service account and person has its own budget [env BOTGATE_API_RATE_LIMIT]")
	f.IntVar(&opts.RateBurst, "api-rate-burst", 600, "burst allowed above --api-rate-limit")
	f.StringVar(&opts.ReadHeaderTimeout, "read-header-timeout", envOr(e.getenv, "BOTGATE_READ_HEADER_TIMEOUT", "10s"),
		"how long the API listener waits for a request's headers [env BOTGATE_READ_HEADER_TIMEOUT]")
	f.StringVar(&opts.BodyReadTimeout, "body-read-timeout", envOr(e.getenv, "BOTGATE_BODY_READ_TIMEOUT", "30s"),
		"how long the API listener waits for a request's body; a slower one is answered 408 and its connection closed (the gateway proxy's is body_read_timeout in its configuration) [env BOTGATE_BODY_READ_TIMEOUT]")
	opts.RevocationToken = e.getenv("BOTGATE_TOKEN_REVOCATION_TOKEN")
	f.StringVar(&opts.RevocationTokenFile, "token-revocation-token-file", envOr(e.getenv, "BOTGATE_TOKEN_REVOCATION_TOKEN_FILE", ""),
		"file holding the pre-shared token GitLab's secret detection sends to the token revocation API (/v1/revoke_tokens); without it, or BOTGATE_TOKEN_REVOCATION_TOKEN, that API refuses every call [env BOTGATE_TOKEN_REVOCATION_TOKEN_FILE]")
	f.DurationVar(&opts.RotationGrace, "rotation-grace", envDuration(e, "BOTGATE_ROTATION_GRACE", 0),
		"how long a rotated-out token still authenticates for ordinary calls (never to rotate), so that running jobs finish; 0 refuses it at once, as GitLab [env BOTGATE_ROTATION_GRACE]")
	// TLS, the demo, the log.
	f.StringVar(&cfg.TLS.CertFile, "tls-cert", envOr(e.getenv, "BOTGATE_TLS_CERT", ""), "serve the API and the proxy over HTTPS with this certificate (PEM, chain after the leaf); reread on SIGHUP [env BOTGATE_TLS_CERT]")
	f.StringVar(&cfg.TLS.KeyFile, "tls-key", envOr(e.getenv, "BOTGATE_TLS_KEY", ""), "the certificate's private key (PEM) [env BOTGATE_TLS_KEY]")
	f.BoolVar(&cfg.Demo, "demo", false, "apply the example automations (examples/automations.yaml, built in) at start and print how to explore them")
	f.StringVar(&logLevel, "log-level", envOr(e.getenv, "BOTGATE_LOG_LEVEL", "info"), "debug, info, warn or error [env BOTGATE_LOG_LEVEL]")
	return cmd
}
