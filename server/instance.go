package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
)

// Instance is an opened botgate installation without a server: its data
// directory, store and authority, for the commands that work offline
// (audit verify, plan, apply, lint, vault). Nothing runs in the
// background; Close writes what the authority holds pending.
type Instance struct {
	Dir       datadir.Dir
	Store     botgate.Store
	Authority *authority.Service
	// Pepper keys token digests and the audit chain.
	Pepper []byte

	cfg   Config
	log   *slog.Logger
	scale *scaleOut
}

// Open opens the installation cfg.DataDir and cfg.Store name, the store
// alone: no Redis and no subscription. A change made through it still
// bumps the store's authentication revision, which every server polls,
// and is NOTIFYed to the servers when the store is PostgreSQL. cfg.Vault
// and cfg.Getenv are what OpenVault reads.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Instance, error) {
	return open(ctx, cfg.withDefaults(), true, log)
}

// open opens the store cfg.Store selects, connects what the node shares
// with others (scale.go) and builds the authority.
func open(ctx context.Context, cfg Config, storeOnly bool, log *slog.Logger) (*Instance, error) {
	if err := validateScale(cfg); err != nil {
		return nil, err
	}
	d := datadir.Dir{Path: cfg.DataDir}
	pepper, err := d.Pepper()
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.Store, d, log)
	if err != nil {
		return nil, err
	}
	scale, err := newScaleOut(ctx, cfg.Scale, storeOnly, st, cfg.Clock, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: pepper, Clock: cfg.Clock, Logger: log,
		CacheTTL: cfg.Scale.AuthCacheTTL, RotationGrace: cfg.RotationGrace, OnChange: scale.onChange, OnPurge: scale.runPurgers})
	if err != nil {
		scale.Close()
		st.Close()
		return nil, err
	}
	scale.subscribe(auth)
	return &Instance{Dir: d, Store: st, Authority: auth, Pepper: pepper, cfg: cfg, log: log, scale: scale}, nil
}

// Close writes the authority's pending usage and audit events and closes
// the connections and the store.
func (in *Instance) Close() error {
	err := in.Authority.Close()
	if cerr := in.scale.Close(); err == nil {
		err = cerr
	}
	if cerr := in.Store.Close(); err == nil {
		err = cerr
	}
	return err
}

// Admin is the first administrator Initialize creates.
type Admin struct {
	Username string
	Email    string
	// TokenFile, if set, receives the admin token (0600) instead of
	// InitResult.
	TokenFile string
}

// InitResult is what Initialize reports.
type InitResult struct {
	DataDir       string `json:"data_dir"`
	AdminUsername string `json:"admin_username"`
	AdminTokenID  int64  `json:"admin_token_id"`
	Token         string `json:"token,omitempty"`
	TokenFile     string `json:"token_file,omitempty"`
}

// Initialize creates the data directory cfg.DataDir, the pepper, the vault
// master key and the first administrator, on the store cfg.Store selects.
// It refuses a data directory that is initialised already, and a shared
// store that another node has initialised.
func Initialize(ctx context.Context, cfg Config, admin Admin, log *slog.Logger) (*InitResult, error) {
	cfg = cfg.withDefaults()
	d := datadir.Dir{Path: cfg.DataDir}
	if d.Initialized() {
		return nil, fmt.Errorf("%s is already initialised", cfg.DataDir)
	}
	if err := validateScale(cfg); err != nil {
		return nil, err
	}
	if err := refuseSharedReinit(ctx, cfg.Store, d, log); err != nil {
		return nil, err
	}
	if err := d.Create(rand.Reader); err != nil {
		return nil, err
	}
	in, err := open(ctx, Config{DataDir: cfg.DataDir, Store: cfg.Store, Clock: cfg.Clock, Getenv: cfg.Getenv}, true, log)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if err := in.initVault(ctx); err != nil {
		return nil, fmt.Errorf("creating the vault master key: %w", err)
	}
	u, t, secret, err := in.Authority.Bootstrap(ctx, authority.NewUser{Username: admin.Username, Name: "Administrator", Email: admin.Email})
	if err != nil {
		return nil, err
	}
	res := &InitResult{DataDir: cfg.DataDir, AdminUsername: u.Username, AdminTokenID: t.ID}
	if admin.TokenFile != "" {
		if err := datadir.WriteSecretFile(admin.TokenFile, []byte(secret+"\n")); err != nil {
			return nil, fmt.Errorf("writing the admin token: %w", err)
		}
		res.TokenFile = admin.TokenFile
	} else {
		res.Token = secret
	}
	return res, nil
}

// withDefaults fills in the clock and the environment.
func (cfg Config) withDefaults() Config {
	if cfg.Clock == nil {
		cfg.Clock = botgate.SystemClock{}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return cfg
}
