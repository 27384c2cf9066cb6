package gateway

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Decision results, the values of the "result" label.
const (
	resultAllowed         = "allowed"
	resultUnauthenticated = "unauthenticated"
	resultForbidden       = "forbidden"
	resultRateLimited     = "rate_limited"
	resultLoop            = "loop"
	resultInvalid         = "invalid"
	resultNoRoute         = "no_route"
	resultError           = "error"
)

// metrics are the gateway's Prometheus collectors, in a registry of its
// own. Labels carry only fixed words, configured route names and
// automation names: never a token, a path or an address.
type metrics struct {
	reg            *prometheus.Registry
	decisions      *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	limiterDenials prometheus.Counter
	loopTrips      prometheus.Counter
	loopBlocked    prometheus.Counter
	suspensions    prometheus.Counter
	webhookErrors  prometheus.Counter
	upstreamErrors *prometheus.CounterVec
	usageDropped   prometheus.Counter
	shadowRefusals *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "decisions_total",
			Help: "Gateway decisions by mode (auth: forward-auth, proxy) and result.",
		}, []string{"mode", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "decision_duration_seconds",
			Help:    "Time to decide on a request (not counting the upstream).",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5},
		}, []string{"mode"}),
		limiterDenials: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "limiter_denials_total",
			Help: "Requests refused by a token's rate limit.",
		}),
		loopTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "loop_trips_total",
			Help: "Runaway loops detected (one per trip, not per refused request).",
		}),
		loopBlocked: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "loop_blocked_total",
			Help: "Requests refused because their shape is blocked after a trip.",
		}),
		suspensions: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "token_suspensions_total",
			Help: "Tokens revoked automatically after a loop trip.",
		}),
		webhookErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "webhook_errors_total",
			Help: "Team webhooks (loop trips, leaked tokens) that could not be delivered.",
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "upstream_errors_total",
			Help: "Proxied requests that failed at the upstream, by route and kind (unavailable, timeout).",
		}, []string{"route", "kind"}),
		usageDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "usage_dropped_total",
			Help: "Route usage records dropped because the buffer was full.",
		}),
		shadowRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "botgate", Subsystem: "gateway", Name: "shadow_refusals_total",
			Help: "Requests let through in shadow mode that would have been refused, by reason (rate_limit, loop) and automation.",
		}, []string{"reason", "automation"}),
	}
	m.reg.MustRegister(m.decisions, m.latency, m.limiterDenials, m.loopTrips, m.loopBlocked,
		m.suspensions, m.webhookErrors, m.upstreamErrors, m.usageDropped, m.shadowRefusals)
	for _, mode := range []string{"auth", "proxy"} {
		for _, r := range []string{resultAllowed, resultUnauthenticated, resultForbidden, resultRateLimited, resultLoop, resultInvalid, resultError} {
			m.decisions.WithLabelValues(mode, r)
		}
	}
	return m
}

// Registry returns the gateway's metrics registry, so that the caller can
// add collectors of its own.
func (g *Gateway) Registry() *prometheus.Registry { return g.metrics.reg }

// MetricsHandler serves the gateway's metrics in the Prometheus format.
func (g *Gateway) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
}
