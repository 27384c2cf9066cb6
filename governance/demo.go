package governance

import (
	"bytes"
	"context"
	_ "embed"
	"io"

	"github.com/botgate/botgate/manifest"
)

// exampleManifest is a copy of examples/automations.yaml, embedded so that
// `botgate serve --demo` works from any directory; a test keeps the two
// identical.
//
//go:embed automations.yaml
var exampleManifest []byte

// ExampleManifestName is the name the embedded example is parsed under.
const ExampleManifestName = "examples/automations.yaml"

// ExampleManifest returns the seed automations manifest
// (examples/automations.yaml), parsed.
func ExampleManifest() (*manifest.Manifest, error) {
	return manifest.ParseNamed(ExampleManifestName, bytes.NewReader(exampleManifest))
}

// ExampleManifestSource returns the example manifest's YAML.
func ExampleManifestSource() []byte { return bytes.Clone(exampleManifest) }

// Demo applies the example manifest, so that a new instance has the seed
// automations' teams, projects, service accounts and tokens. It is
// idempotent: on an instance where the example is applied already it
// changes nothing and issues no token. New token secrets go to the vault if
// the Governor has one; they are also returned (the demo shows them once).
// Progress lines go to progress.
func (g *Governor) Demo(ctx context.Context, progress io.Writer) (*ApplyResult, error) {
	m, err := ExampleManifest()
	if err != nil {
		return nil, err
	}
	unlock, err := g.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ch, err := g.Plan(ctx, m)
	if err != nil {
		return nil, err
	}
	return g.Apply(ctx, ch, ApplyOptions{ShowSecrets: true, Progress: progress})
}
