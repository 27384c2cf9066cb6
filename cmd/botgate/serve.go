package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/httpapi"
)

type serveOptions struct {
	listen    string
	dataDir   string
	tokenFile string
	logLevel  string
	gateway   gatewayOptions
	vault     vaultOptions
	scale     scaleOptions
	api       apiOptions
	demo      bool
}

func newServeCmd(e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the botgate server",
		Long: `serve runs the botgate server: the GitLab-compatible API under /api/v4, botgate's
own API under /api/botgate/v1, and health endpoints /-/health, /-/liveness and
/-/readiness. On first start it initialises the data directory like 'botgate init'
(the admin token is printed once, or written to --admin-token-file).

It stops gracefully on SIGTERM or SIGINT: in-flight requests finish, pending usage
records and audit events are written.`,
		Example: `  botgate serve
  botgate serve --listen 127.0.0.1:9000 --data-dir /var/lib/botgate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), e, o) },
	}
	cmd.Flags().StringVar(&o.listen, "listen", envOr(e.getenv, "BOTGATE_LISTEN", "127.0.0.1:8080"), "address to listen on [env BOTGATE_LISTEN]")
	dataDirFlag(cmd, e, &o.dataDir)
	cmd.Flags().StringVar(&o.tokenFile, "admin-token-file", envOr(e.getenv, "BOTGATE_ADMIN_TOKEN_FILE", ""), "on first start, write the admin token here (0600) [env BOTGATE_ADMIN_TOKEN_FILE]")
	gatewayFlags(cmd, e, &o.gateway)
	vaultFlags(cmd, e, &o.vault)
	scaleFlags(cmd, e, &o.scale)
	apiFlags(cmd, e, &o.api)
	cmd.Flags().BoolVar(&o.demo, "demo", false, "apply the example automations (examples/automations.yaml, built in) at start and print how to explore them")
	cmd.Flags().StringVar(&o.logLevel, "log-level", envOr(e.getenv, "BOTGATE_LOG_LEVEL", "info"), "debug, info, warn or error [env BOTGATE_LOG_LEVEL]")
	return cmd
}

func serve(ctx context.Context, e *env, o serveOptions) error {
	log := newLogger(e, o.logLevel)
	if !(datadir.Dir{Path: o.dataDir}).Initialized() {
		res, err := initializeWith(ctx, o.dataDir, o.scale, o.tokenFile, "root", "admin@botgate.local", log)
		if err != nil {
			return err
		}
		if res.TokenFile != "" {
			fmt.Fprintf(e.stderr, "botgate: initialised %s; admin token written to %s\n", res.DataDir, res.TokenFile)
		} else {
			fmt.Fprintf(e.stderr, "botgate: initialised %s; admin token (shown once, store it now):\n%s\n", res.DataDir, res.Token)
		}
	}
	in, err := openInstanceWith(ctx, o.dataDir, o.scale, log)
	if err != nil {
		return err
	}
	defer in.Close()
	// Background work runs until serve returns; each part's Close (deferred
	// in reverse order of construction) stops it and writes what is pending.
	go in.auth.Run(ctx)

	var apiCfg apiEdge
	if err := o.api.apply(&apiCfg, in.scale.limiter, botgate.SystemClock{}); err != nil {
		return err
	}
	gwCfg, err := loadGatewayConfig(o.gateway)
	if err != nil {
		return err
	}
	// One list of trusted proxies for the API and the gateway: the flag's
	// and the gateway configuration's trusted_proxies together.
	trust := apiCfg.trust
	if gwCfg != nil {
		gwTrust, err := edge.ParseTrust(gwCfg.TrustedProxies)
		if err != nil {
			return err
		}
		trust = trust.Merge(gwTrust)
	}
	api := httpapi.New(httpapi.Config{
		Authority: in.auth, Store: in.store, Logger: log, Version: botgate.Version,
		Trust: trust, Limiter: apiCfg.limiter, APILimit: apiCfg.limit,
		BodyReadTimeout: apiCfg.bodyReadTimeout,
		Ready: func(ctx context.Context) error {
			if err := in.scale.ready(ctx); err != nil {
				return err
			}
			return in.store.View(ctx, func(tx botgate.Tx) error {
				_, err := tx.Setting(ctx, "audit_head")
				if botgate.IsKind(err, botgate.KindNotFound) {
					return nil
				}
				return err
			})
		},
	})
	vlt, err := startVault(ctx, e, o.vault, in, api, log)
	if err != nil {
		return err
	}
	defer vlt.Close()
	gw, err := startGateway(e, o.gateway, gwCfg, trust, in, api, log)
	if err != nil {
		return err
	}
	defer gw.Close()
	go gw.gw.Run(ctx)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.listen, err)
	}
	if err := startGovernance(ctx, e, in, vlt.v, api, o.demo, ln.Addr().String(), o.dataDir, log); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler: in.scale.readiness(api),
		// The body's deadline is per request (httpapi's BodyReadTimeout):
		// ReadTimeout would also cancel the context of an answer that
		// takes longer than it.
		ReadHeaderTimeout: apiCfg.readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	log.Info("botgate listening", "addr", ln.Addr().String(), "data_dir", o.dataDir, "version", botgate.Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The audit checkpoint (audit.go) follows the log, outside the
	// database.
	checkpointAudit(ctx, in, log)
	tick := time.NewTicker(auditCheckpointEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			checkpointAudit(ctx, in, log)
		case <-ctx.Done():
			break wait
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	checkpointAudit(sctx, in, log)
	return nil
}

// auditCheckpointEvery is how often serve moves the audit checkpoint
// forward.
const auditCheckpointEvery = time.Minute
