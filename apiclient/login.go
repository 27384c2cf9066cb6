package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/term"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/datadir"
)

// LoginResult is what Login reports; it never holds the token.
type LoginResult struct {
	URL             string   `json:"url"`
	UserID          int64    `json:"user_id"`
	Username        string   `json:"username"`
	TokenID         int64    `json:"token_id,omitempty"`
	TokenName       string   `json:"token_name,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	ExpiresAt       *string  `json:"expires_at"`
	CredentialsFile string   `json:"credentials_file"`
}

// Login checks token against the server at rawURL and, when the server
// accepts it, stores both in the credentials file at path. A token the
// server rejects is a KindUnauthenticated error, and nothing is stored.
func Login(ctx context.Context, rawURL, token, path string) (LoginResult, error) {
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return LoginResult{}, err
	}
	g, err := NewGitLab(Resolved{URL: u, Token: token, URLSource: SourceFlag, TokenSource: SourceFlag}, Options{})
	if err != nil {
		return LoginResult{}, err
	}
	me, err := g.CurrentUser(ctx)
	if botgate.IsKind(err, botgate.KindUnauthenticated) {
		err = &botgate.Error{Kind: botgate.KindUnauthenticated, Err: err,
			Message: "the server rejected this token (mistyped, expired or revoked?); nothing was stored"}
	}
	if err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{URL: u, UserID: me.ID, Username: me.Username, CredentialsFile: path}
	// A personal, project or group access token can describe itself.
	if t, _, err := g.anyToken(ctx, http.MethodGet, "personal_access_tokens/self", nil); err == nil {
		res.TokenID, res.TokenName, res.Scopes, res.ExpiresAt = t.ID, t.Name, t.Scopes, dateString(t.ExpiresAt)
	}
	return res, SaveCredentials(path, Credentials{URL: u, Token: token})
}

// RevokeStored revokes the token stored in the credentials file at path on
// its server (DELETE /personal_access_tokens/self) and returns the
// server's URL. It leaves the file in place.
func RevokeStored(ctx context.Context, path string) (string, error) {
	c, err := LoadCredentials(path)
	if err != nil {
		return "", botgate.Errorf(botgate.KindUnauthenticated, "nothing to revoke: %v", err)
	}
	g, err := NewGitLab(Resolved{URL: c.URL, Token: c.Token}, Options{})
	if err != nil {
		return "", err
	}
	resp, err := g.c.PersonalAccessTokens.RevokePersonalAccessTokenSelf(gitlab.WithContext(ctx))
	return c.URL, Explain(err, resp, "the stored token")
}

// ReadToken reads a token from file, or from stdin when file is "" or "-":
// at a terminal without echo, after a prompt on prompt. A credential file
// (strict) must not be readable by others; a file holding a leaked secret
// may be. Only the first line counts. Its errors are KindInvalid.
func ReadToken(stdin io.Reader, prompt io.Writer, file string, strict bool) (string, error) {
	var b []byte
	var err error
	if file != "" && file != "-" {
		if strict {
			b, err = datadir.ReadSecretFile(file)
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return "", botgate.Errorf(botgate.KindInvalid, "reading %s: %v", file, err)
		}
	} else if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		// Typed or pasted at a terminal: do not echo it.
		fmt.Fprint(prompt, "Paste the token (it will not be shown) and press Enter: ")
		b, err = term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", botgate.Errorf(botgate.KindInvalid, "reading the token from the terminal: %v", err)
		}
	} else {
		b, err = io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return "", botgate.Errorf(botgate.KindInvalid, "reading the token from standard input: %v", err)
		}
	}
	token, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if token = strings.TrimSpace(token); token == "" {
		return "", botgate.Errorf(botgate.KindInvalid, "no token given: name a file holding it, or pipe it on standard input")
	}
	return token, nil
}

// Logout forgets the credentials stored by Login (revoke: after revoking
// their token on its server) and says what it did.
func Logout(ctx context.Context, getenv func(string) string, revoke bool) (string, error) {
	path, err := CredentialsPath(getenv)
	if err != nil {
		return "", err
	}
	var lines []string
	if revoke {
		url, err := RevokeStored(ctx, path)
		if err != nil {
			return "", err
		}
		lines = append(lines, "Revoked the stored token on "+url+".")
	}
	had, err := RemoveCredentials(path)
	if had {
		lines = append(lines, "Removed "+path+".")
	} else {
		lines = append(lines, "Not logged in (no "+path+").")
	}
	return strings.Join(lines, "\n"), err
}
