package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// listOrder is how a list endpoint takes order_by and sort: the values
// GitLab allows (each mapped to the store's field; "" for one botgate
// orders by creation, keeping no later time), GitLab's default field, and
// descending by default, as GitLab's lists are.
type listOrder struct {
	fields map[string]string
	def    string
}

// usersOrder is GET /users's (lib/api/users.rb: id, name, username,
// created_at, updated_at; default id, desc).
var usersOrder = listOrder{
	fields: map[string]string{"id": "id", "name": "name", "username": "username", "created_at": "created_at", "updated_at": "created_at"},
	def:    "id",
}

// projectsOrder is GET /projects's and /groups/:id/projects' (default
// created_at, desc); last_activity_at and updated_at order by creation.
var projectsOrder = listOrder{
	fields: map[string]string{"id": "id", "name": "name", "path": "path", "created_at": "created_at",
		"updated_at": "created_at", "last_activity_at": "created_at"},
	def: "created_at",
}

// read reads order_by and sort; a value GitLab would not accept is
// refused as Grape refuses it (400 {"error":"order_by does not have a
// valid value"}).
func (o listOrder) read(p *params) (botgate.OrderBy, error) {
	by := o.def
	if p.has("order_by") {
		by = p.str("order_by")
	}
	field, ok := o.fields[by]
	if !ok {
		return botgate.OrderBy{}, botgate.Invalid("order_by", "order_by does not have a valid value")
	}
	desc := true
	if p.has("sort") {
		switch p.str("sort") {
		case "asc":
			desc = false
		case "desc":
		default:
			return botgate.OrderBy{}, botgate.Invalid("sort", "sort does not have a valid value")
		}
	}
	return botgate.OrderBy{Field: field, Desc: desc}, nil
}

// keyset is a keyset-paginated request (pagination=keyset): ordered by id,
// continued with id_after (ascending) or id_before (descending).
type keyset struct {
	on   bool
	desc bool
}

// readKeyset reads pagination=keyset for a list ordered by o; GitLab pages
// by keyset only when ordering by id (otherwise 405, as
// Gitlab::Pagination::Keyset refuses an unsupported order).
func readKeyset(p *params, o botgate.OrderBy) (keyset, error) {
	switch p.str("pagination") {
	case "", "offset":
		return keyset{}, nil
	case "keyset":
	default:
		return keyset{}, botgate.Invalid("pagination", "pagination does not have a valid value")
	}
	if o.Field != "id" {
		return keyset{}, &rendered{status: http.StatusMethodNotAllowed,
			body: map[string]string{"message": "405 Method Not Allowed - Keyset pagination is not yet available for this type of request"},
			err:  botgate.Invalid("pagination", "keyset pagination needs order_by=id")}
	}
	return keyset{on: true, desc: o.Desc}, nil
}

// writeKeysetList writes one keyset page: GitLab sends no totals and no
// page numbers, only X-Per-Page and a Link rel="next" whose id_after (or
// id_before, descending) continues after the page's last row, when more
// rows follow (matching, the count of rows past the cursor, tells).
func (s *Server) writeKeysetList(w http.ResponseWriter, r *http.Request, pg pager, k keyset, matching int, lastID int64, items any) error {
	h := w.Header()
	h.Set("X-Per-Page", strconv.Itoa(pg.perPage))
	if matching > pg.perPage && lastID != 0 {
		q, _ := url.ParseQuery(edge.StripQueryTokens(r.URL.RawQuery))
		q.Del("page")
		q.Del("id_after")
		q.Del("id_before")
		q.Set("per_page", strconv.Itoa(pg.perPage))
		if k.desc {
			q.Set("id_before", strconv.FormatInt(lastID, 10))
		} else {
			q.Set("id_after", strconv.FormatInt(lastID, 10))
		}
		h.Set("Link", "<"+s.requestBase(r)+r.URL.Path+"?"+q.Encode()+">; rel=\"next\"")
	}
	return WriteJSON(w, http.StatusOK, items)
}
