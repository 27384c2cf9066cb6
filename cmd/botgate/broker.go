package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/broker"
	"github.com/botgate/botgate/datadir"
)

// brokerCmd is the state of the broker commands: they work on the data
// directory, as botgate itself, with the vault's master key.
type brokerCmd struct {
	e      *env
	dir    string
	vault  vaultOptions
	output string
}

func newBrokerCmd(e *env) *cobra.Command {
	b := &brokerCmd{e: e}
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Mint, rotate and revoke automations' own tokens on an upstream GitLab",
		Long: `The broker gives each automation its own real token on an upstream GitLab: a
project access token, a group access token or a group service account's token. The
upstream admin (or owner) credential that mints it is a secret in the team's vault
('botgate secret put TEAM gitlab-admin'); the broker reads it for each upstream call
and never shows it. The minted token goes into the team's vault as
upstream-<automation>, is rotated before it expires (the running server's scheduler
does it; 'broker rotate' does it now) and is revoked upstream by 'broker rm'.

These commands work on the data directory as botgate itself (they need its master
key), like 'botgate audit verify'; every step is audited.`,
	}
	cmd.PersistentFlags().StringVar(&b.dir, "data-dir", envOr(e.getenv, "BOTGATE_DATA_DIR", ""), "data directory [env BOTGATE_DATA_DIR]")
	cmd.AddCommand(b.addCmd(), b.listCmd(), b.rotateCmd(), b.rmCmd())
	return cmd
}

// open opens the instance, its vault and a broker.
func (b *brokerCmd) open(ctx context.Context) (*instance, *broker.Broker, func(), error) {
	if b.dir == "" {
		b.dir = datadir.Default(b.e.getenv)
	}
	log := newLogger(b.e, "warn")
	in, err := openInstance(ctx, b.dir, log)
	if err != nil {
		return nil, nil, nil, err
	}
	v, err := openVault(ctx, b.e, b.vault, in, log)
	if err != nil {
		in.Close()
		return nil, nil, nil, err
	}
	br, err := broker.New(broker.Config{Store: in.store, Vault: v, Logger: log})
	if err != nil {
		in.Close()
		return nil, nil, nil, err
	}
	return in, br, func() { v.Keyring().Destroy(); in.Close() }, nil
}

// brokerGroupID resolves a group by id or full path.
func brokerGroupID(ctx context.Context, in *instance, ref string) (int64, error) {
	var id int64
	err := in.store.View(ctx, func(tx botgate.Tx) error {
		var g *botgate.Group
		var err error
		if n, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
			g, err = tx.Group(ctx, n)
		} else {
			g, err = tx.GroupByPath(ctx, ref)
		}
		if err != nil {
			return err
		}
		id = g.ID
		return nil
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return 0, cliErr(botgate.Errorf(botgate.KindNotFound, "group %s not found", ref))
	}
	return id, err
}

func (b *brokerCmd) addCmd() *cobra.Command {
	var (
		in                  broker.NewCredential
		group, kind, scopes string
		level               int
		lifetime, before    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "add --group TEAM --automation NAME --upstream-url URL --admin-secret SECRET --kind KIND --target T --scopes S",
		Short: "Register an automation's upstream token and mint it",
		Example: `  botgate broker add --group platform --automation triage --upstream-url https://gitlab.example.com \
    --admin-secret gitlab-admin --kind project_access --target team/app --scopes read_api,read_repository \
    --access-level 20 --lifetime 720h --rotate-before 168h --auto-rotate --notify https://hooks.example/platform`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(b.output); err != nil {
				return err
			}
			ctx := cmd.Context()
			inst, br, done, err := b.open(ctx)
			if err != nil {
				return err
			}
			defer done()
			if in.GroupID, err = brokerGroupID(ctx, inst, group); err != nil {
				return err
			}
			in.Kind, in.Scopes, in.AccessLevel = botgate.TokenKind(kind), strings.Split(scopes, ","), botgate.AccessLevel(level)
			in.Lifetime, in.RotateBefore = lifetime, before
			c, err := br.Create(ctx, authority.SystemActor(), in)
			if c != nil {
				if perr := b.print(c); perr != nil {
					return perr
				}
			}
			if err != nil {
				return cliErr(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&group, "group", "", "the owning team (id or full path)")
	f.StringVar(&in.Automation, "automation", "", "the automation the token serves")
	f.StringVar(&in.UpstreamURL, "upstream-url", "", "the upstream GitLab, e.g. https://gitlab.example.com")
	f.StringVar(&in.AdminSecret, "admin-secret", "", "the team's vault secret holding the upstream admin/owner token")
	f.StringVar(&kind, "kind", "project_access", "project_access, group_access or service_account")
	f.StringVar(&in.Target, "target", "", "upstream project (project_access) or group: id or full path")
	f.Int64Var(&in.ServiceAccountID, "service-account-id", 0, "existing upstream service account (service_account; default: create one)")
	f.StringVar(&in.TokenName, "token-name", "", "the upstream token's name (default: the automation)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes")
	f.IntVar(&level, "access-level", 0, "role of a project or group token (default 30)")
	f.DurationVar(&lifetime, "lifetime", 30*24*time.Hour, "lifetime of each minted token")
	f.DurationVar(&before, "rotate-before", 7*24*time.Hour, "rotate this long before expiry")
	f.BoolVar(&in.AutoRotate, "auto-rotate", false, "let the scheduler rotate the token before it expires")
	f.StringVar(&in.Notify, "notify", "", "webhook URL told about the token's coming expiry")
	vaultFlags(cmd, b.e, &b.vault)
	outputFlag(cmd, &b.output)
	return cmd
}

func (b *brokerCmd) listCmd() *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "list --group TEAM",
		Short: "List a team's upstream credentials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(b.output); err != nil {
				return err
			}
			ctx := cmd.Context()
			inst, br, done, err := b.open(ctx)
			if err != nil {
				return err
			}
			defer done()
			gid, err := brokerGroupID(ctx, inst, group)
			if err != nil {
				return err
			}
			all, err := br.List(ctx, authority.SystemActor(), gid)
			if err != nil {
				return cliErr(err)
			}
			if b.output == "json" {
				out := make([]map[string]any, len(all))
				for i, c := range all {
					out[i] = credentialJSON(c)
				}
				return writeJSON(b.e.stdout, out)
			}
			rows := make([][]string, len(all))
			for i, c := range all {
				exp := "-"
				if c.ExpiresAt != nil {
					exp = c.ExpiresAt.Format(botgate.DateFormat)
				}
				rows[i] = []string{strconv.FormatInt(c.ID, 10), c.Automation, string(c.Kind), c.Target, string(c.State),
					strconv.FormatInt(c.UpstreamTokenID, 10), exp, strconv.FormatBool(c.AutoRotate), orDash(c.LastError)}
			}
			return table(b.e.stdout, []string{"ID", "AUTOMATION", "KIND", "TARGET", "STATE", "UPSTREAM TOKEN", "EXPIRES", "AUTO", "LAST ERROR"}, rows)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the owning team (id or full path)")
	vaultFlags(cmd, b.e, &b.vault)
	outputFlag(cmd, &b.output)
	return cmd
}

func (b *brokerCmd) rotateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate ID",
		Short: "Rotate an upstream token now (mint, store, then revoke the old one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("ID must be a number")
			}
			ctx := cmd.Context()
			_, br, done, err := b.open(ctx)
			if err != nil {
				return err
			}
			defer done()
			if err := br.Rotate(ctx, authority.SystemActor(), id); err != nil {
				return cliErr(err)
			}
			c, err := br.Credential(ctx, id)
			if err != nil {
				return cliErr(err)
			}
			return b.print(c)
		},
	}
	vaultFlags(cmd, b.e, &b.vault)
	outputFlag(cmd, &b.output)
	return cmd
}

func (b *brokerCmd) rmCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm ID",
		Short: "Revoke the automation's upstream tokens and forget the credential",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("ID must be a number")
			}
			ctx := cmd.Context()
			_, br, done, err := b.open(ctx)
			if err != nil {
				return err
			}
			defer done()
			if err := br.Remove(ctx, authority.SystemActor(), id); err != nil {
				return cliErr(err)
			}
			fmt.Fprintf(b.e.stdout, "revoked upstream and removed credential %d\n", id)
			return nil
		},
	}
	vaultFlags(cmd, b.e, &b.vault)
	return cmd
}

// credentialJSON is a credential's public state: never a token value.
func credentialJSON(c *botgate.UpstreamCredential) map[string]any {
	m := map[string]any{
		"id": c.ID, "owner_group_id": c.OwnerGroupID, "automation": c.Automation, "upstream_url": c.UpstreamURL,
		"kind": c.Kind, "target": c.Target, "token_name": c.TokenName, "scopes": c.Scopes.Strings(),
		"access_level": int(c.AccessLevel), "state": c.State, "upstream_token_id": c.UpstreamTokenID,
		"service_account_id": c.ServiceAccountID, "secret_id": c.SecretID, "admin_secret_id": c.AdminSecretID,
		"auto_rotate": c.AutoRotate, "lifetime": c.Lifetime.String(), "rotate_before": c.RotateBefore.String(),
		"attempts": c.Attempts, "last_error": c.LastError, "pending_revoke_id": c.PendingRevokeID,
	}
	if c.ExpiresAt != nil {
		m["expires_at"] = c.ExpiresAt.Format(botgate.DateFormat)
	}
	return m
}

func (b *brokerCmd) print(c *botgate.UpstreamCredential) error {
	if b.output == "json" {
		return writeJSON(b.e.stdout, credentialJSON(c))
	}
	exp := "-"
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.Format(botgate.DateFormat)
	}
	return fields(b.e.stdout, [][2]string{
		{"id", strconv.FormatInt(c.ID, 10)},
		{"automation", c.Automation},
		{"upstream", c.UpstreamURL},
		{"kind", string(c.Kind)},
		{"target", c.Target},
		{"state", string(c.State)},
		{"upstream token", strconv.FormatInt(c.UpstreamTokenID, 10)},
		{"expires", exp},
		{"stored as", "vault secret " + broker.SecretName(c.Automation)},
		{"last error", orDash(c.LastError)},
	})
}
