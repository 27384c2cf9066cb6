package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
)

// Linter builds a lint report of the live instance (governance.Governor's
// Lint, over the automation records, live tokens and the gateway's usage).
type Linter func(ctx context.Context, cfg lint.Config) (*lint.Report, error)

// lintHandler serves GET /api/botgate/v1/lint with l, administrators
// only: the best-practice report of the instance as JSON
// (lint.Report.WriteJSON: time, counts, findings). Query parameters tune
// the rules: unused_days, expiring_days, max_secret_readers (positive
// integers) and disable (rule IDs, comma-separated). A server without a
// linter answers 404.
func (s *Server) lintHandler(l Linter) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error { return s.handleLint(w, r, c, l) }
}

func (s *Server) handleLint(w http.ResponseWriter, r *http.Request, c *call, l Linter) error {
	if u := c.actor.User; u == nil || !u.Admin || !u.Active() {
		return botgate.Errorf(botgate.KindForbidden, "the lint report is for administrators")
	}
	cfg, err := lintConfig(r)
	if err != nil {
		return err
	}
	rep, err := l(r.Context(), cfg)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return rep.WriteJSON(w)
}

// lintConfig reads the rules' query parameters: unused_days,
// expiring_days, max_secret_readers (positive integers) and disable (rule
// IDs, comma-separated).
func lintConfig(r *http.Request) (lint.Config, error) {
	var cfg lint.Config
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *int
	}{{"unused_days", &cfg.UnusedDays}, {"expiring_days", &cfg.ExpiringDays}, {"max_secret_readers", &cfg.MaxSecretReaders}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, botgate.Invalid(p.name, "%s is invalid: give a positive whole number", p.name)
		}
		*p.dst = n
	}
	if v := q.Get("disable"); v != "" {
		for _, id := range strings.Split(v, ",") {
			cfg.Disabled = append(cfg.Disabled, strings.TrimSpace(id))
		}
	}
	return cfg, nil
}
