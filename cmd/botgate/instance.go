package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker/vaultcred"
	"github.com/botgate/botgate/datadir"
)

// instance is an opened botgate installation: its store and services.
type instance struct {
	dir    datadir.Dir
	store  botgate.Store
	auth   *authority.Service
	pepper []byte
	// vaultCreds resolves vault: references for the gateway, once the
	// vault is open (serve).
	vaultCreds *vaultcred.Source
	// scale is what the node shares with other nodes (serve_scale.go).
	scale *scaleOut
}

// openInstanceWith opens the store so selects (store_select.go), connects
// what the node shares with others (serve_scale.go) and starts the
// authority.
func openInstanceWith(ctx context.Context, dir string, so scaleOptions, log *slog.Logger) (*instance, error) {
	if err := so.validate(); err != nil {
		return nil, err
	}
	d := datadir.Dir{Path: dir}
	pepper, err := d.Pepper()
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, so.store, d, log)
	if err != nil {
		return nil, err
	}
	scale, err := newScaleOut(ctx, so, st, botgate.SystemClock{}, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: pepper, Logger: log,
		CacheTTL: so.cacheTTL, OnChange: scale.onChange, OnPurge: scale.runPurgers})
	if err != nil {
		scale.Close()
		st.Close()
		return nil, err
	}
	scale.start(auth)
	return &instance{dir: d, store: st, auth: auth, pepper: pepper, scale: scale}, nil
}

func (in *instance) Close() error {
	err := in.auth.Close()
	if cerr := in.scale.Close(); err == nil {
		err = cerr
	}
	if cerr := in.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// initResult is what init reports.
type initResult struct {
	DataDir       string `json:"data_dir"`
	AdminUsername string `json:"admin_username"`
	AdminTokenID  int64  `json:"admin_token_id"`
	Token         string `json:"token,omitempty"`
	TokenFile     string `json:"token_file,omitempty"`
}

// initialize creates the data directory, the pepper and the first admin.
func initialize(ctx context.Context, dir, tokenFile, username, email string, log *slog.Logger) (*initResult, error) {
	return initializeWith(ctx, dir, scaleOptions{}, tokenFile, username, email, log)
}

// initializeWith is initialize on the store so selects. It refuses a shared
// store that another node has initialised already.
func initializeWith(ctx context.Context, dir string, so scaleOptions, tokenFile, username, email string, log *slog.Logger) (*initResult, error) {
	d := datadir.Dir{Path: dir}
	if d.Initialized() {
		return nil, fmt.Errorf("%s is already initialised", dir)
	}
	if err := so.validate(); err != nil {
		return nil, err
	}
	if err := refuseSharedReinit(ctx, so, d, log); err != nil {
		return nil, err
	}
	if err := d.Create(rand.Reader); err != nil {
		return nil, err
	}
	in, err := openInstanceWith(ctx, dir, scaleOptions{store: so.store, storeOnly: true}, log)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if err := initVault(ctx, in); err != nil {
		return nil, fmt.Errorf("creating the vault master key: %w", err)
	}
	u, t, secret, err := in.auth.Bootstrap(ctx, authority.NewUser{Username: username, Name: "Administrator", Email: email})
	if err != nil {
		return nil, err
	}
	res := &initResult{DataDir: dir, AdminUsername: u.Username, AdminTokenID: t.ID}
	if tokenFile != "" {
		if err := datadir.WriteSecretFile(tokenFile, []byte(secret+"\n")); err != nil {
			return nil, fmt.Errorf("writing the admin token: %w", err)
		}
		res.TokenFile = tokenFile
	} else {
		res.Token = secret
	}
	return res, nil
}

func newLogger(e *env, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l}))
}
