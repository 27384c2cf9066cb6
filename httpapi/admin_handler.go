package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// adminOnly serves h to administrators only (as
// authority.MayReadMetrics decides): the request must carry an
// administrator's token with a read scope (read_api or api), as
// authenticate reads it, and is refused 401 or 403 in
// GitLab's shape otherwise. Such requests do not spend the per-user API
// budget, so that a monitoring scrape keeps working when the shared
// limiter fails closed.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		id, meta, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if want := needRead.scopes(); !id.Token.Scopes.HasAny(want...) {
			return &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope, Message: botgate.Scopes(want).String()}
		}
		if !authority.MayReadMetrics(id.Actor(meta)) {
			return botgate.Errorf(botgate.KindForbidden, "only administrators may read this")
		}
		h.ServeHTTP(w, r)
		return nil
	})
}
