package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/cli"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/config"
	"github.com/botgate/botgate/datadir"
)

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "botgate",
		Short:         "Least-privilege tokens, rate limits and audit for every automation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Every command inherits this unless it sets its own: a bad flag is a
	// usage error wherever it is given.
	root.SetFlagErrorFunc(cli.FlagError)
	root.Version = botgate.Version
	root.SetVersionTemplate("botgate {{.Version}}\n")
	var confPath string
	root.PersistentFlags().StringVar(&confPath, "config", e.getenv(config.EnvFile),
		"the configuration file, botgate.yaml; flags and environment variables override it [env "+config.EnvFile+"]")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) (err error) {
		e.conf, err = cli.LoadConfig(cmd, e.getenv, confPath)
		return err
	}
	root.AddCommand(
		newInitCmd(e), newServeCmd(e), newAuditCmd(e), newVersionCmd(e), newConfigCmd(e), newAdminCmd(e), newBenchCmd(e),
		newPlanCmd(e), newApplyCmd(e), newLintCmd(e), newMigrateCmd(e),
		newLoginCmd(e), newLogoutCmd(e),
		newTokenCmd(e), newUserCmd(e), newGroupCmd(e), newProjectCmd(e), newMemberCmd(e), newServiceAccountCmd(e),
		newVaultCmd(e), newSecretCmd(e), newBrokerCmd(e), newScanCmd(e), newExecCmd(e),
	)
	cli.Finish(root)
	return root
}

// envOr returns the environment variable's value, or def.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// dataDirFlag registers --data-dir with its environment default.
func dataDirFlag(cmd *cobra.Command, e *env, dst *string) {
	cmd.Flags().StringVar(dst, "data-dir", envOr(e.getenv, "BOTGATE_DATA_DIR", datadir.Default(e.getenv)),
		"data directory (database, pepper, master key) [env BOTGATE_DATA_DIR]")
}

// outputFlag registers --output text|json.
var outputFlag = cli.OutputFlag

func newVersionCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use: "version", Short: "Print botgate's version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(e.stdout, output, map[string]string{"version": botgate.Version}, checkOutput(output), cliout.Line("botgate %s", botgate.Version))
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

// envDuration returns the environment variable's value, a positive
// duration, or def.
func envDuration(e *env, name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(e.getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
