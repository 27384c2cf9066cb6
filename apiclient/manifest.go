package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/lint"
)

// ManifestOptions are the query parameters of the manifest endpoints.
type ManifestOptions struct {
	// Prune runs (apply) or counts (plan) the prune steps.
	Prune bool
	// RevealSecrets asks apply to hand back the secrets of the tokens it
	// issues (only to a caller who may read the owning team's vault).
	RevealSecrets bool
	// Lint are the lint rules' parameters (unused_days, expiring_days,
	// max_secret_readers, disable), for LintManifest.
	Lint url.Values
}

func (o ManifestOptions) query() string {
	q := url.Values{}
	for k, v := range o.Lint {
		q[k] = v
	}
	if o.Prune {
		q.Set("prune", "true")
	}
	if o.RevealSecrets {
		q.Set("reveal_secrets", "true")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// manifest posts the manifest (YAML) to /manifest/{what}.
func (c *V1) manifest(ctx context.Context, what string, yaml []byte, o ManifestOptions) (int, []byte, error) {
	if len(yaml) > apiwire.MaxManifestBody {
		return 0, nil, botgate.Errorf(botgate.KindInvalid, "the manifest is larger than the server takes (%d bytes): split it", apiwire.MaxManifestBody)
	}
	return c.send(ctx, http.MethodPost, "/manifest/"+what+o.query(), "application/yaml", bytes.NewReader(yaml))
}

const manifestNotFound = "the server does not serve the manifest endpoints (a botgate server older than this CLI?)"

// PlanManifest asks the server what applying the manifest would change,
// for the caller's teams.
func (c *V1) PlanManifest(ctx context.Context, yaml []byte, o ManifestOptions) (*apiwire.ManifestPlan, error) {
	return c.planLike(ctx, "plan", yaml, o)
}

// DriftManifest asks the server how the live state differs from the
// manifest, prune steps included.
func (c *V1) DriftManifest(ctx context.Context, yaml []byte, o ManifestOptions) (*apiwire.ManifestPlan, error) {
	return c.planLike(ctx, "drift", yaml, o)
}

func (c *V1) planLike(ctx context.Context, what string, yaml []byte, o ManifestOptions) (*apiwire.ManifestPlan, error) {
	code, raw, err := c.manifest(ctx, what, yaml, o)
	if err != nil {
		return nil, err
	}
	if code >= 300 {
		return nil, statusError(code, raw, manifestNotFound)
	}
	var out apiwire.ManifestPlan
	return &out, decodeAnswer(code, raw, &out)
}

// ApplyManifest applies the manifest on the server. When the apply stopped
// part way, the answer describing what was done is returned together with
// the error.
func (c *V1) ApplyManifest(ctx context.Context, yaml []byte, o ManifestOptions) (*apiwire.ManifestApply, error) {
	code, raw, err := c.manifest(ctx, "apply", yaml, o)
	if err != nil {
		return nil, err
	}
	if code >= 300 {
		serr := statusError(code, raw, manifestNotFound)
		var out apiwire.ManifestApply
		if json.Unmarshal(raw, &out) == nil && out.Plan != nil {
			return &out, serr
		}
		return nil, serr
	}
	var out apiwire.ManifestApply
	return &out, decodeAnswer(code, raw, &out)
}

// LintManifest lints the live instance against the manifest on the
// server, limited to the caller's teams.
func (c *V1) LintManifest(ctx context.Context, yaml []byte, o ManifestOptions) (*lint.Report, error) {
	code, raw, err := c.manifest(ctx, "lint", yaml, o)
	if err != nil {
		return nil, err
	}
	if code >= 300 {
		return nil, statusError(code, raw, manifestNotFound)
	}
	var out lint.Report
	if err := decodeAnswer(code, raw, &out); err != nil {
		return nil, err
	}
	out.Rules = lint.Rules()
	return &out, nil
}
