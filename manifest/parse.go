package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/botgate/botgate"
	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest manifest Parse reads.
const MaxSize = 8 << 20

// Problem is one thing wrong with a manifest: where, and what to do.
type Problem struct {
	Position
	// Path is the value's place in the document, e.g. "automations[1].scopes".
	Path string `json:"path,omitempty"`
	// Message says what is wrong and what to write instead.
	Message string `json:"message"`
}

// String writes the problem as "file:line:column: path: message".
func (p *Problem) String() string {
	if p.Path == "" {
		return p.Position.String() + ": " + p.Message
	}
	return p.Position.String() + ": " + p.Path + ": " + p.Message
}

// Errors is every problem Parse found, in file order. It unwraps to a
// KindInvalid *botgate.Error whose message lists them all.
type Errors struct {
	Problems []*Problem
}

// Error lists the problems, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the error kind (KindInvalid) to botgate.KindOf.
func (e *Errors) Unwrap() error {
	return &botgate.Error{Op: "manifest.Parse", Kind: botgate.KindInvalid, Message: e.Error()}
}

// ParseFile reads and parses the manifest at path; problems name the path.
func ParseFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, botgate.E("manifest.ParseFile", botgate.KindInvalid, err)
	}
	defer f.Close()
	return ParseNamed(path, f)
}

// Parse reads a manifest from r, strictly: unknown keys, wrong types and
// broken references are errors, and all of them are reported at once as an
// *Errors (KindInvalid) with line and column.
func Parse(r io.Reader) (*Manifest, error) { return ParseNamed("", r) }

// ParseNamed is Parse with the file name used in problem positions.
func ParseNamed(name string, r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, botgate.E("manifest.Parse", botgate.KindInvalid, err)
	}
	if len(data) > MaxSize {
		return nil, &Errors{Problems: []*Problem{{Position: Position{File: name}, Message: fmt.Sprintf("the manifest is larger than %d bytes; split it", MaxSize)}}}
	}
	p := &parser{file: name, positions: map[string]Position{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(Position{Line: 1, Column: 1}, "", "the manifest is empty: start with `version: 1`")
			return nil, p.errors()
		}
		p.add(yamlErrPos(err, data), "", "not valid YAML: "+yamlErrMsg(err))
		return nil, p.errors()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(Position{Line: extra.Line, Column: extra.Column}, "", "the file holds more than one YAML document: keep one manifest per file")
		return nil, p.errors()
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	p.walk(root, reflect.TypeOf(Manifest{}), "")
	if p.shapeBroken {
		// Values of the wrong kind: checking references on a half-decoded
		// manifest would only add noise.
		return nil, p.errors()
	}
	m := &Manifest{}
	if err := root.Decode(m); err != nil {
		// The walk checked every type, so this is unexpected; report it as
		// a problem anyway rather than lose it.
		p.add(yamlErrPos(err, data), "", yamlErrMsg(err))
		return nil, p.errors()
	}
	m.file = name
	m.positions = p.positions
	p.validate(m)
	if len(p.problems) > 0 {
		return nil, p.errors()
	}
	return m, nil
}

type parser struct {
	file      string
	positions map[string]Position
	problems  []*Problem
	// shapeBroken is set when a value has the wrong YAML kind; unknown or
	// repeated keys leave the rest checkable.
	shapeBroken bool
	// visited counts the values walked, aliases expanded, against
	// maxValues: a few aliases must not make the walk explode.
	visited int
	// dropped counts problems beyond maxProblems.
	dropped int
}

// maxProblems is the most problems reported at once.
const maxProblems = 100

// maxValues bounds the values a manifest may hold once its aliases are
// expanded.
const maxValues = 200_000

func (p *parser) add(pos Position, path, msg string) {
	if len(p.problems) >= maxProblems {
		p.dropped++
		return
	}
	pos.File = p.file
	p.problems = append(p.problems, &Problem{Position: pos, Path: path, Message: msg})
}

// shape records a value of the wrong YAML kind.
func (p *parser) shape(pos Position, path, msg string) {
	p.shapeBroken = true
	p.add(pos, path, msg)
}

// addAt records a problem at the position of path, or of its nearest
// recorded ancestor.
func (p *parser) addAt(path, format string, args ...any) {
	p.add(p.pos(path), path, fmt.Sprintf(format, args...))
}

func (p *parser) pos(path string) Position {
	for q := path; ; {
		if pos, ok := p.positions[q]; ok {
			return pos
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			return Position{Line: 1, Column: 1}
		}
		q = q[:i]
	}
}

func (p *parser) errors() error {
	sort.SliceStable(p.problems, func(i, j int) bool {
		a, b := p.problems[i], p.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	if p.dropped > 0 {
		last := p.problems[len(p.problems)-1].Position
		p.problems = append(p.problems, &Problem{Position: last, Message: fmt.Sprintf("and %d more problems: fix these first", p.dropped)})
	}
	return &Errors{Problems: p.problems}
}

// yamlErrPos returns where a YAML error is. The YAML package names the
// line in its message except for errors on the first line and errors of
// its reader (control characters, broken UTF-8), which it reports without
// a position: those are found in data, and a problem always has a line.
func yamlErrPos(err error, data []byte) Position {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i:], "line %d", &line)
	}
	if line > 0 {
		return Position{Line: line}
	}
	for _, reader := range []string{"control characters", "octet", "UTF-", "Unicode"} {
		if strings.Contains(msg, reader) {
			return unreadable(data)
		}
	}
	return Position{Line: 1, Column: 1}
}

// unreadable returns the position of the first character YAML does not
// allow in a document (YAML 1.2, 5.1: printable characters, tab and line
// breaks) or of the first invalid UTF-8, else line 1.
func unreadable(data []byte) Position {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || !yamlPrintable(r) {
			return Position{Line: line, Column: col}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return Position{Line: 1, Column: 1}
}

func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}

func yamlErrMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// yamlFields returns the YAML key names of a struct type, mapped to their
// field index, in declaration order.
func yamlFields(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// walk checks the node against the Go type t: every key known, every value
// of the right YAML kind. It records the position of every value.
func (p *parser) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	p.visited++
	if p.visited == maxValues {
		p.shape(Position{Line: n.Line, Column: n.Column}, path, fmt.Sprintf("the manifest holds more than %d values once its aliases are expanded: write it out plainly", maxValues))
	}
	if p.visited >= maxValues {
		return
	}
	pos := Position{Line: n.Line, Column: n.Column}
	if path != "" {
		if _, ok := p.positions[path]; !ok {
			p.positions[path] = pos
		}
	} else {
		p.positions[""] = pos
	}
	where := path
	if where == "" {
		where = "the document"
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if isNull(n) {
				return
			}
			p.shape(pos, path, fmt.Sprintf("expected a mapping of keys (%s) at %s, found %s", strings.Join(first(yamlFieldNames(t), 6), ", "), where, describe(n)))
			return
		}
		names, index := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content) && p.visited < maxValues; i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p.visited++
			kpos := Position{Line: k.Line, Column: k.Column}
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			if line, dup := seen[k.Value]; dup {
				p.add(kpos, child, fmt.Sprintf("key %q is written twice (first at line %d): keep one", k.Value, line))
				continue
			}
			seen[k.Value] = k.Line
			fi, ok := index[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q in %s; known keys: %s", k.Value, where, strings.Join(names, ", "))
				if s := suggest(k.Value, names); s != "" {
					msg = fmt.Sprintf("unknown key %q in %s: did you mean %q? (unknown keys are rejected so that a typo cannot silently change access)", k.Value, where, s)
				}
				p.add(kpos, child, msg)
				continue
			}
			p.positions[child] = Position{Line: v.Line, Column: v.Column}
			p.walk(v, t.Field(fi).Type, child)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if isNull(n) {
				return
			}
			p.shape(pos, path, fmt.Sprintf("expected a list at %s, found %s: write one item per line starting with \"- \"", where, describe(n)))
			return
		}
		for i, c := range n.Content {
			p.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			p.shape(pos, path, fmt.Sprintf("expected a text value at %s, found %s", where, describe(n)))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			p.shape(pos, path, fmt.Sprintf("expected true or false at %s, found %s", where, describe(n)))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			p.shape(pos, path, fmt.Sprintf("expected a whole number at %s, found %s", where, describe(n)))
		}
	}
}

func yamlFieldNames(t reflect.Type) []string {
	names, _ := yamlFields(t)
	return names
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported value"
}

// suggest returns the known name closest to s, if it is close enough to be
// a typo.
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := levenshtein(strings.ToLower(s), n); d < bestD && d <= len(s)/2 {
			best, bestD = n, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
