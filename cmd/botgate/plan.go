package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/server"
)

// localOptions are the flags of the commands that work on the local
// instance: its data directory (SQLite database, pepper, master key), the
// store if it is not the data directory's SQLite database, and vault keys;
// url is the server plan, apply and lint work through instead (--url).
type localOptions struct {
	dataDir, store, logLevel, url string
	vault                         server.VaultConfig
}

func localFlags(cmd *cobra.Command, e *env, o *localOptions, withVault bool) {
	cmd.Flags().StringVar(&o.url, "url", "", "work through this botgate server (default: $BOTGATE_URL, else the one stored by botgate login) instead of a local data directory")
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

// config is the server configuration of the local instance o names.
func (o localOptions) config(e *env) server.Config {
	return server.Config{DataDir: o.dataDir, Store: o.store, Getenv: e.getenv, Vault: o.vault}
}

// governance runs plan, apply or lint for cmd, on the local instance o
// names or through the server it names.
func (o localOptions) governance(cmd *cobra.Command, e *env) cli.Governance {
	f := cmd.Flags()
	return cli.Governance{
		Getenv: e.getenv, Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, URL: o.url,
		Offline: f.Changed("data-dir") || f.Changed("store") || e.getenv("BOTGATE_DATA_DIR") != "" || e.getenv("BOTGATE_STORE") != "" || e.conf != nil,
		Open: func(ctx context.Context, withVault bool) (*governance.Governor, func(), error) {
			return server.OpenGovernor(ctx, o.config(e), withVault, newLogger(e, o.logLevel))
		},
	}
}

func newPlanCmd(e *env) *cobra.Command {
	var o localOptions
	var file, output string
	var exitCode, prune bool
	cmd := &cobra.Command{
		Use: "plan -f FILE", Short: "Show what apply would change to make the instance match a manifest", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.governance(cmd, e).Plan(cmd.Context(), file, output, exitCode, prune)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automations manifest (YAML; - for standard input)")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 7 when the plan has changes (for merge-request pipelines)")
	cmd.Flags().BoolVar(&prune, "prune", false, "with --exit-code, count the prune steps as changes too")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, false)
	return cmd
}
