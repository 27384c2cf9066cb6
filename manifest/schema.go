package manifest

import _ "embed"

// schemaJSON is the JSON Schema (draft 2020-12) of the manifest.
//
//go:embed schema.json
var schemaJSON []byte

// Schema returns the manifest's JSON Schema, for editors and CI checks.
// Parse is stricter than the schema: it also checks references between
// sections and rules such as "a project token acts on one project".
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
