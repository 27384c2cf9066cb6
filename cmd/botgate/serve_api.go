package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/server"
)

// apiOptions configures the management API's edge: which proxies are
// trusted for X-Forwarded-* and the per-user API rate limit.
type apiOptions struct {
	trustedProxies    []string
	rateLimit         string
	rateBurst         int
	readHeaderTimeout string
	bodyReadTimeout   string
	revocationFile    string
	revocationToken   string
	rotationGrace     time.Duration
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
	cmd.Flags().StringVar(&o.readHeaderTimeout, "read-header-timeout", envOr(e.getenv, "BOTGATE_READ_HEADER_TIMEOUT", "10s"),
		"how long the API listener waits for a request's headers [env BOTGATE_READ_HEADER_TIMEOUT]")
	cmd.Flags().StringVar(&o.bodyReadTimeout, "body-read-timeout", envOr(e.getenv, "BOTGATE_BODY_READ_TIMEOUT", "30s"),
		"how long the API listener waits for a request's body; a slower one is answered 408 and its connection closed (the gateway proxy's is body_read_timeout in its configuration) [env BOTGATE_BODY_READ_TIMEOUT]")
	o.revocationToken = e.getenv("BOTGATE_TOKEN_REVOCATION_TOKEN")
	cmd.Flags().StringVar(&o.revocationFile, "token-revocation-token-file", envOr(e.getenv, "BOTGATE_TOKEN_REVOCATION_TOKEN_FILE", ""),
		"file holding the pre-shared token GitLab's secret detection sends to the token revocation API (/v1/revoke_tokens); without it, or BOTGATE_TOKEN_REVOCATION_TOKEN, that API refuses every call [env BOTGATE_TOKEN_REVOCATION_TOKEN_FILE]")
	grace := time.Duration(0)
	if v, err := time.ParseDuration(e.getenv("BOTGATE_ROTATION_GRACE")); err == nil && v > 0 {
		grace = v
	}
	cmd.Flags().DurationVar(&o.rotationGrace, "rotation-grace", grace,
		"how long a rotated-out token still authenticates for ordinary calls (never to rotate), so that running jobs finish; 0 refuses it at once, as GitLab [env BOTGATE_ROTATION_GRACE]")
}

// apply resolves the options into cfg.
func (o apiOptions) apply(cfg *server.Config) error {
	trust, err := edge.ParseTrust(o.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %s", botgate.MessageOf(err))
	}
	cfg.TrustedProxies = trust
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
	cfg.APILimit = l
	tok, err := server.ReadRevocationToken(o.revocationFile, o.revocationToken)
	if err != nil {
		return err
	}
	cfg.TokenRevocationToken = tok
	if o.rotationGrace < 0 {
		return fmt.Errorf("--rotation-grace must not be negative")
	}
	cfg.RotationGrace = o.rotationGrace
	for _, t := range []struct {
		flag, v string
		dst     *time.Duration
	}{{"--read-header-timeout", o.readHeaderTimeout, &cfg.ReadHeaderTimeout}, {"--body-read-timeout", o.bodyReadTimeout, &cfg.BodyReadTimeout}} {
		d, err := time.ParseDuration(strings.TrimSpace(t.v))
		if err != nil || d <= 0 {
			return fmt.Errorf("%s %q: want a positive duration such as 30s", t.flag, t.v)
		}
		*t.dst = d
	}
	return nil
}
