package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
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
		Long: `exec runs COMMAND with a token of the automation that lives minutes and is never
stored: it reads the identity token the platform gave the job, exchanges it at botgate
(POST /api/botgate/v1/identity/token) against the automation's trust policy, runs
COMMAND with the token in GITLAB_TOKEN and BOTGATE_TOKEN, revokes the token when
COMMAND exits, and exits with COMMAND's status.

The identity token is read from, in order:
  BOTGATE_ID_TOKEN        the token itself (GitLab CI: id_tokens: BOTGATE_ID_TOKEN)
  BOTGATE_ID_TOKEN_FILE   a file holding it (a Kubernetes projected service-account token)
  ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN
                          GitHub Actions, with permissions: id-token: write (--audience)
The identity token variables are not passed to COMMAND.

With --upstream, the automation's team must have registered an upstream credential for
it (botgate broker add): botgate mints a real GitLab token of the automation for this
job (GitLab's shortest lifetime, one day), COMMAND gets it in GITLAB_TOKEN with the
GitLab URL in GITLAB_URL and talks to GitLab directly; exec revokes it at GitLab when
COMMAND exits, and botgate revokes it once the trust policy's max_ttl has passed.

A refused exchange exits 4 with botgate's reason (which trust condition failed); an
unreachable server exits 6; otherwise the exit status is COMMAND's.`,
		Example: `  # .gitlab-ci.yml: id_tokens: {BOTGATE_ID_TOKEN: {aud: https://botgate.example.com}}
  botgate exec --automation scheduled-triage -- gitlab-triage --token '$GITLAB_TOKEN'
  botgate exec --automation release-tooling --ttl 5m -- ./release.sh`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if automation == "" {
				return usageErr("--automation is required: name the automation to act as")
			}
			if cmd.ArgsLenAtDash() != 0 {
				return usageErr("put the command after --: botgate exec --automation %s -- COMMAND", automation)
			}
			if url == "" {
				url = e.getenv(apiclient.EnvURL)
			}
			if url == "" {
				return usageErr("name the botgate server: --url URL or %s", apiclient.EnvURL)
			}
			base, err := apiclient.NormalizeURL(url)
			if err != nil {
				return usageErr("%s", botgate.MessageOf(err))
			}
			code, err := workload.Run(cmd.Context(), workload.Config{
				URL: base, Automation: automation, Audience: audience, TTL: ttl, Upstream: upstream, Command: args,
				Getenv: e.getenv, Environ: os.Environ(), Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr, Log: e.stderr,
			})
			if err != nil {
				return cliErr(err)
			}
			if code != 0 {
				return &exitError{code: code, err: commandExit{args[0], code}}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "botgate server URL [env BOTGATE_URL]")
	cmd.Flags().StringVar(&automation, "automation", "", "automation to act as (required)")
	cmd.Flags().StringVar(&audience, "audience", "", "audience of the GitHub Actions identity token (default the server URL)")
	cmd.Flags().BoolVar(&upstream, "upstream", false, "get a real upstream GitLab token of the automation (minted by botgate's broker for this job) in GITLAB_TOKEN, with GITLAB_URL")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime to ask for, at most the trust policy's max_ttl (default that maximum)")
	return cmd
}

// commandExit reports a command's non-zero exit status.
type commandExit struct {
	name string
	code int
}

func (c commandExit) Error() string { return fmt.Sprintf("%s exited with status %d", c.name, c.code) }
