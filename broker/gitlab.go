package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// Minted is a token just created upstream. Value is its secret: the broker
// stores it in the vault at once and never logs it.
type Minted struct {
	TokenID          int64
	Value            string
	ExpiresAt        time.Time
	ServiceAccountID int64 // the upstream service account, for ServiceAccountToken
}

// Upstream is a system that issues tokens. The broker needs two things from
// it: a new token for a credential, and the revocation of an old one. Admin
// is the upstream credential that may do both; implementations use it for
// the call and never keep, log or return it.
type Upstream interface {
	// Mint creates a new token upstream for c, expiring at expires (a
	// date). Errors are KindInvalid for a request the upstream refuses
	// (4xx but 404/429), KindNotFound when the target does not exist,
	// KindInternal for an upstream that failed or could not be reached.
	Mint(ctx context.Context, c *botgate.UpstreamCredential, admin string, expires time.Time) (Minted, error)
	// Revoke revokes the upstream token tokenID of c. A token the upstream
	// no longer knows counts as revoked.
	Revoke(ctx context.Context, c *botgate.UpstreamCredential, admin string, tokenID int64) error
}

// GitLab is the Upstream for GitLab (and for botgate's own /api/v4), using
// the official client, gitlab.com/gitlab-org/api/client-go. It mints
// project access tokens, group access tokens, and personal access tokens
// of group service accounts (creating the service account when the
// credential names none).
type GitLab struct {
	// HTTPClient makes the requests (default: a client with a 30s timeout).
	HTTPClient *http.Client
	// UserAgent names botgate to the upstream.
	UserAgent string
}

var _ Upstream = (*GitLab)(nil)

// client builds a client for one call. Retries are the broker's job (with
// its own backoff and audit), so the client does none.
func (g *GitLab) client(c *botgate.UpstreamCredential, admin string) (*gitlab.Client, error) {
	hc := g.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ua := g.UserAgent
	if ua == "" {
		ua = "botgate-broker/" + botgate.Version
	}
	base := strings.TrimRight(c.UpstreamURL, "/") + "/api/v4"
	cl, err := gitlab.NewClient(admin, gitlab.WithBaseURL(base), gitlab.WithHTTPClient(hc), gitlab.WithoutRetries(), gitlab.WithUserAgent(ua))
	if err != nil {
		return nil, botgate.Invalid("upstream_url", "upstream URL %q is not usable: %v", c.UpstreamURL, err)
	}
	return cl, nil
}

// target returns the credential's target as client-go wants it: a number,
// or a path.
func target(c *botgate.UpstreamCredential) any {
	if n, err := strconv.ParseInt(c.Target, 10, 64); err == nil && n > 0 {
		return n
	}
	return c.Target
}

// Mint implements Upstream.
func (g *GitLab) Mint(ctx context.Context, c *botgate.UpstreamCredential, admin string, expires time.Time) (Minted, error) {
	cl, err := g.client(c, admin)
	if err != nil {
		return Minted{}, err
	}
	exp := gitlab.ISOTime(botgate.Date(expires))
	scopes := c.Scopes.Strings()
	desc := "minted by botgate for automation " + c.Automation
	opt := gitlab.WithContext(ctx)
	switch c.Kind {
	case botgate.ProjectAccessToken:
		t, resp, err := cl.ProjectAccessTokens.CreateProjectAccessToken(target(c), &gitlab.CreateProjectAccessTokenOptions{
			Name: &c.TokenName, Description: &desc, Scopes: &scopes, AccessLevel: gitlab.Ptr(gitlab.AccessLevelValue(c.AccessLevel)), ExpiresAt: &exp,
		}, opt)
		if err != nil {
			return Minted{}, upstreamErr("creating a project access token", resp, err, admin)
		}
		return minted(t.ID, t.Token, t.ExpiresAt, 0, expires)
	case botgate.GroupAccessToken:
		t, resp, err := cl.GroupAccessTokens.CreateGroupAccessToken(target(c), &gitlab.CreateGroupAccessTokenOptions{
			Name: &c.TokenName, Description: &desc, Scopes: &scopes, AccessLevel: gitlab.Ptr(gitlab.AccessLevelValue(c.AccessLevel)), ExpiresAt: &exp,
		}, opt)
		if err != nil {
			return Minted{}, upstreamErr("creating a group access token", resp, err, admin)
		}
		return minted(t.ID, t.Token, t.ExpiresAt, 0, expires)
	case botgate.ServiceAccountToken:
		sa := c.ServiceAccountID
		if sa == 0 {
			acct, resp, err := cl.Groups.CreateServiceAccount(target(c), &gitlab.CreateServiceAccountOptions{Name: &c.TokenName}, opt)
			if err != nil {
				return Minted{}, upstreamErr("creating a group service account", resp, err, admin)
			}
			sa = acct.ID
		}
		t, resp, err := cl.Groups.CreateServiceAccountPersonalAccessToken(target(c), sa, &gitlab.CreateServiceAccountPersonalAccessTokenOptions{
			Name: &c.TokenName, Description: &desc, Scopes: &scopes, ExpiresAt: &exp,
		}, opt)
		if err != nil {
			// The service account exists now; say so, so the next attempt reuses it.
			return Minted{ServiceAccountID: sa}, upstreamErr("creating a service account token", resp, err, admin)
		}
		return minted(t.ID, t.Token, t.ExpiresAt, sa, expires)
	}
	return Minted{}, botgate.Invalid("kind", "the broker mints project_access, group_access or service_account tokens, not %q", c.Kind)
}

func minted(id int64, value string, exp *gitlab.ISOTime, sa int64, asked time.Time) (Minted, error) {
	if id == 0 || value == "" {
		return Minted{}, botgate.Errorf(botgate.KindInternal, "the upstream created a token but returned no id or value")
	}
	m := Minted{TokenID: id, Value: value, ExpiresAt: botgate.Date(asked), ServiceAccountID: sa}
	if exp != nil {
		m.ExpiresAt = botgate.Date(time.Time(*exp))
	}
	return m, nil
}

// Revoke implements Upstream.
func (g *GitLab) Revoke(ctx context.Context, c *botgate.UpstreamCredential, admin string, tokenID int64) error {
	cl, err := g.client(c, admin)
	if err != nil {
		return err
	}
	opt := gitlab.WithContext(ctx)
	var resp *gitlab.Response
	switch c.Kind {
	case botgate.ProjectAccessToken:
		resp, err = cl.ProjectAccessTokens.RevokeProjectAccessToken(target(c), tokenID, opt)
	case botgate.GroupAccessToken:
		resp, err = cl.GroupAccessTokens.RevokeGroupAccessToken(target(c), tokenID, opt)
	case botgate.ServiceAccountToken:
		resp, err = cl.Groups.RevokeServiceAccountPersonalAccessToken(target(c), c.ServiceAccountID, tokenID, opt)
	default:
		return botgate.Invalid("kind", "unknown credential kind %q", c.Kind)
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil // already gone
		}
		if resp != nil && (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusConflict) &&
			strings.Contains(strings.ToLower(errMessage(err)), "revoked") {
			return nil // "Token already revoked" (400 from GitLab, 409 from botgate)
		}
		return upstreamErr("revoking token "+strconv.FormatInt(tokenID, 10), resp, err, admin)
	}
	return nil
}

// upstreamErr turns a client-go error into a *botgate.Error whose message is
// safe to show and to store: the status and the upstream's message, with
// the admin credential scrubbed should the upstream have echoed it. Its
// reason, ReasonUpstream, tells the HTTP edge that the message is the
// upstream's answer.
func upstreamErr(what string, resp *gitlab.Response, err error, admin string) error {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	msg := errMessage(err)
	if admin != "" {
		msg = strings.ReplaceAll(msg, admin, "[REDACTED]")
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	kind := botgate.KindInternal
	switch {
	case status == http.StatusNotFound:
		kind = botgate.KindNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		kind = botgate.KindForbidden
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
		kind = botgate.KindInvalid
	}
	text := fmt.Sprintf("upstream %s failed", what)
	if status != 0 {
		text = fmt.Sprintf("upstream %s: HTTP %d", what, status)
	}
	if msg != "" {
		text += ": " + msg
	}
	return &botgate.Error{Kind: kind, Reason: botgate.ReasonUpstream, Message: text}
}

// errMessage extracts the upstream's own message from a client-go error,
// without the request URL.
func errMessage(err error) string {
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) {
		return er.Message
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timed out"
	}
	// A transport error names the URL, which holds no credential.
	return err.Error()
}
