package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/httpapi"
)

// gatewayOptions are serve's gateway flags.
type gatewayOptions struct {
	proxyListen string
	upstream    string
	credential  string
	config      string
	// metricsPublic serves /metrics to anyone instead of administrators.
	metricsPublic bool
}

// gatewayFlags registers serve's gateway flags.
func gatewayFlags(cmd *cobra.Command, e *env, o *gatewayOptions) {
	f := cmd.Flags()
	f.StringVar(&o.proxyListen, "proxy-listen", envOr(e.getenv, "BOTGATE_PROXY_LISTEN", ""),
		"also run the gateway's reverse proxy on this address [env BOTGATE_PROXY_LISTEN]")
	f.StringVar(&o.upstream, "upstream", envOr(e.getenv, "BOTGATE_UPSTREAM", ""),
		"the proxy's upstream base URL (a GitLab instance), when there is no --gateway-config [env BOTGATE_UPSTREAM]")
	f.StringVar(&o.credential, "upstream-credential", envOr(e.getenv, "BOTGATE_UPSTREAM_CREDENTIAL", ""),
		"reference to the upstream credential the proxy injects, env:NAME or file:PATH [env BOTGATE_UPSTREAM_CREDENTIAL]")
	f.StringVar(&o.config, "gateway-config", envOr(e.getenv, "BOTGATE_GATEWAY_CONFIG", ""),
		"gateway configuration file (YAML: routes, limits, loop breaker, webhooks, trusted proxies) [env BOTGATE_GATEWAY_CONFIG]")
	f.BoolVar(&o.metricsPublic, "metrics-public", envOr(e.getenv, "BOTGATE_METRICS_PUBLIC", "") == "true",
		"serve /metrics without authentication (default: an administrator's token with read_api or api) [env BOTGATE_METRICS_PUBLIC=true]")
}

// loadGatewayConfig reads the gateway's configuration (nil for the
// defaults) from --gateway-config or builds it from --upstream.
func loadGatewayConfig(o gatewayOptions) (*gateway.FileConfig, error) {
	switch {
	case o.config != "" && o.upstream != "":
		return nil, fmt.Errorf("--upstream and --gateway-config do not go together: put the upstream in the configuration's routes")
	case o.config != "":
		return gateway.LoadConfig(o.config)
	case o.upstream != "":
		return &gateway.FileConfig{Routes: []gateway.RouteConfig{{
			Name: "upstream", Upstream: o.upstream, GitLab: true, Credential: o.credential,
		}}}, nil
	}
	return nil, nil
}

// runningGateway is the gateway of a running server.
type runningGateway struct {
	gw    *gateway.Gateway
	proxy *http.Server
	log   *slog.Logger
}

// startGateway builds the gateway, mounts /-/auth (and the Envoy prefix
// below it) and /metrics (administrators only unless --metrics-public) on
// the API server, and starts the proxy listener
// if one is asked for.
func startGateway(e *env, o gatewayOptions, cfg *gateway.FileConfig, trust edge.Trust, in *instance, api *httpapi.Server, log *slog.Logger) (*runningGateway, error) {
	br, err := in.scale.breaker(cfg)
	if err != nil {
		return nil, err
	}
	// An apply (automation.* events) bumps the authentication revision:
	// its rate limits and routes then reach the gateway at the next purge,
	// not only after the cache's TTL.
	limits := governance.NewLimits(in.store, nil, 0, log)
	gw, err := gateway.New(gateway.Options{
		Authority: in.auth, Store: in.store, Config: cfg, Trust: trust, Getenv: e.getenv, Logger: log.With("component", "gateway"),
		Limiter: in.scale.limiter, Breaker: br,
		Credentials:      in.gatewayCredentials(e),
		AutomationLimits: limits,
	})
	if err != nil {
		return nil, err
	}
	if err := in.scale.register(gw.Registry()); err != nil {
		gw.Close()
		return nil, err
	}
	in.scale.onPurge(gw.PurgeMemberships)
	in.scale.onPurge(limits.Purge)
	api.Handle("/-/auth", gw.ForwardAuth())
	api.Handle("/-/auth/", gw.ForwardAuth())
	// Metrics name automations, routes and outcomes: administrators only,
	// unless the operator opens them (a scraper on a private network).
	if o.metricsPublic {
		api.Handle("GET /metrics", gw.MetricsHandler())
	} else {
		api.HandleAdmin("GET /metrics", gw.MetricsHandler())
	}
	api.SetLeakNotifier(gw)
	rg := &runningGateway{gw: gw, log: log}
	if o.proxyListen == "" {
		return rg, nil
	}
	ln, err := net.Listen("tcp", o.proxyListen)
	if err != nil {
		gw.Close()
		return nil, fmt.Errorf("listening on %s: %w", o.proxyListen, err)
	}
	rg.proxy = &http.Server{
		Handler:           gw.Proxy(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("botgate proxy listening", "addr", ln.Addr().String())
	go func() {
		if err := rg.proxy.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("proxy listener stopped", "err", err)
		}
	}()
	return rg, nil
}

// Close stops the proxy listener gracefully and writes pending usage.
func (rg *runningGateway) Close() error {
	if rg.proxy != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := rg.proxy.Shutdown(ctx); err != nil {
			rg.log.Warn("proxy shutdown", "err", err)
		}
	}
	return rg.gw.Close()
}
