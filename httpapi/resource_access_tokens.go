package httpapi

import (
	"net/http"
	"strconv"

	"github.com/botgate/botgate"
)

// Project and group access tokens: /projects/:id/access_tokens and
// /groups/:id/access_tokens, one set of handlers for both.

// resourceTokenID resolves the {token_id} segment: a number, or "self" for
// the token making the request.
func resourceTokenID(r *http.Request, c *call, res botgate.Resource) (int64, error) {
	v := r.PathValue("token_id")
	if v == "self" {
		return c.id.Token.ID, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, botgate.NotFound(string(res.Type) + " Access Token")
	}
	return id, nil
}

// resourceTokenOf resolves the project or group and the {token_id} of a
// route about one of its access tokens.
func (s *Server) resourceTokenOf(r *http.Request, c *call, typ botgate.ResourceType) (botgate.Resource, int64, error) {
	res, err := s.resourceOf(r, c, typ)
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	id, err := resourceTokenID(r, c, res)
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	return res, id, nil
}

func (s *Server) handleListResourceTokens(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		p, pg, err := s.readListParams(w, r)
		if err != nil {
			return err
		}
		q, err := readTokenQuery(p, pg)
		if err != nil {
			return err
		}
		toks, total, err := s.auth.ResourceTokens(r.Context(), c.actor, res, q)
		if err != nil {
			return err
		}
		return s.writeList(w, r, pg, total, s.tokenEntities(toks))
	}
}

func (s *Server) handleGetResourceToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, id, err := s.resourceTokenOf(r, c, typ)
		if err != nil {
			return err
		}
		t, err := s.auth.ResourceToken(r.Context(), c.actor, res, id)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, tokenEntity(t, s.auth.Now()))
	}
}

func (s *Server) handleCreateResourceToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		in, err := s.readNewToken(w, r)
		if err != nil {
			return err
		}
		out, err := s.auth.CreateResourceToken(r.Context(), c.actor, res, in)
		if botgate.IsKind(err, botgate.KindForbidden) {
			// GitLab answers a member without the right role with 400 and
			// this message (ResourceAccessTokens::CreateService).
			return botgate.Errorf(botgate.KindInvalid, "User does not have permission to create %s access token", typ)
		}
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusCreated, s.createdEntity(out))
	}
}

func (s *Server) handleRotateResourceToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, id, err := s.resourceTokenOf(r, c, typ)
		if err != nil {
			return err
		}
		if err := s.auth.CheckResourceToken(r.Context(), c.actor, res, id); err != nil {
			return hideFromNonAdmin(c, err)
		}
		return s.rotate(w, r, c, id)
	}
}

func (s *Server) handleRotateSelfResourceToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, err := s.resourceOf(r, c, typ)
		if err != nil {
			return err
		}
		if t := c.id.Token; t.Resource != res {
			return botgate.Errorf(botgate.KindInvalid, "the token used is not an access token of this %s", res.Type)
		}
		return s.rotate(w, r, c, c.id.Token.ID)
	}
}

func (s *Server) handleRevokeResourceToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		res, id, err := s.resourceTokenOf(r, c, typ)
		if err != nil {
			return err
		}
		if err := s.auth.CheckResourceToken(r.Context(), c.actor, res, id); err != nil {
			return err
		}
		if err := s.auth.RevokeToken(r.Context(), c.actor, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
