package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"

	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/server"
)

type serveOptions struct {
	listen    string
	dataDir   string
	tokenFile string
	tls       server.TLSConfig
	logLevel  string
	gateway   gatewayOptions
	vault     server.VaultConfig
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
own API under /api/botgate/v1, forward-auth at /-/auth, and health endpoints
/-/health, /-/liveness and /-/readiness. Settings come from flags, then environment
variables, then the configuration file (--config, BOTGATE_CONFIG; see
'botgate config check').

Before anything else it checks the gateway configuration and the TLS certificate,
locks the data directory (one serve per directory) and binds its listeners. Then, on
first start, it initialises the data directory like 'botgate init': the admin token
is printed once, or written to --admin-token-file. On an initialised directory
--admin-token-file must name the first start's file; a lost token is replaced with
'botgate admin recover'.

With --tls-cert and --tls-key both listeners serve HTTPS; SIGHUP rereads the files.
Each request is logged at debug; at info, a summary every minute.

It stops gracefully on SIGTERM or SIGINT: in-flight requests finish, pending usage
records and audit events are written.`,
		Example: `  botgate serve
  botgate serve --config /etc/botgate/botgate.yaml
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
	cmd.Flags().StringVar(&o.tls.CertFile, "tls-cert", envOr(e.getenv, "BOTGATE_TLS_CERT", ""), "serve the API and the proxy over HTTPS with this certificate (PEM, chain after the leaf); reread on SIGHUP [env BOTGATE_TLS_CERT]")
	cmd.Flags().StringVar(&o.tls.KeyFile, "tls-key", envOr(e.getenv, "BOTGATE_TLS_KEY", ""), "the certificate's private key (PEM) [env BOTGATE_TLS_KEY]")
	cmd.Flags().BoolVar(&o.demo, "demo", false, "apply the example automations (examples/automations.yaml, built in) at start and print how to explore them")
	cmd.Flags().StringVar(&o.logLevel, "log-level", envOr(e.getenv, "BOTGATE_LOG_LEVEL", "info"), "debug, info, warn or error [env BOTGATE_LOG_LEVEL]")
	return cmd
}

// configErr makes an invalid setting a usage error (exit status 2): the
// command line or the configuration is to be fixed.
func configErr(err error) error {
	if botgate.IsKind(err, botgate.KindInvalid) {
		return &exitError{code: exitUsage, err: shown{err}}
	}
	return err
}

func serve(ctx context.Context, e *env, o serveOptions) error {
	log := newLogger(e, o.logLevel)
	cfg := server.Config{
		DataDir: o.dataDir, Store: o.scale.store, Getenv: e.getenv,
		Listen: o.listen, ProxyListen: o.gateway.proxyListen,
		Gateway: o.gateway.gateway, Vault: o.vault, Scale: o.scale.scale, Demo: o.demo, TLS: o.tls,
	}
	if e.conf != nil {
		cfg.Gateway.File = e.conf.GatewayConfig()
		var err error
		if cfg.Expiry, err = e.conf.ExpiryNotices(e.getenv); err != nil {
			return configErr(err)
		}
	}
	if err := o.api.apply(&cfg); err != nil {
		return err
	}
	// Bound and locked before anything is initialised: a port in use or
	// another server on the data directory fails before a token is shown.
	ls, err := server.Bind(cfg)
	if err != nil {
		return configErr(err)
	}
	cfg.Listeners = ls
	res, err := server.Prepare(ctx, cfg, server.Admin{Username: "root", Email: "admin@botgate.local", TokenFile: o.tokenFile}, log)
	if err != nil {
		ls.Close()
		return configErr(err)
	}
	if res != nil && res.TokenFile != "" {
		fmt.Fprintf(e.stderr, "botgate: initialised %s; admin token written to %s\n", res.DataDir, res.TokenFile)
	} else if res != nil {
		fmt.Fprintf(e.stderr, "botgate: initialised %s; admin token (shown once, store it now):\n%s\n", res.DataDir, res.Token)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if res := srv.DemoResult(); res != nil {
		governance.WriteDemo(e.stderr, res, srv.Addr().String(), o.dataDir)
	}
	return srv.Run(ctx)
}
