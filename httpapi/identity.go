package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/botgate/botgate/identity"
)

// Exchanger exchanges a workload's identity token for a token of an
// automation (identity.Exchanger).
type Exchanger interface {
	Exchange(ctx context.Context, req identity.Request) (*identity.Response, error)
}

// exchangeHandler serves POST /api/botgate/v1/identity/token: OAuth 2.0
// Token Exchange (RFC 8693) of a workload identity token (form fields
// grant_type, subject_token, subject_token_type, audience or resource
// naming the automation, and botgate's optional expires_in in seconds).
// The caller is not authenticated otherwise: the identity token is the
// credential. Answers are RFC 6749 JSON, never cached; a refusal says which
// condition failed. Credentials in the query string are refused, so that
// none lands in an access log.
func (s *Server) exchangeHandler(x Exchanger) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		if r.URL.RawQuery != "" {
			return writeOAuthError(w, &identity.Error{Code: identity.CodeInvalidRequest,
				Description: "send the parameters in the form-encoded body, not the query string (they hold a credential)"})
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			return writeOAuthError(w, &identity.Error{Code: identity.CodeInvalidRequest,
				Description: "the body must be application/x-www-form-urlencoded (RFC 8693)"})
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		if err := r.ParseForm(); err != nil {
			return writeOAuthError(w, &identity.Error{Code: identity.CodeInvalidRequest, Description: "the form body could not be read"})
		}
		f := r.PostForm
		for _, k := range []string{"grant_type", "subject_token", "subject_token_type", "audience", "resource", "expires_in", "requested_token_type"} {
			if len(f[k]) > 1 {
				return writeOAuthError(w, &identity.Error{Code: identity.CodeInvalidRequest, Description: k + " is given more than once"})
			}
		}
		req := identity.Request{GrantType: f.Get("grant_type"), SubjectToken: f.Get("subject_token"),
			SubjectTokenType: f.Get("subject_token_type"), Audience: f.Get("audience"), Resource: f.Get("resource"),
			RequestedTokenType: f.Get("requested_token_type"),
			UserAgent:          r.UserAgent()}
		req.IP, _ = s.trust.ClientIP(r.RemoteAddr, r.Header)
		if v := f.Get("expires_in"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return writeOAuthError(w, &identity.Error{Code: identity.CodeInvalidRequest, Description: "expires_in must be a positive number of seconds"})
			}
			req.TTL = time.Duration(n) * time.Second
		}
		resp, err := x.Exchange(r.Context(), req)
		var refusal *identity.Error
		if errors.As(err, &refusal) {
			s.log.Info("token exchange refused", "request_id", w.Header().Get("X-Request-Id"),
				"automation", req.Audience+req.Resource, "error", refusal.Code, "reason", refusal.Description, "ip", req.IP)
			return writeOAuthError(w, refusal)
		}
		if err != nil {
			s.log.Error("token exchange failed", "request_id", w.Header().Get("X-Request-Id"), "err", err)
			return writeOAuthError(w, &identity.Error{Code: identity.CodeServerError, Description: "the exchange failed on botgate's side; try again"})
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(resp)
	}
}

// writeOAuthError writes an RFC 6749 section 5.2 error: 400, or 503 and
// 500 for temporarily_unavailable and server_error.
func writeOAuthError(w http.ResponseWriter, e *identity.Error) error {
	status := http.StatusBadRequest
	switch e.Code {
	case identity.CodeTemporarilyUnavail:
		status = http.StatusServiceUnavailable
	case identity.CodeServerError:
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(e)
}
