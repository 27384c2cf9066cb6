package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cliout"
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

func newVaultCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Manage the vault's master key",
	}
	cmd.AddCommand(newVaultRotateCmd(e), newVaultStatusCmd(e), newVaultGenerateKeyCmd(e))
	return cmd
}

func newVaultGenerateKeyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "generate-key FILE",
		Short: "Create a new master key file (0600), for a rotation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := vault.GenerateMasterKeyFile(args[0], rand.Reader)
			if err != nil {
				return cliout.Shown(err)
			}
			defer k.Destroy()
			_, err = fmt.Fprintf(e.stdout, "created master key %s in %s (mode 0600)\n", k.ID(), args[0])
			return err
		},
	}
}

// vaultReport is what a vault command shows; its failure, when it has
// one, is an integrity failure (exit status 3).
type vaultReport interface {
	WriteText(io.Writer) error
	Failure() error
}

// vaultCommand makes c a command on the local instance's vault: run works
// on the opened instance and returns its report.
func vaultCommand(e *env, c *cobra.Command, run func(context.Context, *server.Instance) (vaultReport, error)) *cobra.Command {
	var o localOptions
	var output string
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		in, err := openLocal(cmd, e, o)
		if err != nil {
			return err
		}
		defer in.Close()
		r, err := run(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := cliout.Show(e.stdout, output, r, r.WriteText); err != nil || r.Failure() == nil {
			return err
		}
		return cliout.Exit(cliout.ExitIntegrity, r.Failure())
	}
	dataDirFlag(c, e, &o.dataDir)
	storeFlag(c, e, &o.store)
	vaultFlags(c, e, &o.vault)
	outputFlag(c, &output)
	o.logLevel = "warn"
	return c
}

func newVaultRotateCmd(e *env) *cobra.Command {
	var newKey string
	var batch int
	var keep bool
	cmd := vaultCommand(e, &cobra.Command{
		Use:   "rotate-master-key --new-key-file FILE",
		Short: "Re-wrap every secret's data key under a new master key, online",
		PreRunE: func(*cobra.Command, []string) error {
			if newKey == "" {
				return cliout.Usagef("--new-key-file is required")
			}
			return nil
		},
	}, func(ctx context.Context, in *server.Instance) (vaultReport, error) {
		return in.RotateMasterKey(ctx, newKey, batch, keep)
	})
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "the new master key (created 0600 if missing)")
	cmd.Flags().IntVar(&batch, "batch", 100, "secrets per batch")
	cmd.Flags().BoolVar(&keep, "keep-current", false, "do not install the new key as the data directory's master.key")
	return cmd
}

func newVaultStatusCmd(e *env) *cobra.Command {
	return vaultCommand(e, &cobra.Command{
		Use: "status", Short: "Check the master key, open every secret, and count secrets per key",
	}, func(ctx context.Context, in *server.Instance) (vaultReport, error) {
		return in.VaultStatus(ctx, newLogger(e, "warn"))
	})
}
