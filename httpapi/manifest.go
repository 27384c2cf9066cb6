package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// Governance as a service, /api/botgate/v1/manifest/{plan,apply,lint,drift}:
// each takes an automations manifest as its YAML body (at most
// apiwire.MaxManifestBody bytes) and works for the caller through
// governance.Governor.As, which asks the authority to judge every step;
// nothing is decided here. Callers need a token with api or
// manage_automations.

// Governance plans, applies and lints manifests as an actor
// (governance.API over the server's Governor).
type Governance interface {
	// Plan answers the plan of m for a; prune counts prune steps as
	// changes.
	Plan(ctx context.Context, a authority.Actor, m *manifest.Manifest, prune bool) (apiwire.ManifestPlan, error)
	// Apply applies m as a; ok says whether out describes the apply (it
	// does, with err, when an apply stopped part way).
	Apply(ctx context.Context, a authority.Actor, m *manifest.Manifest, prune, reveal bool) (out apiwire.ManifestApply, ok bool, err error)
	// Lint lints the live instance against m, limited to a's teams.
	Lint(ctx context.Context, a authority.Actor, m *manifest.Manifest, cfg lint.Config) (*lint.Report, error)
}

type manifestHandlers struct {
	s   *Server
	gov Governance
}

// read reads and parses the manifest in the body.
func (h *manifestHandlers) read(w http.ResponseWriter, r *http.Request) (*manifest.Manifest, error) {
	body, err := readBody(w, r, apiwire.MaxManifestBody)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, botgate.Invalid("manifest", "the body is empty: send the automations manifest (YAML)")
	}
	m, err := manifest.ParseNamed("manifest", bytes.NewReader(body))
	if err != nil {
		return nil, botgate.Invalid("manifest", "%s", err.Error())
	}
	return m, nil
}

// plan answers POST /manifest/plan (and, with drift, /manifest/drift,
// where prune steps count as changes): apiwire.ManifestPlan.
func (h *manifestHandlers) plan(drift bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		prune, err := queryParams(r).flag("prune")
		if err != nil {
			return err
		}
		m, err := h.read(w, r)
		if err != nil {
			return err
		}
		out, err := h.gov.Plan(r.Context(), c.actor, m, prune || drift)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, out)
	}
}

// apply answers POST /manifest/apply: apiwire.ManifestApply, 200 when
// every step ran, or the error's status (403 naming every refused step,
// 409 while another apply runs) with the same body when it stopped.
// Query: prune, reveal_secrets.
func (h *manifestHandlers) apply(w http.ResponseWriter, r *http.Request, c *call) error {
	q := queryParams(r)
	prune, err := q.flag("prune")
	if err != nil {
		return err
	}
	reveal, err := q.flag("reveal_secrets")
	if err != nil {
		return err
	}
	m, err := h.read(w, r)
	if err != nil {
		return err
	}
	out, ok, err := h.gov.Apply(r.Context(), c.actor, m, prune, reveal)
	if err != nil {
		if !ok || len(out.Tokens) == 0 {
			return err
		}
		// Tokens were issued before the failure: their references (and
		// revealed secrets) must reach the caller.
		status, _ := ErrorBody(err)
		return WriteJSON(w, status, out)
	}
	return WriteJSON(w, http.StatusOK, out)
}

// lint answers POST /manifest/lint: the lint report of the live instance
// against the manifest (lint.Report.WriteJSON), limited to the caller's
// teams unless it is an administrator. Query: the parameters of GET /lint.
func (h *manifestHandlers) lint(w http.ResponseWriter, r *http.Request, c *call) error {
	cfg, err := lintConfig(r)
	if err != nil {
		return err
	}
	m, err := h.read(w, r)
	if err != nil {
		return err
	}
	rep, err := h.gov.Lint(r.Context(), c.actor, m, cfg)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return rep.WriteJSON(w)
}
