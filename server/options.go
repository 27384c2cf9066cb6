package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/ratelimit"
)

// Options are the settings of the API's edge as 'botgate serve' takes
// them (flags, environment, configuration file): text that Apply parses
// into a Config.
type Options struct {
	// TrustedProxies are addresses or CIDRs of reverse proxies whose
	// X-Forwarded-* headers are believed.
	TrustedProxies []string
	// RateLimit is the per-user API limit, COUNT/PERIOD; RateBurst the
	// burst above it.
	RateLimit string
	RateBurst int
	// ReadHeaderTimeout and BodyReadTimeout are durations such as 30s.
	ReadHeaderTimeout, BodyReadTimeout string
	// RevocationTokenFile holds the token revocation API's pre-shared
	// token; RevocationToken is the token itself, used without a file.
	RevocationTokenFile, RevocationToken string
	// RotationGrace is Config.RotationGrace.
	RotationGrace time.Duration
}

// Apply parses o into cfg. A bad setting is a KindInvalid error that
// names its flag; a revocation token file that cannot be read is not.
func (o Options) Apply(cfg *Config) error {
	trust, err := edge.ParseTrust(o.TrustedProxies)
	if err != nil {
		return invalid("--trusted-proxy: %s", botgate.MessageOf(err))
	}
	cfg.TrustedProxies = trust
	l, err := manifest.ParseRateLimit(o.RateLimit)
	if err != nil {
		return invalid("--api-rate-limit: %s", botgate.MessageOf(err))
	}
	if o.RateBurst < 1 {
		return invalid("--api-rate-burst must be at least 1")
	}
	l.Burst = o.RateBurst
	if err := ratelimit.ValidateLimit(l); err != nil {
		return invalid("--api-rate-limit: %s", botgate.MessageOf(err))
	}
	cfg.APILimit = l
	if cfg.TokenRevocationToken, err = ReadRevocationToken(o.RevocationTokenFile, o.RevocationToken); err != nil {
		return err
	}
	if o.RotationGrace < 0 {
		return invalid("--rotation-grace must not be negative")
	}
	cfg.RotationGrace = o.RotationGrace
	for _, t := range []struct {
		flag, v string
		dst     *time.Duration
	}{{"--read-header-timeout", o.ReadHeaderTimeout, &cfg.ReadHeaderTimeout}, {"--body-read-timeout", o.BodyReadTimeout, &cfg.BodyReadTimeout}} {
		d, err := time.ParseDuration(strings.TrimSpace(t.v))
		if err != nil || d <= 0 {
			return invalid("%s %q: want a positive duration such as 30s", t.flag, t.v)
		}
		*t.dst = d
	}
	return nil
}

func invalid(format string, args ...any) error {
	return botgate.Errorf(botgate.KindInvalid, format, args...)
}

// initGrace is how long a first start's initialisation may go on once
// serve is stopped.
const initGrace = 30 * time.Second

// Serve runs a server until ctx ends, as 'botgate serve' does. It binds
// the listeners and locks the data directory before anything else, so
// that a port in use or another server on the data directory fails before
// a token is shown; then, on first start, it initialises the data
// directory for admin, whose token goes to admin.TokenFile or, once, to
// notes. notes also gets the demo's tour when cfg.Demo is set.
func Serve(ctx context.Context, cfg Config, admin Admin, log *slog.Logger, notes io.Writer) error {
	ls, err := Bind(cfg)
	if err != nil {
		return err
	}
	cfg.Listeners = ls
	// /-/health answers from here on; the API once Run installs it.
	ls.start()
	// A first start's initialisation runs to its end even if serve is
	// stopped meanwhile (it takes milliseconds): stopped half-way it would
	// leave a data directory that counts as initialised with no
	// administrator's token written anywhere. A store that does not answer
	// still gets it cancelled, initGrace after the stop.
	ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(initGrace, cancel) })()
	res, err := Prepare(ictx, cfg, admin, log)
	if err != nil {
		ls.Close()
		return err
	}
	if res != nil && res.TokenFile != "" {
		fmt.Fprintf(notes, "botgate: initialised %s; admin token written to %s\n", res.DataDir, res.TokenFile)
	} else if res != nil {
		fmt.Fprintf(notes, "botgate: initialised %s; admin token (shown once, store it now):\n%s\n", res.DataDir, res.Token)
	}
	if ctx.Err() != nil {
		// Stopped while initialising: the token is out, nothing to serve.
		return ls.Close()
	}
	srv, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if res := srv.DemoResult(); res != nil {
		governance.WriteDemo(notes, res, srv.Addr().String(), cfg.DataDir)
	}
	return srv.Run(ctx)
}
