package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/scan"
)

// LeakNotifier tells a token's owning team that the token was reported
// leaked and revoked. The gateway implements it with the team webhooks of
// its configuration. NotifyLeak must not block: deliver in the background.
type LeakNotifier interface {
	NotifyLeak(t *botgate.Token, u *botgate.User, location string)
}

// LeakTokenType is the one token type the leaks endpoint handles, in the
// words of GitLab's secret detection and token revocation API.
const LeakTokenType = apiwire.LeakTokenType

// MaxLeakItems bounds the items of one POST /api/botgate/v1/leaks.
const MaxLeakItems = apiwire.MaxLeakItems

// mayReportLeaks says whether the credential itself may use the leaks
// endpoint: a token with revoke_leaked, or an administrator's token with
// api (as DELETE /admin/token needs).
func mayReportLeaks(c *call) bool {
	t := c.id.Token
	return t.Scopes.Has(botgate.ScopeRevokeLeaked) || (c.id.User.Admin && t.Scopes.Has(botgate.ScopeAPI))
}

// handleLeaks is POST /api/botgate/v1/leaks: a secret-detection pipeline
// reports tokens it found; each active token of this instance is revoked,
// audited (token.leaked, with the URL) and its team told. A caller that may
// not report leaks is refused before the body is read, so it learns
// nothing about any string.
func (s *Server) handleLeaks(w http.ResponseWriter, r *http.Request, c *call) error {
	if !mayReportLeaks(c) {
		return &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope,
			Message: string(botgate.ScopeRevokeLeaked) + " " + string(botgate.ScopeAPI)}
	}
	var items []apiwire.LeakItem
	if err := s.decodeJSONBody(w, r, &items, "a JSON array of {type, token, url}"); err != nil {
		return err
	}
	if len(items) > MaxLeakItems {
		return botgate.Invalid("", "at most %d tokens per request", MaxLeakItems)
	}
	out := make([]apiwire.LeakAnswer, 0, len(items))
	for _, it := range items {
		a := apiwire.LeakAnswer{Type: it.Type, URL: it.URL}
		if it.Token != "" {
			a.URL = strings.ReplaceAll(it.URL, it.Token, "[REDACTED]")
		}
		switch {
		case it.Type != "" && it.Type != LeakTokenType:
			a.Status = "unsupported_type"
		case it.Token == "":
			a.Status = "invalid"
		default:
			a.Fingerprint = scan.Fingerprint(it.Token)
			res, err := s.reportLeak(r, c.actor, it.Token, it.URL)
			if err != nil {
				return err
			}
			a.Status = string(res.Status)
			if res.Token != nil {
				a.TokenID = res.Token.ID
			}
		}
		out = append(out, a)
	}
	return WriteJSON(w, http.StatusOK, out)
}

// decodeJSONBody decodes the request's body, one JSON value within the
// body limit, into v; a body that is not shape ("a JSON array of …") is
// KindInvalid saying so, without quoting it.
func (s *Server) decodeJSONBody(w http.ResponseWriter, r *http.Request, v any, shape string) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxBody))
	err := dec.Decode(v)
	switch {
	case err == nil && dec.More():
		return botgate.Invalid("", "the body must be one value, %s", shape)
	case err == nil:
		return nil
	case bodyLimitError(err) != nil:
		return bodyLimitError(err)
	case errors.Is(err, io.EOF):
		return botgate.Invalid("", "the body must be %s", shape)
	}
	return botgate.Invalid("", "the body must be %s: %s", shape, jsonProblem(err))
}

// jsonProblem describes a JSON decoding error without quoting the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return "a value has the wrong type"
	}
	return "it is not valid JSON"
}
