package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// Service accounts: the instance's (/service_accounts, administrators) and
// those of groups and projects (/groups/:id/service_accounts,
// /projects/:id/service_accounts), with their personal access tokens.

// serviceAccountJSON is GitLab's service account entity.
type serviceAccountJSON struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Email    string `json:"email"`
}

func serviceAccountEntity(u *botgate.User) serviceAccountJSON {
	return serviceAccountJSON{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email}
}

// ownerOf resolves the owner of a service account route: the instance
// (typ "") or the project or group in {id}.
func (s *Server) ownerOf(r *http.Request, c *call, typ botgate.ResourceType) (botgate.Resource, error) {
	if typ == "" {
		return botgate.Resource{}, nil
	}
	return s.resourceOf(r, c, typ)
}

func (s *Server) handleListServiceAccounts(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, err := s.ownerOf(r, c, typ)
		if err != nil {
			return err
		}
		p, pg, err := s.readListParams(w, r)
		if err != nil {
			return err
		}
		us, total, err := s.auth.ServiceAccounts(r.Context(), c.actor, authority.ServiceAccountQuery{
			Owner: owner, OrderBy: p.str("order_by"), Sort: p.str("sort"), Page: pg.storePage(),
		})
		if err != nil {
			return err
		}
		out := make([]serviceAccountJSON, len(us))
		for i, u := range us {
			out[i] = serviceAccountEntity(u)
		}
		return s.writeList(w, r, pg, total, out)
	}
}

func (s *Server) handleCreateServiceAccount(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, err := s.ownerOf(r, c, typ)
		if err != nil {
			return err
		}
		p, err := s.readParams(w, r)
		if err != nil {
			return err
		}
		u, err := s.auth.CreateServiceAccount(r.Context(), c.actor, owner, authority.NewServiceAccount{
			Name: p.str("name"), Username: p.str("username"), Email: p.str("email"),
		})
		if err != nil {
			return err
		}
		if typ == "" {
			// client-go decodes the instance route's answer as a full User.
			j := s.userEntity(r, u, u)
			j.IsAdmin = nil
			return WriteJSON(w, http.StatusCreated, j)
		}
		return WriteJSON(w, http.StatusCreated, serviceAccountEntity(u))
	}
}

// serviceAccountID reads the service account's id from {user_id} (or {id}
// on the instance routes).
func serviceAccountID(r *http.Request, typ botgate.ResourceType) (int64, error) {
	name := "user_id"
	if typ == "" {
		name = "id"
	}
	return pathID(r, name, "User")
}

// serviceAccountOf resolves the owner and the service account id of a
// route about one service account.
func (s *Server) serviceAccountOf(r *http.Request, c *call, typ botgate.ResourceType) (botgate.Resource, int64, error) {
	owner, err := s.ownerOf(r, c, typ)
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	id, err := serviceAccountID(r, typ)
	if err != nil {
		return botgate.Resource{}, 0, err
	}
	return owner, id, nil
}

func (s *Server) handleUpdateServiceAccount(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, id, err := s.serviceAccountOf(r, c, typ)
		if err != nil {
			return err
		}
		p, err := s.readParams(w, r)
		if err != nil {
			return err
		}
		u, err := s.auth.UpdateServiceAccount(r.Context(), c.actor, owner, id, authority.ServiceAccountUpdate{
			Name: p.strPtr("name"), Username: p.strPtr("username"), Email: p.strPtr("email"),
		})
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, serviceAccountEntity(u))
	}
}

func (s *Server) handleDeleteServiceAccount(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, id, err := s.serviceAccountOf(r, c, typ)
		if err != nil {
			return err
		}
		p, err := s.readParams(w, r)
		if err != nil {
			return err
		}
		if _, err := p.boolPtr("hard_delete"); err != nil {
			return err
		}
		if err := s.auth.DeleteServiceAccount(r.Context(), c.actor, owner, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handleListServiceAccountTokens(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, id, err := s.serviceAccountOf(r, c, typ)
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
		toks, total, err := s.auth.ServiceAccountTokens(r.Context(), c.actor, owner, id, q)
		if err != nil {
			return err
		}
		return s.writeList(w, r, pg, total, s.tokenEntities(toks))
	}
}

func (s *Server) handleCreateServiceAccountToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		owner, id, err := s.serviceAccountOf(r, c, typ)
		if err != nil {
			return err
		}
		if _, err := s.auth.ServiceAccount(r.Context(), c.actor, owner, id); err != nil {
			return err
		}
		in, err := s.readNewToken(w, r)
		if err != nil {
			return unprocessable(err)
		}
		out, err := s.auth.CreateServiceAccountToken(r.Context(), c.actor, id, in)
		if err != nil {
			return unprocessable(err)
		}
		return WriteJSON(w, http.StatusCreated, s.createdEntity(out))
	}
}

// serviceAccountToken checks the {token_id} of a service account token
// route and returns it.
func (s *Server) serviceAccountToken(r *http.Request, c *call, typ botgate.ResourceType) (int64, error) {
	owner, id, err := s.serviceAccountOf(r, c, typ)
	if err != nil {
		return 0, err
	}
	tid, err := pathID(r, "token_id", "Token")
	if err != nil {
		return 0, err
	}
	return tid, s.auth.CheckServiceAccountToken(r.Context(), c.actor, owner, id, tid)
}

func (s *Server) handleRevokeServiceAccountToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		tid, err := s.serviceAccountToken(r, c, typ)
		if err != nil {
			return err
		}
		if err := s.auth.RevokeToken(r.Context(), c.actor, tid); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handleRotateServiceAccountToken(typ botgate.ResourceType) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		tid, err := s.serviceAccountToken(r, c, typ)
		if err != nil {
			return err
		}
		return s.rotate(w, r, c, tid)
	}
}

// handleDeleteUser retires a user: a service account through its owner's
// rules, anyone else by deactivation (administrators).
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "User")
	if err != nil {
		return err
	}
	u, err := s.auth.User(r.Context(), id)
	if err != nil {
		return err
	}
	if u.Kind == botgate.ServiceAccount {
		err = s.auth.DeleteServiceAccount(r.Context(), c.actor, u.Owner, u.ID)
	} else {
		err = s.auth.DeactivateUser(r.Context(), c.actor, u.ID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
