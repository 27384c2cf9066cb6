package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	return s
}

// resolve follows a local "$ref".
func resolve(root, node map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	cur := any(root)
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = cur.(map[string]any)[part]
	}
	return cur.(map[string]any)
}

// TestSchemaMatchesStruct walks the JSON Schema and the Go types together:
// the same keys at every level, the same required keys (a YAML tag without
// omitempty), and every object closed to unknown keys.
func TestSchemaMatchesStruct(t *testing.T) {
	root := loadSchema(t)
	var walk func(path string, node map[string]any, typ reflect.Type)
	walk = func(path string, node map[string]any, typ reflect.Type) {
		node = resolve(root, node)
		switch typ.Kind() {
		case reflect.Struct:
			if node["type"] != "object" || node["additionalProperties"] != false {
				t.Errorf("%s: schema must be a closed object (type object, additionalProperties false)", path)
			}
			props, _ := node["properties"].(map[string]any)
			var schemaKeys, goKeys, goRequired, schemaRequired []string
			for k := range props {
				schemaKeys = append(schemaKeys, k)
			}
			for _, r := range asSlice(node["required"]) {
				schemaRequired = append(schemaRequired, r.(string))
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				tag := f.Tag.Get("yaml")
				if !f.IsExported() || tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				goKeys = append(goKeys, name)
				if !strings.Contains(opts, "omitempty") {
					goRequired = append(goRequired, name)
				}
				sub, ok := props[name].(map[string]any)
				if ok {
					walk(path+"."+name, sub, f.Type)
				}
			}
			slices.Sort(schemaKeys)
			slices.Sort(goKeys)
			slices.Sort(goRequired)
			slices.Sort(schemaRequired)
			if !slices.Equal(schemaKeys, goKeys) {
				t.Errorf("%s: schema keys %v, Go keys %v", path, schemaKeys, goKeys)
			}
			if !slices.Equal(schemaRequired, goRequired) {
				t.Errorf("%s: schema required %v, Go required (no omitempty) %v", path, schemaRequired, goRequired)
			}
		case reflect.Slice:
			if node["type"] != "array" {
				t.Errorf("%s: schema type %v, want array", path, node["type"])
				return
			}
			walk(path+"[]", node["items"].(map[string]any), typ.Elem())
		}
	}
	walk("manifest", root, reflect.TypeOf(Manifest{}))
}

// TestSchemaAcceptsExample validates the example against schema.json with
// a small validator for the keywords the schema uses, and shows that the
// schema rejects what Parse rejects for the shape (unknown keys, bad enums).
func TestSchemaAcceptsExample(t *testing.T) {
	root := loadSchema(t)
	data, err := os.ReadFile("../examples/automations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"example", string(data), ""},
		{"unknown key", string(data) + "extra: 1\n", "additional property \"extra\""},
		{"typo in automation", strings.Replace(string(data), "    scopes: [read_api]", "    scope: [read_api]", 1), "additional property \"scope\""},
		{"bad scope", strings.Replace(string(data), "[read_api]", "[read_everything]", 1), "not in enum"},
		{"bad kind", strings.Replace(string(data), "kind: group_token", "kind: robot", 1), "not in enum"},
		{"missing owner", strings.Replace(string(data), "    owner: gitlab-org/delivery\n    description: Pushes", "    description: Pushes", 1), "missing required \"owner\""},
		{"bad rate", strings.Replace(string(data), "rate_limit: 300/min", "rate_limit: lots", 1), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			errs := validateSchema(root, root, doc, "$")
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Errorf("example does not validate against schema.json: %v", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tt.wantErr) {
				t.Errorf("want error containing %q, got %v", tt.wantErr, errs)
			}
		})
	}
}

// validateSchema checks v against the subset of JSON Schema that
// schema.json uses: type, properties, additionalProperties, required, enum,
// const, pattern, minLength, items, minItems, oneOf, $ref.
func validateSchema(root, s map[string]any, v any, at string) []string {
	s = resolve(root, s)
	var errs []string
	fail := func(f string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(f, args...)) }
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, a := range alts {
			if len(validateSchema(root, a.(map[string]any), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf", n)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if fmt.Sprint(x) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			fail("%v not in enum", v)
		}
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v is not %v", v, c)
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("not an object")
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, x := range m {
			p, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					fail("additional property %q", k)
				}
				continue
			}
			errs = append(errs, validateSchema(root, p, x, at+"."+k)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail("not an array")
			return errs
		}
		if n, ok := s["minItems"].(float64); ok && len(a) < int(n) {
			fail("fewer than %v items", n)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, x := range a {
				errs = append(errs, validateSchema(root, it, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("not a string")
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if n, ok := s["minLength"].(float64); ok && len(str) < int(n) {
			fail("shorter than %v", n)
		}
	case "integer":
		if _, ok := v.(int); !ok {
			fail("not an integer")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("not a boolean")
		}
	}
	return errs
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
