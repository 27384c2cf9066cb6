package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/datadir"
)

// Environment variables the resolver reads.
const (
	EnvURL   = "BOTGATE_URL"
	EnvToken = "BOTGATE_TOKEN"
)

// Credentials is what 'botgate login' stores: a server URL and the token
// used with it.
type Credentials struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// Source says where a resolved value came from.
type Source string

// The sources of a resolved URL or token.
const (
	SourceFlag Source = "flag"
	SourceEnv  Source = "environment"
	SourceFile Source = "credentials file"
)

// Resolved is the connection a command will use.
type Resolved struct {
	URL         string
	Token       string
	URLSource   Source
	TokenSource Source
	// File is the credentials file consulted (it may not exist).
	File string
}

// CredentialsPath returns the credentials file's path:
// $XDG_CONFIG_HOME/botgate/credentials.json, else
// ~/.config/botgate/credentials.json.
func CredentialsPath(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "botgate", "credentials.json"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "botgate", "credentials.json"), nil
	}
	return "", botgate.Errorf(botgate.KindInvalid, "cannot find a config directory: set XDG_CONFIG_HOME or HOME, or use BOTGATE_URL and BOTGATE_TOKEN")
}

// NormalizeURL checks that raw is an http or https URL with a host and
// returns it without a trailing slash or a trailing /api/v4.
func NormalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := botgate.ParseHTTPURL("url", raw)
	if err != nil {
		return "", botgate.Invalid("url", "not a server URL: %s (e.g. http://127.0.0.1:8080)", botgate.MessageOf(err))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", botgate.Invalid("url", "the server URL must not carry a query or a fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v4")
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// LoadCredentials reads a credentials file. It refuses a file that others
// can read. A missing file is an error satisfying errors.Is(err,
// fs.ErrNotExist).
func LoadCredentials(path string) (Credentials, error) {
	b, err := datadir.ReadSecretFile(path)
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, botgate.Errorf(botgate.KindInvalid, "%s is not a botgate credentials file (%v): run botgate login again", path, err)
	}
	if c.URL == "" || c.Token == "" {
		return Credentials{}, botgate.Errorf(botgate.KindInvalid, "%s lacks a url or a token: run botgate login again", path)
	}
	return c, nil
}

// SaveCredentials writes c to path with mode 0600, creating its directory
// with mode 0700. It replaces an existing file atomically.
func SaveCredentials(path string, c Credentials) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("writing credentials: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing credentials: %w", err)
	}
	return nil
}

// RemoveCredentials deletes the credentials file. It reports whether there
// was one.
func RemoveCredentials(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Resolve decides which URL and token to use. The URL comes from flagURL,
// else BOTGATE_URL, else the credentials file; the token from BOTGATE_TOKEN,
// else the credentials file.
//
// A token from the credentials file is only sent to the URL it was stored
// for: pointing --url or BOTGATE_URL elsewhere without BOTGATE_TOKEN is an
// error, so a token never leaks to a server it does not belong to.
func Resolve(getenv func(string) string, flagURL string) (Resolved, error) {
	var r Resolved
	switch {
	case flagURL != "":
		r.URL, r.URLSource = flagURL, SourceFlag
	case getenv(EnvURL) != "":
		r.URL, r.URLSource = getenv(EnvURL), SourceEnv
	}
	if t := strings.TrimSpace(getenv(EnvToken)); t != "" {
		r.Token, r.TokenSource = t, SourceEnv
	}
	path, perr := CredentialsPath(getenv)
	r.File = path
	if r.URL == "" || r.Token == "" {
		if perr != nil {
			return r, perr
		}
		c, err := LoadCredentials(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return r, botgate.Errorf(botgate.KindUnauthenticated,
				"not logged in: run 'botgate login --url URL --token-file FILE', or set %s and %s", EnvURL, EnvToken)
		case err != nil:
			return r, err
		}
		stored, err := NormalizeURL(c.URL)
		if err != nil {
			return r, botgate.Errorf(botgate.KindInvalid, "%s holds a bad URL: run botgate login again", path)
		}
		if r.URL == "" {
			r.URL, r.URLSource = stored, SourceFile
		}
		if r.Token == "" {
			want, err := NormalizeURL(r.URL)
			if err != nil {
				return r, err
			}
			if want != stored {
				return r, botgate.Errorf(botgate.KindInvalid,
					"the stored token belongs to %s, not %s: set %s, or run 'botgate login --url %s'", stored, want, EnvToken, want)
			}
			r.Token, r.TokenSource = c.Token, SourceFile
		}
	}
	u, err := NormalizeURL(r.URL)
	if err != nil {
		return r, err
	}
	r.URL = u
	return r, nil
}

// Replace puts token in place of the one r used, after that one was
// rotated away. When r's token came from the credentials file, the file is
// updated and stored is its path; note says what the user must do instead:
// the file could not be written, or BOTGATE_TOKEN still holds the old
// token.
func (r Resolved) Replace(token string) (stored, note string) {
	if token == "" {
		return "", ""
	}
	switch r.TokenSource {
	case SourceFile:
		if err := SaveCredentials(r.File, Credentials{URL: r.URL, Token: token}); err != nil {
			// The new secret is still shown to the user.
			return "", fmt.Sprintf("could not update %s: %v", r.File, err)
		}
		return r.File, ""
	case SourceEnv:
		return "", EnvToken + " still holds the old, now revoked token: replace it with the new one"
	}
	return "", ""
}

// ServerGiven decides whether a command that can work either offline (on
// the data directory) or through a server (plan, apply, lint) uses a
// server, and resolves it when it does. A server is used when flagURL or
// BOTGATE_URL names one, or, unless offline says the command was pointed
// at a data directory, store or configuration file, when 'botgate login'
// stored credentials. Naming a server and a local instance at once is
// KindInvalid.
func ServerGiven(getenv func(string) string, flagURL string, offline bool) (Resolved, bool, error) {
	named := flagURL != "" || getenv(EnvURL) != ""
	if named && offline {
		return Resolved{}, false, botgate.Errorf(botgate.KindInvalid,
			"both a server (--url or %s) and a local instance (--data-dir, --store or --config) are named: use one", EnvURL)
	}
	if !named {
		if offline {
			return Resolved{}, false, nil
		}
		path, err := CredentialsPath(getenv)
		if err != nil {
			return Resolved{}, false, nil
		}
		if _, err := os.Stat(path); err != nil {
			return Resolved{}, false, nil
		}
	}
	r, err := Resolve(getenv, flagURL)
	return r, true, err
}
