package main

import (
	"bytes"
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
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
	// url is the server to work through instead (--url).
	url string
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
	m, _, err := readManifestRaw(e, file)
	return m, err
}

// readManifestRaw reads and parses the manifest file ("-" for standard
// input) and returns its text too, to send to a server.
func readManifestRaw(e *env, file string) (*manifest.Manifest, []byte, error) {
	if file == "" {
		return nil, nil, usageErr("-f FILE is required: the manifest to plan (see examples/automations.yaml)")
	}
	name, r := file, io.Reader(e.stdin)
	if file == "-" {
		name = "<stdin>"
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, manifest.MaxSize+1))
	if err != nil {
		return nil, nil, err
	}
	m, err := manifest.ParseNamed(name, bytes.NewReader(raw))
	return m, raw, err
}

// server returns the client of the server the command works through, nil
// when it works on a local instance (apiclient.ServerGiven decides).
func (o localOptions) server(cmd *cobra.Command, e *env) (*apiclient.V1, error) {
	f := cmd.Flags()
	offline := f.Changed("data-dir") || f.Changed("store") || e.getenv("BOTGATE_DATA_DIR") != "" || e.getenv("BOTGATE_STORE") != "" || e.conf != nil
	r, ok, err := apiclient.ServerGiven(e.getenv, o.url, offline)
	if err != nil {
		if botgate.KindOf(err) == botgate.KindInvalid {
			return nil, usageErr("%s", botgate.MessageOf(err))
		}
		return nil, cliErr(err)
	}
	if !ok {
		return nil, nil
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliErr(err)
}

// planExit is the exit status of a plan: exitAuth when it holds steps the
// caller may not take, exitChanges with --exit-code when it holds changes.
func planExit(sp *governance.ScopedPlan, exitOnChanges, prune bool) error {
	if err := sp.RefusedError(); err != nil {
		return cliErr(err)
	}
	if exitOnChanges && sp.Pending(prune) {
		return &exitError{code: exitChanges, err: errPlanChanges}
	}
	return nil
}

func newPlanCmd(e *env) *cobra.Command {
	var (
		o        localOptions
		file     string
		output   string
		exitCode bool
		prune    bool
	)
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Show what apply would change to make the instance match a manifest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := o.server(cmd, e)
			if err != nil {
				return err
			}
			if c != nil {
				_, raw, err := readManifestRaw(e, file)
				if err != nil {
					return err
				}
				p, err := c.PlanManifest(cmd.Context(), raw, apiclient.ManifestOptions{Prune: prune})
				if err != nil {
					return cliErr(err)
				}
				sp := governance.PlanOf(*p)
				if err := show(e.stdout, output, p, nil, sp.WriteText); err != nil {
					return err
				}
				return planExit(sp, exitCode, prune)
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
			if err := show(e.stdout, output, ch, nil, ch.WriteText); err != nil {
				return err
			}
			return planExit(&governance.ScopedPlan{Changes: ch, All: true}, exitCode, prune)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the automations manifest (YAML; - for standard input)")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 7 when the plan has changes (for merge-request pipelines)")
	cmd.Flags().BoolVar(&prune, "prune", false, "with --exit-code, count the prune steps as changes too")
	outputFlag(cmd, &output)
	localFlags(cmd, e, &o, false)
	return cmd
}
