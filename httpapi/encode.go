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
	_ = WriteJSON(w, status, body)
}

// ErrorBody returns the status code and GitLab-shaped JSON body for err.
func ErrorBody(err error) (int, any) {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge, map[string]string{"message": "413 Request Entity Too Large"}
	}
	if errors.Is(err, errBodyTimeout) {
		return http.StatusRequestTimeout, map[string]string{"message": "408 Request Timeout - the request body did not arrive in time"}
	}
	msg := botgate.MessageOf(err)
	switch botgate.KindOf(err) {
	case botgate.KindInvalid:
		if msg == "" {
			msg = "Bad request"
		}
		if f := botgate.FieldOf(err); f != "" && isParamError(msg, f) {
			return http.StatusBadRequest, map[string]string{"error": msg}
		}
		return http.StatusBadRequest, map[string]string{"message": "400 Bad request - " + msg}
	case botgate.KindNotFound:
		if msg == "" {
			msg = "Not Found"
		}
		return http.StatusNotFound, map[string]string{"message": "404 " + msg}
	case botgate.KindConflict:
		if msg == "" {
			msg = "Conflict"
		}
		return http.StatusConflict, map[string]string{"message": prefixed("409", msg)}
	case botgate.KindUnauthenticated:
		switch botgate.ReasonOf(err) {
		case botgate.ReasonTokenRevoked, botgate.ReasonTokenExpired:
			return http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": msg}
		}
		// The message says what to fix (e.g. the gateway's "tokens in the
		// URL are refused"); it never says which check a token failed.
		return http.StatusUnauthorized, map[string]string{"message": prefixed("401", orDefault(msg, "Unauthorized"))}
	case botgate.KindForbidden:
		if botgate.ReasonOf(err) == botgate.ReasonInsufficientScope {
			return http.StatusForbidden, map[string]string{
				"error":             "insufficient_scope",
				"error_description": "The request requires higher privileges than provided by the access token.",
				"scope":             msg,
			}
		}
		if msg == "" {
			msg = "403 Forbidden"
		}
		return http.StatusForbidden, map[string]string{"message": prefixed("403", msg)}
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

func prefixed(code, msg string) string {
	if len(msg) >= 3 && msg[:3] == code {
		return msg
	}
	return code + " " + msg
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
