package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/server"
	"github.com/botgate/botgate/vault"
)

// vaultFlags registers the vault and rotation scheduler flags on a
// command (the scheduler's on serve only).
func vaultFlags(cmd *cobra.Command, e *env, o *server.VaultConfig) {
	f := cmd.Flags()
	f.StringVar(&o.MasterKeyFile, "master-key-file", envOr(e.getenv, "BOTGATE_MASTER_KEY_FILE", ""),
		"vault master key file (default: master.key in the data directory; "+vault.EnvMasterKey+" wins when set) [env BOTGATE_MASTER_KEY_FILE]")
	f.StringArrayVar(&o.OldMasterKeyFiles, "old-master-key-file", nil,
		"a previous master key that still opens secrets not yet rewrapped (repeatable; used during 'botgate vault rotate-master-key')")
	if cmd.Name() != "serve" {
		return
	}
	f.DurationVar(&o.RotationInterval, "rotation-interval", 5*time.Minute, "how often the rotation scheduler runs")
	f.DurationVar(&o.ExpiryNotice, "expiry-notice", 14*24*time.Hour, "webhook notice period for upstream tokens about to expire")
	f.BoolVar(&o.NoRotationScheduler, "no-rotation-scheduler", false, "do not run the upstream token rotation scheduler on this server")
	f.DurationVar(&o.RevokeGrace, "upstream-revoke-grace", 2*time.Minute,
		"how long a rotated-out upstream token stays valid after its successor is stored (the gateway caches vault values for a minute)")
}

// errMessage is an error's caller-facing message, or its text.
func errMessage(err error) string {
	if m := botgate.MessageOf(err); m != "" {
		return m
	}
	return err.Error()
}

func newVaultCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Manage the vault's master key",
		Long: `The vault keeps team-owned secrets encrypted with a data key per secret, wrapped
by a master key that lives outside the database: the data directory's master.key
(0600), or the environment variable ` + vault.EnvMasterKey + `.`,
	}
	cmd.AddCommand(newVaultRotateCmd(e), newVaultStatusCmd(e), newVaultGenerateKeyCmd(e))
	return cmd
}

func newVaultGenerateKeyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "generate-key FILE",
		Short:   "Create a new master key file (0600), for a rotation",
		Example: `  botgate vault generate-key /secure/new.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := vault.GenerateMasterKeyFile(args[0], rand.Reader)
			if err != nil {
				return errors.New(errMessage(err))
			}
			defer k.Destroy()
			_, err = fmt.Fprintf(e.stdout, "created master key %s in %s (mode 0600)\n", k.ID(), args[0])
			return err
		},
	}
}

func newVaultRotateCmd(e *env) *cobra.Command {
	var (
		dir, store, newKey, output string
		o                          server.VaultConfig
		batch                      int
		keep                       bool
	)
	cmd := &cobra.Command{
		Use:   "rotate-master-key --new-key-file FILE",
		Short: "Re-wrap every secret's data key under a new master key, online",
		Long: `rotate-master-key re-wraps every secret's data key under the master key in
--new-key-file (created, 0600, when it does not exist), in batches, each secret
with a conditional write, while servers keep running. The values themselves are
never decrypted. The canary moves last, so the old key stays usable until every
secret has moved; a secret that does not open is reported and left as it was
(and the canary stays, so the old key is still required).

Without downtime:
  0. botgate vault generate-key new.key
  1. restart each server with the new key current and the old one still loaded:
       botgate serve --master-key-file new.key --old-master-key-file DATA/master.key
  2. botgate vault rotate-master-key --new-key-file new.key
     (rewraps everything, then installs new.key as DATA/master.key, keeping the
     old one as master.key.<id>.retired unless --keep-current)
  3. restart the servers without --old-master-key-file.`,
		Example: `  botgate vault rotate-master-key --new-key-file /secure/new.key --data-dir /var/lib/botgate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if newKey == "" {
				return usageErr("--new-key-file is required")
			}
			ctx := cmd.Context()
			in, err := server.Open(ctx, server.Config{DataDir: dir, Store: store, Getenv: e.getenv, Vault: o}, newLogger(e, "warn"))
			if err != nil {
				return err
			}
			defer in.Close()
			oldRing, source, err := in.LoadKeyring(ctx)
			if err != nil {
				return err
			}
			defer oldRing.Destroy()
			next, err := vault.LoadMasterKey(newKey)
			if botgate.IsKind(err, botgate.KindNotFound) {
				next, err = vault.GenerateMasterKeyFile(newKey, rand.Reader)
			}
			if err != nil {
				return errors.New(errMessage(err))
			}
			// The old keys stay loaded until every secret has moved.
			var old []*vault.MasterKey
			for _, f := range append([]string{source}, o.OldMasterKeyFiles...) {
				if f == vault.EnvMasterKey {
					k, err := vault.ParseMasterKey(e.getenv(vault.EnvMasterKey))
					if err != nil {
						return errors.New(errMessage(err))
					}
					old = append(old, k)
					continue
				}
				k, err := vault.LoadMasterKey(f)
				if err != nil {
					return errors.New(errMessage(err))
				}
				old = append(old, k)
			}
			kr, err := vault.NewKeyring(rand.Reader, next, old...)
			if err != nil {
				return errors.New(errMessage(err))
			}
			defer kr.Destroy()
			v := in.Authority.Vault(kr)
			if err := v.VerifyMasterKey(ctx); err != nil {
				return fmt.Errorf("refusing to rotate: %s", errMessage(err))
			}
			from := oldRing.Current().String()
			rep, err := v.Rewrap(ctx, authority.SystemActor(), batch)
			if err != nil {
				return err
			}
			installed := ""
			if rep.Canary && source == in.Dir.MasterKeyPath() && !keep && from != kr.Current().String() {
				if installed, err = installKey(in.Dir, newKey, from); err != nil {
					return err
				}
			}
			res := map[string]any{"from_key_id": from, "to_key_id": kr.Current().String(), "rewrapped": rep.Rewrapped,
				"failed": rep.Failed, "canary_moved": rep.Canary, "installed": installed}
			if output == "json" {
				if err := writeJSON(e.stdout, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(e.stdout, "rewrapped %d secrets from master key %s to %s\n", rep.Rewrapped, from, kr.Current())
				for _, f := range rep.Failed {
					fmt.Fprintf(e.stdout, "  FAILED %s\n", f)
				}
				if rep.Canary {
					fmt.Fprintf(e.stdout, "the canary is under %s: the old key is no longer needed\n", kr.Current())
				}
				if installed != "" {
					fmt.Fprintf(e.stdout, "installed the new key as %s (old key kept as %s); restart servers without --old-master-key-file\n", in.Dir.MasterKeyPath(), installed)
				}
			}
			if len(rep.Failed) > 0 {
				return &exitError{code: exitIntegrity, err: fmt.Errorf("%d secrets could not be rewrapped; the old key is still required", len(rep.Failed))}
			}
			return nil
		},
	}
	dataDirFlag(cmd, e, &dir)
	storeFlag(cmd, e, &store)
	vaultFlags(cmd, e, &o)
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "the new master key (created 0600 if missing)")
	cmd.Flags().IntVar(&batch, "batch", 100, "secrets per batch")
	cmd.Flags().BoolVar(&keep, "keep-current", false, "do not install the new key as the data directory's master.key")
	outputFlag(cmd, &output)
	return cmd
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

func newVaultStatusCmd(e *env) *cobra.Command {
	var (
		dir, store, output string
		o                  server.VaultConfig
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check the master key, open every secret, and count secrets per key",
		Long: `status checks the master key against the database's canary, opens every secret
(values are never shown) and reports each one that does not open. Exit status 3 when
some do not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			in, err := server.Open(ctx, server.Config{DataDir: dir, Store: store, Getenv: e.getenv, Vault: o}, newLogger(e, "warn"))
			if err != nil {
				return err
			}
			defer in.Close()
			v, err := in.OpenVault(ctx, newLogger(e, "warn"))
			if err != nil {
				return err
			}
			defer v.Keyring().Destroy()
			perKey := map[string]int{}
			err = in.Store.View(ctx, func(tx botgate.Tx) error {
				all, _, err := tx.FindSecrets(ctx, botgate.SecretFilter{})
				for _, s := range all {
					perKey[s.KeyID]++
				}
				return err
			})
			if err != nil {
				return err
			}
			damaged, err := v.Check(ctx)
			if err != nil {
				return err
			}
			if output == "json" {
				if damaged == nil {
					damaged = []authority.Damaged{}
				}
				if err := writeJSON(e.stdout, map[string]any{"master_key_id": v.Keyring().Current().String(), "secrets_per_key": perKey, "damaged": damaged}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(e.stdout, "master key %s opens the vault\n", v.Keyring().Current())
				for k, n := range perKey {
					fmt.Fprintf(e.stdout, "  %d secrets under %s\n", n, k)
				}
				for _, d := range damaged {
					fmt.Fprintf(e.stdout, "  DAMAGED secret %d (%s of group %d): %s\n", d.ID, d.Name, d.GroupID, d.Reason)
				}
			}
			if len(damaged) > 0 {
				return &exitError{code: exitIntegrity, err: fmt.Errorf("%d secrets do not open", len(damaged))}
			}
			return nil
		},
	}
	dataDirFlag(cmd, e, &dir)
	storeFlag(cmd, e, &store)
	vaultFlags(cmd, e, &o)
	outputFlag(cmd, &output)
	return cmd
}
