package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/vault"
)

// VaultConfig configures the vault's master keys and the upstream token
// rotation scheduler.
type VaultConfig struct {
	// MasterKeyFile is the master key (default master.key in the data
	// directory; vault.EnvMasterKey in the environment wins when set).
	MasterKeyFile string
	// OldMasterKeyFiles are previous master keys that still open secrets
	// not yet rewrapped.
	OldMasterKeyFiles []string
	// RotationInterval is how often the rotation scheduler runs.
	RotationInterval time.Duration
	// ExpiryNotice is the webhook notice period for upstream tokens about
	// to expire.
	ExpiryNotice time.Duration
	// RevokeGrace is how long a rotated-out upstream token stays valid
	// after its successor is stored.
	RevokeGrace time.Duration
	// NoRotationScheduler runs no rotation scheduler on this server.
	NoRotationScheduler bool
}

// initVault creates the master key file (0600) beside the pepper and stores
// the canary sealed under it. Initialize calls it on a new data directory.
func (in *Instance) initVault(ctx context.Context) error {
	path := in.Dir.MasterKeyPath()
	k, err := vault.GenerateMasterKeyFile(path, rand.Reader)
	if botgate.IsKind(err, botgate.KindConflict) {
		k, err = vault.LoadMasterKey(path)
	}
	if err != nil {
		return err
	}
	kr, err := vault.NewKeyring(rand.Reader, k)
	if err != nil {
		return err
	}
	defer kr.Destroy()
	_, err = in.Authority.Vault(kr).EnsureCanary(ctx)
	return err
}

// LoadKeyring loads the current master key (vault.EnvMasterKey, else the
// key file) and the old ones, and says where the current one came from (the
// file's path or vault.EnvMasterKey). A data directory initialised before
// the vault existed, whose store holds no canary, gets a key file now.
func (in *Instance) LoadKeyring(ctx context.Context) (kr *vault.Keyring, source string, err error) {
	o, getenv := in.cfg.Vault, in.cfg.Getenv
	path := o.MasterKeyFile
	if path == "" {
		path = in.Dir.MasterKeyPath()
	}
	source = path
	if getenv(vault.EnvMasterKey) != "" {
		source = vault.EnvMasterKey
	}
	cur, err := vault.LoadMasterKeyEnvOrFile(getenv, path)
	if botgate.IsKind(err, botgate.KindNotFound) && o.MasterKeyFile == "" {
		if has, cerr := authority.HasVaultCanary(ctx, in.Store); !has || cerr != nil {
			// A data directory from before the vault: give it a key now.
			cur, err = vault.GenerateMasterKeyFile(path, rand.Reader)
		}
	}
	if err != nil {
		return nil, "", errors.New("vault: " + errMessage(err))
	}
	var old []*vault.MasterKey
	for _, f := range o.OldMasterKeyFiles {
		k, err := vault.LoadMasterKey(f)
		if err != nil {
			cur.Destroy()
			return nil, "", errors.New("vault: " + errMessage(err))
		}
		old = append(old, k)
	}
	kr, err = vault.NewKeyring(rand.Reader, cur, old...)
	if err != nil {
		return nil, "", errors.New("vault: " + errMessage(err))
	}
	return kr, source, nil
}

// OpenVault loads the keyring and checks it against the store's canary, so
// that a wrong master key stops botgate here, with a message naming the
// expected key, and never yields garbage later. The caller destroys the
// vault's keyring when done.
func (in *Instance) OpenVault(ctx context.Context, log *slog.Logger) (*authority.Vault, error) {
	kr, source, err := in.LoadKeyring(ctx)
	if err != nil {
		return nil, err
	}
	v := in.Authority.Vault(kr)
	stored, err := v.EnsureCanary(ctx)
	if err != nil {
		kr.Destroy()
		return nil, fmt.Errorf("vault: %s", errMessage(err))
	}
	if stored {
		log.Info("vault canary stored", "master_key_id", kr.Current().String())
	}
	if err := v.VerifyMasterKey(ctx); err != nil {
		kr.Destroy()
		return nil, fmt.Errorf("botgate cannot start: %s (master key from %s)", errMessage(err), source)
	}
	log.Info("vault ready", "master_key_id", kr.Current().String(), "keys", kr.String())
	return v, nil
}

// errMessage is an error's caller-facing message, or its text.
func errMessage(err error) string {
	if m := botgate.MessageOf(err); m != "" {
		return m
	}
	return err.Error()
}
