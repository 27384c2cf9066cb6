package gateway

import (
	"context"
	"os"
	"strings"
	"sync"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// Route is what a CredentialSource learns about the route a request takes.
type Route struct {
	Name       string // the route's configured name
	Upstream   string // the upstream base URL
	Credential string // the configured reference, e.g. "env:NAME"
	// Header and Prefix are where the configured credential goes.
	Header string
	Prefix string
}

// CredentialSource supplies the upstream credential the proxy injects for
// a route and caller, such as a GitLab token of the automation's own. It
// returns the header to set and its value; an empty header injects
// nothing. Errors: KindNotFound if the reference names nothing,
// KindForbidden if the caller may not use it, KindInternal otherwise. The
// value is a secret: implementations never log it.
type CredentialSource interface {
	Credential(ctx context.Context, r Route, id *authority.Identity) (header, value string, err error)
}

// ConfigCredentials resolves the references of the configuration file:
// "env:NAME" reads the environment variable through Getenv and "file:PATH"
// the file's content (trailing newline removed). Values are read once and
// kept. References of other schemes are passed to Next, if set (the vault
// plugs in there).
type ConfigCredentials struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	Next     CredentialSource

	mu    sync.Mutex
	cache map[string]string
}

var _ CredentialSource = (*ConfigCredentials)(nil)

// Credential implements CredentialSource.
func (c *ConfigCredentials) Credential(ctx context.Context, r Route, id *authority.Identity) (string, string, error) {
	const op = "gateway.ConfigCredentials"
	if r.Credential == "" {
		return "", "", nil
	}
	scheme, rest, _ := strings.Cut(r.Credential, ":")
	if scheme != "env" && scheme != "file" {
		if c.Next != nil {
			return c.Next.Credential(ctx, r, id)
		}
		return "", "", botgate.E(op, botgate.Errorf(botgate.KindNotFound, "no credential source for %q references", scheme))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.cache[r.Credential]
	if !ok {
		switch scheme {
		case "env":
			getenv := c.Getenv
			if getenv == nil {
				getenv = os.Getenv
			}
			v = getenv(rest)
		case "file":
			read := c.ReadFile
			if read == nil {
				read = os.ReadFile
			}
			b, err := read(rest)
			if err != nil {
				e := botgate.Errorf(botgate.KindInternal, "reading the credential of route %s", r.Name)
				e.Err = err // the path and why it did not open, never the content
				return "", "", botgate.E(op, e)
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
		if v == "" {
			return "", "", botgate.E(op, botgate.Errorf(botgate.KindNotFound, "the credential of route %s (%s) is empty", r.Name, r.Credential))
		}
		if c.cache == nil {
			c.cache = make(map[string]string)
		}
		c.cache[r.Credential] = v
	}
	return r.Header, r.Prefix + v, nil
}
