package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
)

// V1 is a typed client for botgate's own API, /api/botgate/v1. Its
// request and answer shapes are apiwire's, the ones httpapi writes.
//
// Every method returns a *botgate.Error on failure, of kind
// KindUnauthenticated (401), KindForbidden (403), KindNotFound (404, with a
// message naming what was not found), KindInvalid (400, 409, 422),
// KindRateLimited (429) or KindInternal (5xx, other statuses, unreachable
// server, unexpected answers). Messages never contain the token.
type V1 struct {
	url   string
	token string
	hc    *http.Client
	ua    string
}

// NewV1 returns the client for r's server and token. o.Logger is unused.
func NewV1(r Resolved, o Options) (*V1, error) {
	if r.Token == "" {
		return nil, botgate.Errorf(botgate.KindUnauthenticated, "no token: run botgate login, or set %s", EnvToken)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "botgate-cli/" + botgate.Version
	}
	return &V1{url: strings.TrimRight(r.URL, "/"), token: r.Token, hc: hc, ua: ua}, nil
}

// do sends a JSON request to path under /api/botgate/v1 and decodes the
// answer into out (unless nil). notFound is the message of a 404.
func (c *V1) do(ctx context.Context, method, path string, body, out any, notFound string) error {
	var rd io.Reader
	ctype := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return botgate.E(botgate.KindInternal, err)
		}
		rd, ctype = bytes.NewReader(b), "application/json"
	}
	code, raw, err := c.send(ctx, method, path, ctype, rd)
	if err != nil {
		return err
	}
	if code >= 300 {
		return statusError(code, raw, notFound)
	}
	return decodeAnswer(code, raw, out)
}

// send sends a request with a body of content type ctype (none when rd is
// nil) to path under /api/botgate/v1 and returns the answer's status and
// body.
func (c *V1) send(ctx context.Context, method, path, ctype string, rd io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url+"/api/botgate/v1"+path, rd)
	if err != nil {
		return 0, nil, botgate.Errorf(botgate.KindInvalid, "bad server URL %q", c.url)
	}
	req.Header.Set("PRIVATE-TOKEN", c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, Explain(err, nil, "")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, botgate.Errorf(botgate.KindInternal, "reading the answer: %v", err)
	}
	return resp.StatusCode, raw, nil
}

// decodeAnswer decodes a successful answer into out (unless nil).
func decodeAnswer(code int, raw []byte, out any) error {
	if out != nil && code != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return botgate.Errorf(botgate.KindInternal, "the server's answer is not what was expected: %v", err)
		}
	}
	return nil
}

// statusError is the error of an answer with status code and body raw.
func statusError(code int, raw []byte, notFound string) error {
	var m struct {
		Message any `json:"message"`
		Error   any `json:"error"`
	}
	_ = json.Unmarshal(raw, &m)
	msg := fmt.Sprint(m.Message)
	if m.Message == nil {
		msg = fmt.Sprint(m.Error)
	}
	kind := botgate.KindInternal
	switch code {
	case http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity:
		kind = botgate.KindInvalid
	case http.StatusUnauthorized:
		kind = botgate.KindUnauthenticated
	case http.StatusForbidden:
		kind = botgate.KindForbidden
	case http.StatusNotFound:
		kind, msg = botgate.KindNotFound, notFound
	case http.StatusTooManyRequests:
		kind = botgate.KindRateLimited
	}
	return botgate.Errorf(kind, "%s (HTTP %d)", msg, code)
}

// secretPath is the path of a team's secret.
func secretPath(group, name string) string {
	return "/secrets/" + url.PathEscape(group) + "/" + url.PathEscape(name)
}

// PutSecret creates or replaces the secret name of group.
func (c *V1) PutSecret(ctx context.Context, group, name string, in apiwire.PutSecret) (*apiwire.Secret, error) {
	var out apiwire.Secret
	return &out, c.do(ctx, http.MethodPut, secretPath(group, name), in, &out, "group "+group+" not found (or not visible to you)")
}

// SecretValue reads a secret with its value; the read is audited.
func (c *V1) SecretValue(ctx context.Context, group, name string) (*apiwire.SecretValue, error) {
	var out apiwire.SecretValue
	return &out, c.do(ctx, http.MethodGet, secretPath(group, name)+"/value", nil, &out, notVisible("secret", group, name))
}

// ListSecrets lists the metadata of all of group's secrets, reading
// every page.
func (c *V1) ListSecrets(ctx context.Context, group string) ([]apiwire.Secret, error) {
	var all []apiwire.Secret
	for page := 1; ; page++ {
		var out []apiwire.Secret
		path := "/secrets?per_page=100&page=" + strconv.Itoa(page) + "&group=" + url.QueryEscape(group)
		if err := c.do(ctx, http.MethodGet, path, nil, &out, "group "+group+" not found (or not visible to you)"); err != nil {
			return nil, err
		}
		all = append(all, out...)
		if len(out) < 100 {
			return all, nil
		}
	}
}

// DeleteSecret deletes a secret.
func (c *V1) DeleteSecret(ctx context.Context, group, name string) error {
	return c.do(ctx, http.MethodDelete, secretPath(group, name), nil, nil, notVisible("secret", group, name))
}

// BindSecret lets the rotation family of token tokenID read a secret;
// tokenID 0 removes the binding.
func (c *V1) BindSecret(ctx context.Context, group, name string, tokenID int64) (*apiwire.Secret, error) {
	var out apiwire.Secret
	method, body := http.MethodPut, any(apiwire.BindSecret{TokenID: tokenID})
	if tokenID == 0 {
		method, body = http.MethodDelete, nil
	}
	return &out, c.do(ctx, method, secretPath(group, name)+"/binding", body, &out, notVisible("secret", group, name))
}

// CreateUpstream registers an automation's upstream credential and mints
// its first token.
func (c *V1) CreateUpstream(ctx context.Context, in apiwire.CreateUpstream) (*apiwire.UpstreamCredential, error) {
	var out apiwire.UpstreamCredential
	return &out, c.do(ctx, http.MethodPost, "/upstream_credentials", in, &out, "group "+in.Group+" not found (or not visible to you)")
}

// ListUpstreams lists group's upstream credentials.
func (c *V1) ListUpstreams(ctx context.Context, group string) ([]apiwire.UpstreamCredential, error) {
	var out []apiwire.UpstreamCredential
	return out, c.do(ctx, http.MethodGet, "/upstream_credentials?group="+url.QueryEscape(group), nil, &out, "group "+group+" not found (or not visible to you)")
}

// Upstream acts on upstream credential id: "" reads it, "rotate" rotates
// its token now, "delete" revokes it upstream and forgets it.
func (c *V1) Upstream(ctx context.Context, id int64, action string) (*apiwire.UpstreamCredential, error) {
	method, path := http.MethodGet, "/upstream_credentials/"+strconv.FormatInt(id, 10)
	switch action {
	case "rotate":
		method, path = http.MethodPost, path+"/rotate"
	case "delete":
		method = http.MethodDelete
	}
	var out apiwire.UpstreamCredential
	return &out, c.do(ctx, method, path, nil, &out, "upstream credential "+strconv.FormatInt(id, 10)+" not found (or not visible to you)")
}

// ReportLeaks reports at most apiwire.MaxLeakItems leaked tokens for
// revocation; the answers are in the order of items.
func (c *V1) ReportLeaks(ctx context.Context, items []apiwire.LeakItem) ([]apiwire.LeakAnswer, error) {
	var out []apiwire.LeakAnswer
	if err := c.do(ctx, http.MethodPost, "/leaks", items, &out, "the leaks endpoint not found (or not visible to you)"); err != nil {
		return nil, err
	}
	if len(out) != len(items) {
		return nil, botgate.Errorf(botgate.KindInternal, "the server answered %d items for %d tokens", len(out), len(items))
	}
	return out, nil
}

// TokenUsage reads how token id was used through the gateway.
func (c *V1) TokenUsage(ctx context.Context, id int64) (*apiwire.TokenUsage, error) {
	var out apiwire.TokenUsage
	return &out, c.do(ctx, http.MethodGet, "/tokens/"+strconv.FormatInt(id, 10)+"/usage", nil, &out,
		fmt.Sprintf("token %d not found (or you may not manage it)", id))
}

func notVisible(kind, group, name string) string {
	return kind + " " + group + "/" + name + " not found (or not visible to you)"
}

// ReissueTokens rotates the manifest-managed tokens due for reissue (or,
// with DryRun, lists them) and returns the report, one entry per token.
func (c *V1) ReissueTokens(ctx context.Context, in apiwire.Reissue) (*apiwire.ReissueReport, error) {
	var out apiwire.ReissueReport
	return &out, c.do(ctx, http.MethodPost, "/tokens/reissue", in, &out, "group "+in.Team+" not found (or not visible to you)")
}
