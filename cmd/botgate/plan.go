package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/server"
)

// localOptions are the flags of the governance commands that work on the
// local instance: its data directory (SQLite database, pepper, master key),
// the store if it is not the data directory's SQLite database, and vault
// keys.
type localOptions struct {
	dataDir  string
	store    string
	vault    server.VaultConfig
	logLevel string
}

func localFlags(cmd *cobra.Command, e *env, o *localOptions, withVault bool) {
	dataDirFlag(cmd, e, &o.dataDir)
	storeFlag(cmd, e, &o.store)
	if withVault {
		vaultFlags(cmd, e, &o.vault)
	}
	cmd.Flags().StringVar(&o.logLevel, "log-level", envOr(e.getenv, "BOTGATE_LOG_LEVEL", "warn"), "debug, info, warn or error [env BOTGATE_LOG_LEVEL]")
}

// storeFlag registers --store for a command that works on the local
// instance, as serve's --store. The URL's default is not shown: it may hold
// a password.
func storeFlag(cmd *cobra.Command, e *env, dst *string) {
	cmd.Flags().StringVar(dst, "store", e.getenv("BOTGATE_STORE"),
		"the store: sqlite (the data directory's database, the default) or the postgres:// URL the servers share [env BOTGATE_STORE]")
	cmd.Flags().Lookup("store").DefValue = ""
}

// localGovernor opens the local instance (and, withVault, its vault) as
// server.OpenGovernor does.
func localGovernor(ctx context.Context, e *env, o localOptions, withVault bool) (*governance.Governor, func(), error) {
	cfg := server.Config{DataDir: o.dataDir, Store: o.store, Getenv: e.getenv, Vault: o.vault}
	return server.OpenGovernor(ctx, cfg, withVault, newLogger(e, o.logLevel))
}

// open reads the manifest in file and opens the local instance (withVault:
// and its vault) for a command that plans or applies it.
func (o localOptions) open(ctx context.Context, e *env, file string, withVault bool) (*manifest.Manifest, *governance.Governor, func(), error) {
	m, err := readManifest(e, file)
	if err != nil {
		return nil, nil, nil, err
	}
	gov, done, err := localGovernor(ctx, e, o, withVault)
	return m, gov, done, err
}

// readManifest parses the manifest file ("-" for standard input).
func readManifest(e *env, file string) (*manifest.Manifest, error) {
	if file == "" {
		return nil, usageErr("-f FILE is required: the manifest to plan (see examples/automations.yaml)")
	}
	if file == "-" {
		return manifest.ParseNamed("<stdin>", e.stdin)
	}
	return manifest.ParseFile(file)
}

func newPlanCmd(e *env) *cobra.Command {
	var (
		o      localOptions
		file   string
		output string
	)
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Show what apply would change to make the instance match a manifest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			m, gov, done, err := o.open(cmd.Context(), e, file, false)
			if err != nil {
				return err
			}
			defer done()
			ch, err := gov.Plan(cmd.Context(), m)
			if err != nil {
				return err
			}
			return show(e.stdout, output, ch, nil, ch.WriteText)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automations manifest (YAML; - for standard input)")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, false)
	return cmd
}
