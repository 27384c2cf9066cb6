package cli

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
)

// TokenTarget holds the flags that say whose tokens a command is about;
// User is set by the commands that take --user.
type TokenTarget struct{ Project, Group, SA, User string }

// Register registers --project, --group and --service-account.
func (t *TokenTarget) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.Project, "project", "", "project `ID|PATH`: its project access tokens (with --service-account: that project's service account)")
	cmd.Flags().StringVar(&t.Group, "group", "", "group `ID|PATH`: its group access tokens (with --service-account: that group's service account)")
	cmd.Flags().StringVar(&t.SA, "service-account", "", "service account user `ID`: its personal access tokens")
}

// Owner is the owner the flags name; a bad combination is a usage error.
func (t *TokenTarget) Owner() (apiclient.TokenOwner, error) {
	o, err := apiclient.ParseTokenOwner(t.Project, t.Group, t.SA, t.User)
	return o, cliout.Usage(err)
}

// OwnerRef is the owner and the token that args[0] names (ID or self).
func (t *TokenTarget) OwnerRef(args []string, verb string) (apiclient.TokenOwner, apiclient.TokenRef, error) {
	o, err := t.Owner()
	if err != nil {
		return o, apiclient.TokenRef{}, err
	}
	ref, err := apiclient.ParseTokenRef(args[0], o, verb)
	return o, ref, cliout.Usage(err)
}

// BySecret reads a token's secret from secretFile (or standard input) and
// builds the client for a call to /admin/token with it.
func (a *API) BySecret(secretFile string) (*apiclient.GitLab, string, error) {
	secret, err := apiclient.ReadToken(a.Stdin, a.Stderr, secretFile, false)
	if err != nil {
		return nil, "", cliout.Usage(err)
	}
	g, err := a.GitLab()
	return g, secret, err
}

// SecretSink creates --token-file, if given, before the call, and then
// resolves the connection.
func (a *API) SecretSink(path string) (*cliout.SecretFile, apiclient.Resolved, *apiclient.GitLab, error) {
	s, err := cliout.CreateSecretFile(path)
	if err != nil {
		return nil, apiclient.Resolved{}, nil, cliout.Usage(err)
	}
	r, g, err := a.ResolveGitLab()
	if err != nil {
		s.Abort()
	}
	return s, r, g, err
}

// NewToken ends a create or rotate: the secret goes to sink's file, or is
// shown once, after headline and the token's details.
func (a *API) NewToken(sink *cliout.SecretFile, v apiclient.Token, err error, fail, stored, headline string) error {
	if err := sink.Finish(&v, err, fail, stored); err != nil {
		return cliout.Fail(err)
	}
	return a.Show(v, nil, cliout.NewSecret(v, headline))
}
