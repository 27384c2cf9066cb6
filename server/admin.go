package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/botgate/botgate/datadir"
)

// RecoverResult is what RecoverAdmin reports.
type RecoverResult struct {
	AdminUsername string `json:"admin_username"`
	AdminTokenID  int64  `json:"admin_token_id"`
	Token         string `json:"token,omitempty"`
	TokenFile     string `json:"token_file,omitempty"`
}

// RecoverAdmin mints a new token for an administrator of the installation
// cfg names (authority.RecoverAdmin): the one named username, else the
// oldest active one. It needs the data directory's pepper, so only whoever
// holds the data directory can; it is audited as admin.recover. The token
// goes to tokenFile (0600, never overwritten) when set, else into the
// result.
func RecoverAdmin(ctx context.Context, cfg Config, username, tokenFile string, log *slog.Logger) (*RecoverResult, error) {
	in, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	u, t, secret, err := in.Authority.RecoverAdmin(ctx, username)
	if err != nil {
		return nil, err
	}
	res := &RecoverResult{AdminUsername: u.Username, AdminTokenID: t.ID}
	if tokenFile == "" {
		res.Token = secret
		return res, nil
	}
	if err := datadir.WriteSecretFile(tokenFile, []byte(secret+"\n")); err != nil {
		// The token exists but nobody has it: say which, so it can be revoked.
		return nil, fmt.Errorf("writing the admin token (id %d, now unused: revoke it): %w", t.ID, err)
	}
	res.TokenFile = tokenFile
	return res, nil
}

// WriteText says whose token it is and where it went, or shows it once.
func (r *RecoverResult) WriteText(w io.Writer) error {
	if r.TokenFile != "" {
		_, err := fmt.Fprintf(w, "New token for administrator %s written to %s (mode 0600).\n", r.AdminUsername, r.TokenFile)
		return err
	}
	_, err := fmt.Fprintf(w, "New token for administrator %s (shown once, store it now):\n%s\n", r.AdminUsername, r.Token)
	return err
}
