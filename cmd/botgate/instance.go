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
	"github.com/botgate/botgate/sqlite"
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
}

// openInstance opens the data directory's store and starts the authority.
func openInstance(ctx context.Context, dir string, log *slog.Logger) (*instance, error) {
	d := datadir.Dir{Path: dir}
	pepper, err := d.Pepper()
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, d.DatabasePath(), sqlite.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.DatabasePath(), err)
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: pepper, Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &instance{dir: d, store: st, auth: auth, pepper: pepper}, nil
}

func (in *instance) Close() error {
	err := in.auth.Close()
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
	d := datadir.Dir{Path: dir}
	if d.Initialized() {
		return nil, fmt.Errorf("%s is already initialised", dir)
	}
	if err := d.Create(rand.Reader); err != nil {
		return nil, err
	}
	in, err := openInstance(ctx, dir, log)
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
