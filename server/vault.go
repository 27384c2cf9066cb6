package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
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

// Rotation is what RotateMasterKey did, as 'botgate vault
// rotate-master-key --output json' shows it.
type Rotation struct {
	// CanaryMoved says the canary is under the new key: the old key is
	// no longer needed.
	CanaryMoved bool `json:"canary_moved"`
	// Failed are the secrets that did not open ("id name: reason"), left
	// as they were.
	Failed    []string `json:"failed"`
	FromKeyID string   `json:"from_key_id"`
	// Installed is where the old key file was kept when the new key was
	// installed as the data directory's master.key, else "".
	Installed string `json:"installed"`
	Rewrapped int    `json:"rewrapped"`
	ToKeyID   string `json:"to_key_id"`
	// MasterKeyPath is the data directory's master key file.
	MasterKeyPath string `json:"-"`
}

// WriteText writes the rotation as 'botgate vault rotate-master-key' shows
// it.
func (r *Rotation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rewrapped %d secrets from master key %s to %s\n", r.Rewrapped, r.FromKeyID, r.ToKeyID)
	for _, f := range r.Failed {
		fmt.Fprintf(&b, "  FAILED %s\n", f)
	}
	if r.CanaryMoved {
		fmt.Fprintf(&b, "the canary is under %s: the old key is no longer needed\n", r.ToKeyID)
	}
	if r.Installed != "" {
		fmt.Fprintf(&b, "installed the new key as %s (old key kept as %s); restart servers without --old-master-key-file\n", r.MasterKeyPath, r.Installed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RotateMasterKey re-wraps every secret's data key under the master key in
// newKeyFile (created, 0600, when it does not exist), batch secrets at a
// time, while the current and old keys stay loaded. When every secret and
// the canary moved, the current key came from the data directory's key
// file and keep is false, the new key is installed as master.key and the
// old one kept as master.key.<id>.retired. Secrets that do not open are
// in Rotation.Failed; the error is for a rotation that could not run.
func (in *Instance) RotateMasterKey(ctx context.Context, newKeyFile string, batch int, keep bool) (*Rotation, error) {
	oldRing, source, err := in.LoadKeyring(ctx)
	if err != nil {
		return nil, err
	}
	defer oldRing.Destroy()
	next, err := vault.LoadMasterKey(newKeyFile)
	if botgate.IsKind(err, botgate.KindNotFound) {
		next, err = vault.GenerateMasterKeyFile(newKeyFile, rand.Reader)
	}
	if err != nil {
		return nil, errors.New(errMessage(err))
	}
	// The old keys stay loaded until every secret has moved.
	var old []*vault.MasterKey
	for _, f := range append([]string{source}, in.cfg.Vault.OldMasterKeyFiles...) {
		var k *vault.MasterKey
		if f == vault.EnvMasterKey {
			k, err = vault.ParseMasterKey(in.cfg.Getenv(vault.EnvMasterKey))
		} else {
			k, err = vault.LoadMasterKey(f)
		}
		if err != nil {
			return nil, errors.New(errMessage(err))
		}
		old = append(old, k)
	}
	kr, err := vault.NewKeyring(rand.Reader, next, old...)
	if err != nil {
		return nil, errors.New(errMessage(err))
	}
	defer kr.Destroy()
	v := in.Authority.Vault(kr)
	if err := v.VerifyMasterKey(ctx); err != nil {
		return nil, fmt.Errorf("refusing to rotate: %s", errMessage(err))
	}
	r := &Rotation{FromKeyID: oldRing.Current().String(), ToKeyID: kr.Current().String(), MasterKeyPath: in.Dir.MasterKeyPath()}
	rep, err := v.Rewrap(ctx, authority.SystemActor(), batch)
	if err != nil {
		return nil, err
	}
	r.Rewrapped, r.Failed, r.CanaryMoved = rep.Rewrapped, rep.Failed, rep.Canary
	if rep.Canary && source == in.Dir.MasterKeyPath() && !keep && r.FromKeyID != r.ToKeyID {
		if r.Installed, err = installKey(in.Dir, newKeyFile, r.FromKeyID); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// installKey makes newKey the data directory's master key, keeping the old
// one as master.key.<id>.retired (0600). It returns the retired path.
func installKey(d datadir.Dir, newKey, oldID string) (string, error) {
	retired := filepath.Join(d.Path, datadir.MasterKeyFile+"."+oldID+".retired")
	b, err := datadir.ReadSecretFile(newKey)
	if err != nil {
		return "", err
	}
	defer clear(b)
	tmp := d.MasterKeyPath() + ".new"
	os.Remove(tmp)
	if err := datadir.WriteSecretFile(tmp, b); err != nil {
		return "", err
	}
	if err := os.Rename(d.MasterKeyPath(), retired); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, d.MasterKeyPath()); err != nil {
		return "", err
	}
	return retired, nil
}

// VaultStatus is what 'botgate vault status' reports: the current master
// key, the number of secrets wrapped by each key, and the secrets that do
// not open.
type VaultStatus struct {
	Damaged       []authority.Damaged `json:"damaged"`
	MasterKeyID   string              `json:"master_key_id"`
	SecretsPerKey map[string]int      `json:"secrets_per_key"`
}

// WriteText writes the status as 'botgate vault status' shows it, the keys
// in order.
func (s *VaultStatus) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "master key %s opens the vault\n", s.MasterKeyID)
	for _, k := range slices.Sorted(maps.Keys(s.SecretsPerKey)) {
		fmt.Fprintf(&b, "  %d secrets under %s\n", s.SecretsPerKey[k], k)
	}
	for _, d := range s.Damaged {
		fmt.Fprintf(&b, "  DAMAGED secret %d (%s of group %d): %s\n", d.ID, d.Name, d.GroupID, d.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// VaultStatus opens the vault (checking the master key against the canary),
// counts the secrets per wrapping key and opens every secret; values are
// never shown. Secrets that do not open are in VaultStatus.Damaged.
func (in *Instance) VaultStatus(ctx context.Context, log *slog.Logger) (*VaultStatus, error) {
	v, err := in.OpenVault(ctx, log)
	if err != nil {
		return nil, err
	}
	defer v.Keyring().Destroy()
	s := &VaultStatus{MasterKeyID: v.Keyring().Current().String(), SecretsPerKey: map[string]int{}, Damaged: []authority.Damaged{}}
	err = in.Store.View(ctx, func(tx botgate.Tx) error {
		all, _, err := tx.FindSecrets(ctx, botgate.SecretFilter{})
		for _, sec := range all {
			s.SecretsPerKey[sec.KeyID]++
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	damaged, err := v.Check(ctx)
	if err != nil {
		return nil, err
	}
	if damaged != nil {
		s.Damaged = damaged
	}
	return s, nil
}

// Failure is the integrity failure a rotation ends with, nil when every
// secret was rewrapped.
func (r *Rotation) Failure() error {
	if len(r.Failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d secrets could not be rewrapped; the old key is still required", len(r.Failed))
}

// Failure is the integrity failure a status check ends with, nil when
// every secret opens.
func (s *VaultStatus) Failure() error {
	if len(s.Damaged) == 0 {
		return nil
	}
	return fmt.Errorf("%d secrets do not open", len(s.Damaged))
}
