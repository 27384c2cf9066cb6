package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// timeLayout is GitLab's date-time format: UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// ts formats a time as GitLab does ("2026-11-24T10:11:12.123Z").
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// tsPtr formats an optional time; nil stays null.
func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// datePtr formats an optional date ("2026-11-24"); nil stays null.
func datePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := t.UTC().Format(botgate.DateFormat)
	return &v
}

// emptyNil returns nil for "", so that it encodes as null.
func emptyNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// WriteError renders err as GitLab does: status from the error's kind, body
// in GitLab's shape. Internal causes are never shown.
func WriteError(w http.ResponseWriter, err error) {
	status, body := ErrorBody(err)
	WriteErrorBody(w, status, body)
}

// WriteErrorBody writes an error body from ErrorBody with its status, and
// the Bearer challenge GitLab sends with it.
func WriteErrorBody(w http.ResponseWriter, status int, body any) {
	if m, ok := body.(map[string]string); ok && m["error"] == "invalid_token" {
		// GitLab answers an invalid token through rack-oauth2's
		// Bearer::Unauthorized, which names the error in the challenge too.
		w.Header().Set("WWW-Authenticate", bearerChallenge(m["error"], m["error_description"]))
	}
	_ = WriteJSON(w, status, body)
}

// bearerRealm is the realm of GitLab's Bearer challenges (rack-oauth2's
// Rack::OAuth2::Server::Resource::DEFAULT_REALM).
const bearerRealm = "Protected by OAuth 2.0"

// bearerChallenge is the WWW-Authenticate value GitLab sends with an
// invalid_token 401 (RFC 6750, section 3).
func bearerChallenge(code, description string) string {
	return `Bearer realm="` + bearerRealm + `", error="` + code + `", error_description="` + description + `"`
}

// rendered is an error that an endpoint renders as its GitLab counterpart
// does, with its own status and body, where GitLab's endpoint departs
// from the common rendering (render_api_error! with a status of its own).
type rendered struct {
	status int
	body   any
	err    error
}

func (r *rendered) Error() string { return r.err.Error() }
func (r *rendered) Unwrap() error { return r.err }

// unprocessable renders a broken rule (KindInvalid, but not a parameter
// error) as 422 {"message":"<message>"}: GitLab's answer on the endpoints
// that pass a service's validation errors to render_api_error!(message,
// :unprocessable_entity), such as creating a personal access token.
// Other errors pass unchanged.
func unprocessable(err error) error {
	if botgate.KindOf(err) != botgate.KindInvalid {
		return err
	}
	msg := botgate.MessageOf(err)
	if f := botgate.FieldOf(err); msg == "" || (f != "" && isParamError(msg, f)) {
		return err
	}
	return &rendered{status: http.StatusUnprocessableEntity, body: map[string]string{"message": msg}, err: err}
}

// ErrorBody returns the status code and GitLab-shaped JSON body for err.
// It is the one place that words a status: the domain's messages are
// plain, and the status line GitLab puts before them ("")
// is chosen here from the error's kind and reason.
func ErrorBody(err error) (int, any) {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge, map[string]string{"message": "413 Request Entity Too Large"}
	}
	if errors.Is(err, errBodyTimeout) {
		return http.StatusRequestTimeout, map[string]string{"message": "408 Request Timeout - the request body did not arrive in time"}
	}
	if r := (*rendered)(nil); errors.As(err, &r) {
		return r.status, r.body
	}
	msg, reason := botgate.MessageOf(err), botgate.ReasonOf(err)
	switch botgate.KindOf(err) {
	case botgate.KindInvalid:
		if reason == botgate.ReasonTokenTypeUnsupported {
			// GitLab's /admin/token: render_api_error!(message, 422).
			return http.StatusUnprocessableEntity, map[string]string{"message": msg}
		}
		if msg == "" {
			msg = "Bad request"
		}
		if f := botgate.FieldOf(err); f != "" && isParamError(msg, f) {
			return http.StatusBadRequest, map[string]string{"error": msg}
		}
		return http.StatusBadRequest, map[string]string{"message": "400 Bad request - " + msg}
	case botgate.KindNotFound:
		// GitLab's own wording follows the code ("404 Project Not Found");
		// botgate's explanations follow the status line.
		switch {
		case msg == "":
			msg = "404 Not Found"
		case reason == botgate.ReasonNoRoute:
			msg = "404 Not Found - " + msg
		default:
			msg = "404 " + msg
		}
		return http.StatusNotFound, map[string]string{"message": msg}
	case botgate.KindConflict:
		// As for not found: "409 Member already exists" is GitLab's,
		// "409 Conflict - the group still has 2 projects; ..." botgate's.
		switch {
		case msg == "":
			msg = "409 Conflict"
		case reason == botgate.ReasonConcurrentChange || reason == botgate.ReasonNotEmpty:
			msg = "409 Conflict - " + msg
		default:
			msg = "409 " + msg
		}
		return http.StatusConflict, map[string]string{"message": msg}
	case botgate.KindUnauthenticated:
		switch reason {
		case botgate.ReasonTokenRevoked, botgate.ReasonTokenExpired:
			return http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": msg}
		case botgate.ReasonTokenMalformed:
			// The message says what to fix in how the credential was sent
			// (e.g. "tokens in the URL are refused").
			if msg != "" {
				return http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized - " + msg}
			}
		}
		// Nothing else says which check a token failed, nor what a
		// refusal answered as 401 hides.
		return http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"}
	case botgate.KindForbidden:
		switch {
		case reason == botgate.ReasonInsufficientScope:
			return http.StatusForbidden, map[string]string{
				"error":             "insufficient_scope",
				"error_description": "The request requires higher privileges than provided by the access token.",
				"scope":             msg,
			}
		case msg == "":
			msg = "403 Forbidden"
		case reason == botgate.ReasonUpstream:
			msg = "403 " + msg
		default:
			msg = "403 Forbidden - " + msg
		}
		return http.StatusForbidden, map[string]string{"message": msg}
	case botgate.KindRateLimited:
		return http.StatusTooManyRequests, map[string]any{"message": map[string]string{"error": orDefault(msg, "This endpoint has been requested too many times. Try again later.")}}
	}
	return http.StatusInternalServerError, map[string]string{"message": "500 Internal Server Error"}
}

// isParamError reports whether msg is a Grape-style parameter error
// ("name is missing", "scopes does not have a valid value").
func isParamError(msg, field string) bool {
	return len(msg) > len(field) && msg[:len(field)] == field &&
		(strings.Contains(msg, " is missing") || strings.Contains(msg, " are missing") || strings.Contains(msg, " does not have a valid value") || strings.Contains(msg, " is invalid"))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
