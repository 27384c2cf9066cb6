package main

import (
	"fmt"

	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/ratelimit"
)

// apiOptions configures the management API's edge: which proxies are
// trusted for X-Forwarded-* and the per-user API rate limit.
type apiOptions struct {
	trustedProxies []string
	rateLimit      string
	rateBurst      int
}

func apiFlags(cmd *cobra.Command, e *env, o *apiOptions) {
	var trusted []string
	if v := e.getenv("BOTGATE_TRUSTED_PROXIES"); v != "" {
		trusted = strings.Split(v, ",")
	}
	cmd.Flags().StringSliceVar(&o.trustedProxies, "trusted-proxy", trusted,
		"address or CIDR of a reverse proxy whose X-Forwarded-For/-Proto/-Host are believed; repeatable [env BOTGATE_TRUSTED_PROXIES, comma-separated]")
	cmd.Flags().StringVar(&o.rateLimit, "api-rate-limit", envOr(e.getenv, "BOTGATE_API_RATE_LIMIT", "7200/hour"),
		"per-user limit on authenticated /api requests, as COUNT/PERIOD (s, min, hour); each bot, service account and person has its own budget [env BOTGATE_API_RATE_LIMIT]")
	cmd.Flags().IntVar(&o.rateBurst, "api-rate-burst", 600, "burst allowed above --api-rate-limit")
}

// apply resolves the options into cfg. shared is the
// cluster's limiter when there is one; otherwise the node limits alone.
func (o apiOptions) apply(cfg *apiEdge, shared botgate.Limiter, clock botgate.Clock) error {
	trust, err := edge.ParseTrust(o.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %s", botgate.MessageOf(err))
	}
	cfg.trust = trust
	l, err := manifest.ParseRateLimit(o.rateLimit)
	if err != nil {
		return fmt.Errorf("--api-rate-limit: %s", botgate.MessageOf(err))
	}
	if o.rateBurst < 1 {
		return fmt.Errorf("--api-rate-burst must be at least 1")
	}
	l.Burst = o.rateBurst
	if err := ratelimit.ValidateLimit(l); err != nil {
		return fmt.Errorf("--api-rate-limit: %s", botgate.MessageOf(err))
	}
	cfg.limit = l
	cfg.limiter = shared
	if cfg.limiter == nil {
		cfg.limiter = ratelimit.NewMemory(clock)
	}
	return nil
}

// apiEdge is the resolved API edge configuration.
type apiEdge struct {
	trust   edge.Trust
	limiter botgate.Limiter
	limit   botgate.Limit
}
