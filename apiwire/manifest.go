package apiwire

import "github.com/botgate/botgate/manifest"

// MaxManifestBody is the largest manifest (YAML) the /manifest endpoints
// read; a larger body is refused with 413.
const MaxManifestBody = 2 << 20

// ManifestRefusal is a step of a plan its actor may not take, and why.
type ManifestRefusal struct {
	Op     manifest.Op `json:"op"`
	Object string      `json:"object"`
	Reason string      `json:"reason"`
	// Prune marks a prune step outside the actor's teams: left out, not
	// refused.
	Prune bool `json:"prune,omitempty"`
}

// ManifestPlan is the answer of POST /manifest/plan and /manifest/drift:
// the steps the caller may take, the steps refused (apply refuses the
// plan while there are any) and the prune steps left out as outside the
// caller's teams.
type ManifestPlan struct {
	Plan         *manifest.Changes `json:"plan"`
	Refused      []ManifestRefusal `json:"refused"`
	OutsideScope []ManifestRefusal `json:"outside_scope"`
	// All says the caller may apply every part of a manifest (an
	// administrator).
	All bool `json:"all"`
	// Changes says whether the live state differs from the manifest in
	// the caller's view: steps to take (prune steps counted only when
	// asked for) or steps refused.
	Changes bool `json:"changes"`
}

// IssuedToken is a token an apply issued. Secret is set only when
// reveal_secrets was asked for (and allowed), or when the server keeps no
// vault.
type IssuedToken struct {
	Automation string  `json:"automation"`
	TokenID    int64   `json:"token_id"`
	ExpiresAt  *string `json:"expires_at"`
	SecretRef  string  `json:"secret_ref,omitempty"`
	Secret     string  `json:"secret,omitempty"`
}

// ManifestApply is the answer of POST /manifest/apply (and 'botgate apply
// --output json' offline): the plan, how many of its steps ran, the tokens
// issued, the automation records pruned, and the error that stopped the
// apply, if one did.
type ManifestApply struct {
	ManifestPlan
	Steps          int           `json:"steps_applied"`
	Tokens         []IssuedToken `json:"tokens"`
	RemovedRecords []string      `json:"removed_records,omitempty"`
	Error          string        `json:"error,omitempty"`
}
