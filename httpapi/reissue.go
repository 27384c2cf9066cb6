package httpapi

import (
	"context"
	"net/http"

	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
)

// Reissuer rotates the manifest-managed tokens due for reissue, as the
// actor (governance.Governor's Reissue); the authority decides what the
// actor may reissue.
type Reissuer func(ctx context.Context, a authority.Actor, req apiwire.Reissue) (*apiwire.ReissueReport, error)

// reissueHandler serves POST /api/botgate/v1/tokens/reissue: the body is
// an apiwire.Reissue, the answer an apiwire.ReissueReport (200 even when
// some tokens failed: each entry says so). The token needs the api scope.
func (s *Server) reissueHandler(re Reissuer) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var req apiwire.Reissue
		if err := s.decodeJSONBody(w, r, &req, `a JSON object such as {"expiring_within": "30d"}`); err != nil {
			return err
		}
		rep, err := re(r.Context(), c.actor, req)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, rep)
	}
}
