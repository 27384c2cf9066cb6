package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/workload"
)

func newExecCmd(e *env) *cobra.Command {
	var (
		url, automation, audience string
		ttl                       time.Duration
		upstream                  bool
	)
	cmd := &cobra.Command{
		Use:   "exec --automation NAME -- COMMAND [ARG...]",
		Short: "Run a command as an automation, with a minutes-long token from the job's identity",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if automation == "" {
				return cliout.Usagef("--automation is required: name the automation to act as")
			}
			if cmd.ArgsLenAtDash() != 0 {
				return cliout.Usagef("put the command after --: botgate exec --automation %s -- COMMAND", automation)
			}
			base, err := apiclient.FlagURL(e.getenv, url, "name the botgate server: --url URL or "+apiclient.EnvURL)
			if err != nil {
				return cliout.Usage(err)
			}
			code, err := workload.Run(cmd.Context(), workload.Config{
				URL: base, Automation: automation, Audience: audience, TTL: ttl, Upstream: upstream, Command: args,
				Getenv: e.getenv, Environ: os.Environ(), Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Log: e.stderr,
			})
			if err != nil || code == 0 {
				return cliout.Fail(err)
			}
			return cliout.Exitf(code, "%s exited with status %d", args[0], code)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "botgate server URL [env BOTGATE_URL]")
	cmd.Flags().StringVar(&automation, "automation", "", "automation to act as (required)")
	cmd.Flags().StringVar(&audience, "audience", "", "audience of the GitHub Actions identity token (default the server URL)")
	cmd.Flags().BoolVar(&upstream, "upstream", false, "get a real upstream GitLab token of the automation (minted by botgate's broker for this job) in GITLAB_TOKEN, with GITLAB_URL")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime to ask for, at most the trust policy's max_ttl (default that maximum)")
	return cmd
}
