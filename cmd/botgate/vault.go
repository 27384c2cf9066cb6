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

// vaultCommand makes c a command on the local instance's vault: run
// works on the opened instance and returns its report, the report's text
// and how many secrets failed; failed, a format taking that count, is the integrity
// failure (exit status 3) to end with when some did.
func vaultCommand(e *env, c *cobra.Command, failed string, run func(context.Context, *server.Instance) (report any, text func(io.Writer) error, failures int, err error)) *cobra.Command {
	var dir, store, output string
	var o server.VaultConfig
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		in, err := server.Open(cmd.Context(), server.Config{DataDir: dir, Store: store, Getenv: e.getenv, Vault: o}, newLogger(e, "warn"))
		if err != nil {
			return err
		}
		defer in.Close()
		report, text, n, err := run(cmd.Context(), in)
		if err != nil {
			return err
		}
		if err := show(e.stdout, output, report, nil, text); err != nil {
			return err
		}
		if n > 0 {
			return cliout.Exitf(cliout.ExitIntegrity, failed, n)
		}
		return nil
	}
	dataDirFlag(c, e, &dir)
	storeFlag(c, e, &store)
	vaultFlags(c, e, &o)
	outputFlag(c, &output)
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
				return usageErr("--new-key-file is required")
			}
			return nil
		},
	}, "%d secrets could not be rewrapped; the old key is still required", func(ctx context.Context, in *server.Instance) (any, func(io.Writer) error, int, error) {
		r, err := in.RotateMasterKey(ctx, newKey, batch, keep)
		if err != nil {
			return nil, nil, 0, err
		}
		return r, r.WriteText, len(r.Failed), nil
	})
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "the new master key (created 0600 if missing)")
	cmd.Flags().IntVar(&batch, "batch", 100, "secrets per batch")
	cmd.Flags().BoolVar(&keep, "keep-current", false, "do not install the new key as the data directory's master.key")
	return cmd
}

func newVaultStatusCmd(e *env) *cobra.Command {
	return vaultCommand(e, &cobra.Command{
		Use:   "status",
		Short: "Check the master key, open every secret, and count secrets per key",
	}, "%d secrets do not open", func(ctx context.Context, in *server.Instance) (any, func(io.Writer) error, int, error) {
		st, err := in.VaultStatus(ctx, newLogger(e, "warn"))
		if err != nil {
			return nil, nil, 0, err
		}
		return st, st.WriteText, len(st.Damaged), nil
	})
}
