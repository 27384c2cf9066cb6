package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/server"
)

// scaleOptions choose what a node shares with the others: the store
// (--store), the rate limits, loop breaker and invalidations (--redis).
type scaleOptions struct {
	store string // "" or "sqlite", or a postgres:// URL
	scale server.ScaleConfig
}

// scaleFlags registers serve's scale-out flags. The URLs' defaults come
// from the environment but are not shown in --help: they may hold
// passwords.
func scaleFlags(cmd *cobra.Command, e *env, o *scaleOptions) {
	f := cmd.Flags()
	f.StringVar(&o.store, "store", e.getenv("BOTGATE_STORE"),
		"the store: sqlite (the data directory's database, the default) or a postgres:// URL shared by several nodes [env BOTGATE_STORE]")
	f.StringVar(&o.scale.Redis, "redis", e.getenv("BOTGATE_REDIS"),
		"a redis:// URL: share rate limits, the loop breaker and revocations with the other nodes [env BOTGATE_REDIS]")
	for _, name := range []string{"store", "redis"} {
		f.Lookup(name).DefValue = ""
	}
	f.StringVar(&o.scale.RedisPrefix, "redis-prefix", envOr(e.getenv, "BOTGATE_REDIS_PREFIX", "botgate:"),
		"prefix of botgate's Redis keys and channel, for installations sharing one Redis [env BOTGATE_REDIS_PREFIX]")
	f.StringVar(&o.scale.RedisFail, "redis-fail", envOr(e.getenv, "BOTGATE_REDIS_FAIL", "open"),
		"while Redis is unreachable: open (limit per node, stay ready) or closed (refuse, not ready) [env BOTGATE_REDIS_FAIL]")
	ttl := time.Minute
	if v, err := time.ParseDuration(e.getenv("BOTGATE_AUTH_CACHE_TTL")); err == nil && v > 0 {
		ttl = v
	}
	f.DurationVar(&o.scale.AuthCacheTTL, "auth-cache-ttl", ttl,
		"how long an authenticated token is trusted from memory; the backstop behind the store's revision (polled every second) and the fan-out [env BOTGATE_AUTH_CACHE_TTL]")
}
