package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/config"
	"github.com/botgate/botgate/datadir"
	"github.com/botgate/botgate/docs"
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
	root.SetFlagErrorFunc(flagError)
	root.Version = botgate.Version
	root.SetVersionTemplate("botgate {{.Version}}\n")
	var confPath string
	root.PersistentFlags().StringVar(&confPath, "config", e.getenv(config.EnvFile),
		"the configuration file, botgate.yaml; flags and environment variables override it [env "+config.EnvFile+"]")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		return loadConfig(cmd, e, confPath)
	}
	root.AddCommand(
		newInitCmd(e),
		newServeCmd(e),
		newAuditCmd(e),
		newVersionCmd(e),
		newConfigCmd(e),
		newAdminCmd(e),
	)
	root.AddCommand(newBenchCmd(e))
	root.AddCommand(
		newPlanCmd(e), newApplyCmd(e), newLintCmd(e), newMigrateCmd(e),
	)
	root.AddCommand(
		newLoginCmd(e), newLogoutCmd(e),
		newTokenCmd(e), newUserCmd(e), newGroupCmd(e), newProjectCmd(e), newMemberCmd(e), newServiceAccountCmd(e),
	)
	root.AddCommand(newVaultCmd(e), newSecretCmd(e), newBrokerCmd(e))
	root.AddCommand(newScanCmd(e))
	root.AddCommand(newExecCmd(e))
	applyHelp(root, docs.Commands())
	usageArgs(root)
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
func outputFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", "text", "output format: text or json")
}

// checkOutput validates --output text|json; a bad value is a usage error.
func checkOutput(o string) error {
	if o != "text" && o != "json" {
		return usageErr("--output must be text or json, not %q", o)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeAs writes v as indented JSON when output is json, else with text.
func writeAs(w io.Writer, output string, v any, text func(io.Writer) error) error {
	if output == "json" {
		return writeJSON(w, v)
	}
	return text(w)
}

func newVersionCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print botgate's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(e.stdout, map[string]string{"version": botgate.Version})
			}
			_, err := fmt.Fprintln(e.stdout, "botgate", botgate.Version)
			return err
		},
	}
	outputFlag(cmd, &output)
	return cmd
}
