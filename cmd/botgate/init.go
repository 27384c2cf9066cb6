package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/server"
)

func newInitCmd(e *env) *cobra.Command {
	var dir, tokenFile, username, email, output string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the data directory, the pepper and the first administrator",
		Long: `init creates the data directory (0700), a random pepper that keys token digests
(kept in a 0600 file, never in the database), the embedded database, and the
first administrator with a personal access token.

The token is printed once, or written to --admin-token-file (0600). botgate stores
only a digest of it: keep it safe.`,
		Example: `  botgate init --data-dir ./data --admin-token-file ./admin.token`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			res, err := server.Initialize(cmd.Context(), server.Config{DataDir: dir, Getenv: e.getenv},
				server.Admin{Username: username, Email: email, TokenFile: tokenFile}, newLogger(e, "warn"))
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(e.stdout, res)
			}
			fmt.Fprintf(e.stdout, "Initialised %s; administrator %q created.\n", res.DataDir, res.AdminUsername)
			if res.TokenFile != "" {
				fmt.Fprintf(e.stdout, "Admin token written to %s (mode 0600).\n", res.TokenFile)
			} else {
				fmt.Fprintf(e.stdout, "Admin token (shown once, store it now):\n%s\n", res.Token)
			}
			return nil
		},
	}
	dataDirFlag(cmd, e, &dir)
	cmd.Flags().StringVar(&tokenFile, "admin-token-file", envOr(e.getenv, "BOTGATE_ADMIN_TOKEN_FILE", ""), "write the admin token to this file (0600) instead of printing it [env BOTGATE_ADMIN_TOKEN_FILE]")
	cmd.Flags().StringVar(&username, "admin-username", "root", "the first administrator's username")
	cmd.Flags().StringVar(&email, "admin-email", "admin@botgate.local", "the first administrator's e-mail")
	outputFlag(cmd, &output)
	return cmd
}

func newLogger(e *env, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l}))
}
