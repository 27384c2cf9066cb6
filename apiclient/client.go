package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate"
)

// Options tune the client New builds.
type Options struct {
	// HTTPClient is the HTTP client to use; nil means one with a 30 second
	// timeout.
	HTTPClient *http.Client
	// UserAgent identifies the CLI to the server.
	UserAgent string
	// Logger receives the client's warnings; nil discards them.
	Logger *slog.Logger
}

// New returns a GitLab client for r's URL (with /api/v4 appended) that
// authenticates with r's token in the Private-Token header. Only idempotent
// requests are retried, so a create is never sent twice.
func New(r Resolved, o Options) (*gitlab.Client, error) {
	if r.Token == "" {
		return nil, botgate.Errorf(botgate.KindUnauthenticated, "no token: run botgate login, or set %s", EnvToken)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// keepBody lets Explain read the body of a 404, which client-go drops.
	hc2 := *hc
	base := hc2.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc2.Transport = keepBody{base}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "botgate-cli/" + botgate.Version
	}
	c, err := gitlab.NewClient(r.Token,
		gitlab.WithBaseURL(r.URL+"/api/v4"),
		gitlab.WithHTTPClient(&hc2),
		gitlab.WithUserAgent(ua),
		gitlab.WithURLWarningLogger(log),
		gitlab.WithOnlyIdempotentRetries(),
		gitlab.WithCustomRetryMax(2),
	)
	if err != nil {
		return nil, fmt.Errorf("building the API client: %w", err)
	}
	return c, nil
}

// maxErrorBody bounds how much of an error body is kept.
const maxErrorBody = 64 << 10

// keptMessageHeader is a response header, set only inside this client, that
// carries the message of a 404 body.
const keptMessageHeader = "X-Botgate-Cli-Not-Found-Message"

// keepBody keeps the message of 404 responses, which client-go replaces
// with its ErrNotFound sentinel, dropping GitLab's words (e.g. "404 Project
// Not Found"): it stores the message in a response header for Explain.
type keepBody struct{ next http.RoundTripper }

func (k keepBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		return resp, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if msg := strings.Join(strings.Fields(parseBody(b).text), " "); msg != "" {
		resp.Header = resp.Header.Clone()
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		resp.Header.Set(keptMessageHeader, msg)
	}
	return resp, nil
}

// Explain turns an error from a client-go call into a *botgate.Error whose
// message says what went wrong and what to do. what names the thing the call
// was about (e.g. `project "team/app"`), used when it is not found. resp is
// the call's response, which may be nil.
//
// The kinds: KindUnauthenticated (401, no credentials), KindForbidden (403),
// KindNotFound (404), KindInvalid (400, 409, 422 and other 4xx),
// KindRateLimited (429), KindInternal (5xx, unreachable server, unexpected
// replies). The cause stays in the chain (errors.Is(err, gitlab.ErrNotFound)
// still works); messages never contain the token.
func Explain(err error, resp *gitlab.Response, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return botgate.E(botgate.KindInternal, err)
	}
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) {
		var ue *url.Error
		if errors.As(err, &ue) {
			host := ""
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Scheme + "://" + u.Host
			}
			return &botgate.Error{Kind: botgate.KindInternal, Err: err, Message: fmt.Sprintf(
				"cannot reach botgate at %s (%v): is 'botgate serve' running, and is the URL right (--url, %s, botgate login)?",
				host, rootCause(ue.Err), EnvURL)}
		}
		return &botgate.Error{Kind: botgate.KindInternal, Err: err, Message: fmt.Sprintf("unexpected reply from the server: %v", err)}
	}
	status := er.StatusCode
	var body []byte
	var hdr http.Header
	if resp != nil && resp.Response != nil {
		hdr = resp.Header
		if m := resp.Header.Get(keptMessageHeader); m != "" && status == http.StatusNotFound {
			body, _ = json.Marshal(map[string]string{"message": m})
		}
	}
	if er.Response != nil {
		hdr = er.Response.Header
	}
	if len(er.Body) > 0 {
		body = er.Body
	}
	p := parseBody(body)
	e := &botgate.Error{Err: err}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = botgate.KindUnauthenticated
		switch {
		case strings.Contains(p.description, "revoked"):
			e.Reason = botgate.ReasonTokenRevoked
			e.Message = "the token was revoked: run botgate login with a current token"
		case strings.Contains(p.description, "expired"):
			e.Reason = botgate.ReasonTokenExpired
			e.Message = "the token has expired: run botgate login with a current token"
		default:
			e.Message = "the token was rejected (expired or revoked?): run botgate login"
			if p.text != "" && p.text != "401 Unauthorized" {
				e.Message += " (server said: " + p.text + ")"
			}
		}
	case status == http.StatusForbidden && p.err == "insufficient_scope":
		e.Kind, e.Reason = botgate.KindForbidden, botgate.ReasonInsufficientScope
		scopes := strings.Fields(p.scope)
		if len(scopes) == 0 {
			e.Message = "the token's scopes do not allow this: use a token with the api scope"
		} else {
			e.Message = fmt.Sprintf("the token's scopes do not allow this: it needs the %s scope; create a token with --scopes %s",
				strings.Join(scopes, " or "), scopes[0])
		}
	case status == http.StatusForbidden:
		e.Kind = botgate.KindForbidden
		e.Message = "not allowed"
		if p.text != "" {
			e.Message += ": " + p.text
		}
		e.Message += " (ask an Owner or Maintainer, or an administrator)"
	case status == http.StatusNotFound:
		e.Kind = botgate.KindNotFound
		if what == "" {
			what = "the resource"
		}
		e.Message = fmt.Sprintf("%s not found, or not visible to this token", what)
		if p.text != "" {
			e.Message += " (server said: " + p.text + ")"
		}
	case status == http.StatusTooManyRequests:
		e.Kind = botgate.KindRateLimited
		e.Message = "rate limited by the server"
		if ra := hdr.Get("Retry-After"); ra != "" {
			e.Message += ": retry in " + ra + " s"
		}
		if p.text != "" {
			e.Message += " (" + p.text + ")"
		}
	case status >= 500:
		e.Kind = botgate.KindInternal
		e.Message = fmt.Sprintf("the server failed (HTTP %d)", status)
		if id := hdr.Get("X-Request-Id"); id != "" {
			e.Message += "; its log has the cause under request_id=" + id
		}
	default:
		e.Kind = botgate.KindInvalid
		e.Message = fmt.Sprintf("the server refused the request (HTTP %d)", status)
		if p.text != "" {
			e.Message = "the server refused the request: " + p.text
		}
	}
	return e
}

// errorBody is the useful part of a GitLab error body.
type errorBody struct {
	text        string // message or error, flattened
	err         string // the "error" field
	description string // the "error_description" field
	scope       string // the "scope" field of insufficient_scope
}

// parseBody reads GitLab's error shapes: {"message":"..."},
// {"message":{"field":["msg"]}}, {"error":"...","error_description":"..."}.
func parseBody(b []byte) errorBody {
	var raw map[string]any
	if len(b) == 0 || json.Unmarshal(b, &raw) != nil {
		return errorBody{}
	}
	var p errorBody
	p.err, _ = raw["error"].(string)
	p.description, _ = raw["error_description"].(string)
	p.scope, _ = raw["scope"].(string)
	switch m := raw["message"].(type) {
	case string:
		p.text = m
	case map[string]any:
		var parts []string
		for k, v := range m {
			parts = append(parts, k+" "+flatten(v))
		}
		sort.Strings(parts)
		p.text = strings.Join(parts, "; ")
	}
	if p.text == "" {
		p.text = p.err
		if p.description != "" {
			p.text = p.description
		}
	}
	return p
}

func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var s []string
		for _, x := range v {
			s = append(s, flatten(x))
		}
		return strings.Join(s, ", ")
	case map[string]any:
		var parts []string
		for k, x := range v {
			parts = append(parts, k+" "+flatten(x))
		}
		sort.Strings(parts)
		return strings.Join(parts, "; ")
	default:
		return fmt.Sprint(v)
	}
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
