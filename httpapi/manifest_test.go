package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/internal/golden"
)

// TestManifestRequestErrors records, byte for byte in
// testdata/manifest_errors.golden, the answer of the manifest routes to a
// bad query flag, an empty, oversized or unparsable body, and that an
// empty flag reads as false.
func TestManifestRequestErrors(t *testing.T) {
	e := newGovernedEnv(t, nil)
	const v1 = "/api/botgate/v1/manifest"
	ok := "version: 1\nteams: [{path: platform}]\n"
	cases := []struct {
		name, path, body string
	}{
		{"a flag neither true nor false", v1 + "/plan?prune=maybe", ok},
		{"a second flag neither true nor false", v1 + "/apply?prune=true&reveal_secrets=yes", ok},
		{"an empty flag reads as false", v1 + "/plan?prune=", ok},
		{"an empty body", v1 + "/plan", ""},
		{"a body above the limit", v1 + "/lint", strings.Repeat("#", apiwire.MaxManifestBody+1)},
		{"a body that is not a manifest", v1 + "/drift", "version: [1\n"},
	}
	var out strings.Builder
	for _, c := range cases {
		res := e.do("POST", c.path, e.root, "application/yaml", strings.NewReader(c.body))
		body := string(res.body)
		if res.status == http.StatusOK {
			body = "(the plan)"
		}
		fmt.Fprintf(&out, "== %s\nPOST %s\n%d\n%s\n\n", c.name, c.path, res.status, strings.TrimSpace(body))
	}
	golden.Check(t, "manifest_errors.golden", []byte(out.String()))
}

// newGovernedEnv is newEnvWith with governance as a service (the manifest
// routes) on.
func newGovernedEnv(t *testing.T, configure func(*httpapi.Config)) *env {
	t.Helper()
	return newEnvWith(t, func(cfg *httpapi.Config) {
		if configure != nil {
			configure(cfg)
		}
		gov, err := governance.New(governance.Config{Authority: cfg.Authority, Store: cfg.Store, Logger: cfg.Logger})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Governance = governance.API{Governor: gov}
	})
}
