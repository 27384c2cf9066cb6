package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/server"
)

// gatewayOptions are serve's gateway flags.
type gatewayOptions struct {
	proxyListen string
	gateway     server.GatewayConfig
}

// gatewayFlags registers serve's gateway flags.
func gatewayFlags(cmd *cobra.Command, e *env, o *gatewayOptions) {
	f := cmd.Flags()
	f.StringVar(&o.proxyListen, "proxy-listen", envOr(e.getenv, "BOTGATE_PROXY_LISTEN", ""),
		"also run the gateway's reverse proxy on this address [env BOTGATE_PROXY_LISTEN]")
	f.StringVar(&o.gateway.Upstream, "upstream", envOr(e.getenv, "BOTGATE_UPSTREAM", ""),
		"the proxy's upstream base URL (a GitLab instance), when there is no --gateway-config [env BOTGATE_UPSTREAM]")
	f.StringVar(&o.gateway.UpstreamCredential, "upstream-credential", envOr(e.getenv, "BOTGATE_UPSTREAM_CREDENTIAL", ""),
		"reference to the upstream credential the proxy injects, env:NAME or file:PATH [env BOTGATE_UPSTREAM_CREDENTIAL]")
	f.StringVar(&o.gateway.ConfigFile, "gateway-config", envOr(e.getenv, "BOTGATE_GATEWAY_CONFIG", ""),
		"gateway configuration file (YAML: routes, limits, loop breaker, webhooks, trusted proxies) [env BOTGATE_GATEWAY_CONFIG]")
	f.BoolVar(&o.gateway.MetricsPublic, "metrics-public", envOr(e.getenv, "BOTGATE_METRICS_PUBLIC", "") == "true",
		"serve /metrics without authentication (default: an administrator's token with read_api or api) [env BOTGATE_METRICS_PUBLIC=true]")
	f.StringVar(&o.gateway.Enforcement, "gateway-enforcement", envOr(e.getenv, "BOTGATE_GATEWAY_ENFORCEMENT", ""),
		"enforce or shadow: in shadow the gateway lets through what rate limits and the loop breaker would refuse, and counts and audits it; overrides gateway.enforcement and every automation's enforce [env BOTGATE_GATEWAY_ENFORCEMENT]")
}
