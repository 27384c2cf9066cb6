package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
)

// secretSink is where a new token's secret goes: stdout, or a 0600 file
// created (empty) before the API call, so that a secret is never lost to a
// file that cannot be written after the token already exists.
type secretSink struct {
	path string
	f    *os.File
}

func openSecretSink(path string) (*secretSink, error) {
	if path == "" {
		return &secretSink{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usageErr("--token-file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return nil, usageErr("--token-file: %v", err)
	}
	return &secretSink{path: path, f: f}, nil
}

// abort removes the unused file after a failed call.
func (s *secretSink) abort() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.path)
	}
}

// store writes the secret to the file and clears it from v; without a file
// it leaves v.Token for the output.
func (s *secretSink) store(v *apiclient.Token) error {
	if s.f == nil {
		return nil
	}
	_, err := s.f.WriteString(v.Token + "\n")
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The token exists; do not lose its secret.
		return cliErr(botgate.Errorf(botgate.KindInternal,
			"token %d was created but writing %s failed (%v): revoke it with 'botgate token revoke %d'", v.ID, s.path, err, v.ID))
	}
	v.Token, v.TokenFile = "", s.path
	return nil
}

// finishSecret ends a create or rotate: a failed call removes the unused
// file; a token without a secret is refused (fail names what to do with
// it); otherwise the secret goes to the file, and the token's details and
// then its secret (or where it was written) are shown, once. stored, when
// not empty, is a file that already holds the secret.
func (a *apiCmd) finishSecret(sink *secretSink, v apiclient.Token, err error, fail, stored, headline string) error {
	if err != nil {
		sink.abort()
		return cliErr(err)
	}
	if v.Token == "" {
		sink.abort()
		return cliErr(botgate.Errorf(botgate.KindInternal, fail, v.ID))
	}
	if err := sink.store(&v); err != nil {
		return err
	}
	if stored != "" && v.TokenFile == "" {
		v.Token, v.TokenFile = "", stored
	}
	return a.render(v, nil, func(w io.Writer) error {
		fmt.Fprintln(w, headline)
		if err := apiclient.Fields(w, v.Fields()); err != nil {
			return err
		}
		if v.TokenFile != "" {
			_, err := fmt.Fprintf(w, "Token written to %s (mode 0600).\n", v.TokenFile)
			return err
		}
		_, err := fmt.Fprintf(w, "Token (shown once, store it now):\n%s\n", v.Token)
		return err
	})
}

func (a *apiCmd) tokenCreateCmd() *cobra.Command {
	var t tokenTarget
	var scopes, expires, description, level, tokenFile string
	var n apiclient.NewToken
	cmd := a.command(&cobra.Command{
		Use:   "create",
		Short: "Create a token and show its secret once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.check()
			if err != nil {
				return err
			}
			kind := o.Kind()
			if strings.TrimSpace(n.Name) == "" {
				return usageErr("--name is required: name the automation the token serves, e.g. --name ci-deploy")
			}
			if n.Scopes, err = parseScopes(scopes); err != nil {
				return err
			}
			if n.ExpiresAt, err = parseDate("expires-at", expires); err != nil {
				return err
			}
			switch {
			case kind == apiclient.KindProject || kind == apiclient.KindGroup:
				if level == "" {
					return usageErr("--access-level is required for a %s access token: the lowest role the automation needs, e.g. reporter to read or developer to push", kind)
				}
				l, err := parseAccessLevel(level)
				if err != nil {
					return err
				}
				n.AccessLevel = &l
			case level != "":
				return usageErr("--access-level applies to project and group access tokens only")
			}
			n.Description = optional(description)
			sink, err := openSecretSink(tokenFile)
			if err != nil {
				return err
			}
			g, err := a.gitlab()
			if err == nil {
				err = t.userID(&o)
			}
			if err != nil {
				sink.abort()
				return err
			}
			v, err := g.CreateToken(cmd.Context(), o, n)
			headline := fmt.Sprintf("Created %s token %d %q.", strings.ReplaceAll(kind, "_", " "), v.ID, v.Name)
			if kind == apiclient.KindProject || kind == apiclient.KindGroup {
				headline = fmt.Sprintf("Created %s access token %d %q for %s; its bot user is %d.", kind, v.ID, v.Name, o, v.UserID)
			}
			return a.finishSecret(sink, v, err, "the server created token %[1]d but returned no secret: revoke it with 'botgate token revoke %[1]d'", "", headline)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&t.user, "user", "", "create a personal access token for this user `ID` (admin only)")
	cmd.Flags().StringVar(&n.Name, "name", "", "the token's name: the automation it serves (required)")
	cmd.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes, e.g. read_api or api,read_repository (required)")
	cmd.Flags().StringVar(&expires, "expires-at", "", "expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&description, "description", "", "what the token is for")
	cmd.Flags().StringVar(&level, "access-level", "", "project/group tokens: guest, planner, reporter, developer, maintainer, owner (or 10-50)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}

func (a *apiCmd) tokenRotateCmd() *cobra.Command {
	var t tokenTarget
	var expires, tokenFile string
	cmd := a.command(&cobra.Command{
		Use:   "rotate ID|self",
		Short: "Replace a token with a new secret; the old one stops working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := t.check()
			if err != nil {
				return err
			}
			ref, err := tokenRef(args[0], o, "rotate")
			if err != nil {
				return err
			}
			exp, err := parseDate("expires-at", expires)
			if err != nil {
				return err
			}
			r, err := apiclient.Resolve(a.e.getenv, a.url)
			if err != nil {
				return cliErr(err)
			}
			sink, err := openSecretSink(tokenFile)
			if err != nil {
				return err
			}
			g, err := a.newGitLab(r)
			if err != nil {
				sink.abort()
				return err
			}
			v, err := g.RotateToken(cmd.Context(), o, ref, exp)
			headline := fmt.Sprintf("Rotated token %s: its successor is token %d %q; the old secret no longer works.", ref, v.ID, v.Name)
			stored := ""
			if err == nil && v.Token != "" && ref.Self && r.TokenSource == apiclient.SourceFile {
				// The old token is revoked now: keep the stored credentials working.
				if err := apiclient.SaveCredentials(r.File, apiclient.Credentials{URL: r.URL, Token: v.Token}); err != nil {
					// Do not lose the new secret: it is shown below.
					fmt.Fprintf(a.e.stderr, "botgate: could not update %s: %v\n", r.File, err)
				} else {
					stored = r.File
					headline += " The stored credentials now hold the new token."
				}
			}
			if err == nil && v.Token != "" && ref.Self && r.TokenSource == apiclient.SourceEnv {
				fmt.Fprintf(a.e.stderr, "botgate: %s still holds the old, now revoked token: replace it with the new one\n", apiclient.EnvToken)
			}
			return a.finishSecret(sink, v, err, "the server rotated to token %d but returned no secret: rotate or revoke it", stored, headline)
		},
	})
	t.register(cmd)
	cmd.Flags().StringVar(&expires, "expires-at", "", "the new token's expiry `DATE` (YYYY-MM-DD); the server's policy applies when omitted")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the new secret to this new `FILE` (mode 0600) instead of printing it")
	return cmd
}
