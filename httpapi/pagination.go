package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// Offset pagination, as GitLab's: page (default 1) and per_page (default
// 20, at most 100).
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// maxCountedRows is where GitLab stops counting: above it, X-Total,
	// X-Total-Pages and rel="last" are left out.
	maxCountedRows = 10000
)

// pager is the page a list request asked for.
type pager struct {
	page, perPage int
}

// readListParams reads the parameters of a list request and its
// pagination.
func (s *Server) readListParams(w http.ResponseWriter, r *http.Request) (*params, pager, error) {
	p, err := s.readParams(w, r)
	if err != nil {
		return nil, pager{}, err
	}
	pg, err := readPager(p)
	if err != nil {
		return nil, pager{}, err
	}
	return p, pg, nil
}

// readPager reads page and per_page. Values out of range are clamped, as
// GitLab does; non-numbers are rejected.
func readPager(p *params) (pager, error) {
	pg := pager{page: 1, perPage: defaultPerPage}
	if p.has("page") {
		v, err := strconv.Atoi(strings.TrimSpace(p.str("page")))
		if err != nil {
			return pg, invalidParam("page")
		}
		pg.page = max(v, 1)
	}
	if p.has("per_page") {
		v, err := strconv.Atoi(strings.TrimSpace(p.str("per_page")))
		if err != nil {
			return pg, invalidParam("per_page")
		}
		if v < 1 {
			v = defaultPerPage
		}
		pg.perPage = min(v, maxPerPage)
	}
	return pg, nil
}

// storePage is the store's view of the page.
func (pg pager) storePage() botgate.Page {
	return botgate.Page{Offset: (pg.page - 1) * pg.perPage, Limit: pg.perPage}
}

// setHeaders writes GitLab's pagination headers for a list of total rows
// (total < 0 when unknown; then hasNext says whether more follow) and an
// absolute Link header built from the request's own URL.
func (s *Server) setPageHeaders(w http.ResponseWriter, r *http.Request, pg pager, total int, hasNext bool) {
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(pg.page))
	h.Set("X-Per-Page", strconv.Itoa(pg.perPage))
	totalPages := 0
	counted := total >= 0 && total <= maxCountedRows
	if total >= 0 {
		totalPages = max((total+pg.perPage-1)/pg.perPage, 1)
		hasNext = pg.page < totalPages
	}
	next, prev := "", ""
	if hasNext {
		next = strconv.Itoa(pg.page + 1)
	}
	if pg.page > 1 {
		prev = strconv.Itoa(pg.page - 1)
		if total >= 0 && pg.page-1 > totalPages {
			prev = strconv.Itoa(totalPages)
		}
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	if counted {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	}
	base := s.requestBase(r) + r.URL.Path
	// Links never carry a credential, whatever spelling it came in.
	q, _ := url.ParseQuery(edge.StripQueryTokens(r.URL.RawQuery))
	q.Set("per_page", strconv.Itoa(pg.perPage))
	link := func(page int, rel string) string {
		q.Set("page", strconv.Itoa(page))
		return "<" + base + "?" + q.Encode() + ">; rel=\"" + rel + "\""
	}
	var links []string
	if prev != "" {
		v, _ := strconv.Atoi(prev)
		links = append(links, link(v, "prev"))
	}
	if next != "" {
		links = append(links, link(pg.page+1, "next"))
	}
	links = append(links, link(1, "first"))
	if counted {
		links = append(links, link(totalPages, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
}

// requestBase returns "scheme://host" as the client addressed the server:
// from the request itself, or from X-Forwarded-Proto and X-Forwarded-Host
// when a trusted proxy sent them.
func (s *Server) requestBase(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if _, fromProxy := s.trust.ClientIP(r.RemoteAddr, r.Header); fromProxy {
		if v := firstValue(r.Header.Get("X-Forwarded-Proto")); v == "http" || v == "https" {
			scheme = v
		}
		if v := firstValue(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			host = v
		}
	}
	return scheme + "://" + host
}

func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(v)
}

func validHost(h string) bool {
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.Path == "" && u.User == nil
}

// writeList writes one page of a list with its headers.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, pg pager, total int, items any) error {
	s.setPageHeaders(w, r, pg, total, false)
	return WriteJSON(w, http.StatusOK, items)
}
