package console

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/botgate/botgate/authority"
)

// flashTTL bounds how long a new secret waits, in memory, for its one
// showing.
const flashTTL = 5 * time.Minute

// flashSecret is a new token's secret waiting for its one showing.
type flashSecret struct {
	secret string
	until  time.Time
}

// flashKey ties a waiting secret to the session and the token.
func flashKey(s *session, tokenID int64) string {
	return hex.EncodeToString(s.digest) + "/" + strconv.FormatInt(tokenID, 10)
}

// showOnce keeps the new secret in this node's memory and sends the
// browser to the new token's page, which shows it once and forgets it:
// reloading that page, or coming back later, no longer shows it. The
// secret is never written to the store, a cookie or a URL.
func (c *Console) showOnce(w http.ResponseWriter, r *http.Request, s *session, created *authority.Created) {
	now := c.clock.Now()
	c.flashMu.Lock()
	for k, f := range c.flash {
		if now.After(f.until) {
			delete(c.flash, k)
		}
	}
	c.flash[flashKey(s, created.Token.ID)] = flashSecret{secret: created.Secret, until: now.Add(flashTTL)}
	c.flashMu.Unlock()
	http.Redirect(w, r, "/-/console/tokens/"+strconv.FormatInt(created.Token.ID, 10)+"/new", http.StatusSeeOther)
}

// takeFlash returns the waiting secret of the token for the session, once.
func (c *Console) takeFlash(s *session, tokenID int64) string {
	c.flashMu.Lock()
	defer c.flashMu.Unlock()
	k := flashKey(s, tokenID)
	f, ok := c.flash[k]
	delete(c.flash, k)
	if !ok || c.clock.Now().After(f.until) {
		return ""
	}
	return f.secret
}

// tokenSecret is the page after a create or rotate: the token with its new
// secret, shown this once.
func (c *Console) tokenSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.tokenView(r, s)
	if err != nil {
		return err
	}
	d.Secret = c.takeFlash(s, d.Token.ID)
	c.render(w, http.StatusOK, "token", s.view("Token "+d.Token.Name, "inventory", d))
	return nil
}

func urlQuery(s string) string { return url.QueryEscape(s) }
