package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/botgate/botgate"

	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/httpapi"
)

// Listeners are what a server holds before anything else is done: its
// listeners, bound, and (on the SQLite store) the data directory's lock.
// serve takes them before it initialises a new data directory, so that a
// port in use or a second server on the directory fails before an admin
// token is minted and shown.
type Listeners struct {
	api, proxy net.Listener
	lock       *datadir.Lock
	// certs is the TLS certificate, nil without TLS.
	certs *certificates
	// apiSrv serves the API listener, from Serve on (start) or from Run;
	// until Run installs the API in starting, it answers /-/health and
	// holds every other request (httpapi.Starting).
	apiSrv   *http.Server
	starting *httpapi.Starting
	once     sync.Once
	// served gets apiSrv's Serve error.
	served chan error
}

// Bind checks the gateway configuration and the TLS certificate, locks
// cfg.DataDir when the store is its SQLite database (one server per data
// directory: datadir.ErrLocked otherwise) and binds
// cfg.Listen and, if set, cfg.ProxyListen. Pass the result to New in
// Config.Listeners, or Close it.
func Bind(cfg Config) (_ *Listeners, err error) {
	l := &Listeners{}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	// What can be checked without the data directory is, first: a bad
	// gateway configuration or certificate must not cost a first start's
	// token.
	kind, err := storeKind(cfg.Store)
	if err != nil {
		return nil, err
	}
	if gw, err := loadGatewayConfig(cfg.Gateway); err != nil {
		return nil, err
	} else if gw != nil {
		if err := gw.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.TLS.enabled() {
		if l.certs, err = newCertificates(cfg.TLS); err != nil {
			return nil, err
		}
	}
	if kind == storeSQLite {
		if l.lock, err = (datadir.Dir{Path: cfg.DataDir}).Lock(); err != nil {
			return nil, err
		}
	}
	if l.api, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if cfg.ProxyListen != "" {
		if l.proxy, err = net.Listen("tcp", cfg.ProxyListen); err != nil {
			return nil, fmt.Errorf("listening on %s: %w", cfg.ProxyListen, err)
		}
	}
	l.starting = httpapi.NewStarting()
	l.apiSrv = &http.Server{
		Handler: l.starting,
		// The body's deadline is per request (httpapi's BodyReadTimeout):
		// ReadTimeout would also cancel the context of an answer that
		// takes longer than it.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	if l.certs != nil {
		l.apiSrv.TLSConfig = l.certs.tlsConfig()
	}
	l.served = make(chan error, 1)
	return l, nil
}

// start serves the API listener, once: /-/health answers from then on,
// the API once Run installs it.
func (l *Listeners) start() {
	l.once.Do(func() {
		go func() {
			var err error
			if l.certs != nil {
				err = l.apiSrv.ServeTLS(l.api, "", "")
			} else {
				err = l.apiSrv.Serve(l.api)
			}
			l.served <- err
		}()
	})
}

// Addr is the API listener's address.
func (l *Listeners) Addr() net.Addr { return l.api.Addr() }

// Close closes the listeners and releases the lock.
func (l *Listeners) Close() error {
	if l == nil {
		return nil
	}
	l.closeListeners()
	return l.lock.Unlock()
}

func (l *Listeners) closeListeners() {
	if l.starting != nil {
		// Requests still waiting for an API that was never installed
		// are refused, not left hanging: they get their 503 before the
		// connections close.
		l.starting.Fail()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.apiSrv.Shutdown(ctx)
		cancel()
		l.apiSrv.Close()
	}
	for _, ln := range []net.Listener{l.api, l.proxy} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Prepare readies cfg.DataDir for serving: a new directory is initialised
// (Initialize) and the result returned; on an initialised one it returns
// nil, and refuses an admin token file that does not exist: the token
// would not be written there, and whoever waits for it would wait in vain.
// An existing file is the first start's, left in place.
func Prepare(ctx context.Context, cfg Config, admin Admin, log *slog.Logger) (*InitResult, error) {
	if !(datadir.Dir{Path: cfg.DataDir}).Initialized() {
		return Initialize(ctx, cfg, admin, log)
	}
	if admin.TokenFile == "" {
		return nil, nil
	}
	if _, err := os.Stat(admin.TokenFile); err != nil {
		return nil, botgate.Errorf(botgate.KindInvalid,
			"%s is initialised already, so no admin token is written to %s: use an existing administrator's token, "+
				"or mint a new one with 'botgate admin recover --data-dir %s --admin-token-file %s' (it needs the data directory, and is audited)",
			cfg.DataDir, admin.TokenFile, cfg.DataDir, admin.TokenFile)
	}
	return nil, nil
}
