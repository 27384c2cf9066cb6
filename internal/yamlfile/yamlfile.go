// Package yamlfile reads a YAML configuration file strictly into a Go
// value: unknown keys are refused, and every problem is reported as
// "file:line:column: path: what is wrong" in the words of the file, never
// of the Go types behind it.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/botgate/botgate"
)

// Problem is one thing wrong with a file.
type Problem struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	// Path is the value's place in the document, e.g. "routes[1].upstream".
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// String writes the problem as "file:line:column: path: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File + ":")
	}
	b.WriteString(strconv.Itoa(p.Line))
	if p.Column > 0 {
		b.WriteString(":" + strconv.Itoa(p.Column))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors is every problem found, in file order. It unwraps to a
// KindInvalid *botgate.Error whose message lists them all.
type Errors struct {
	Problems []Problem
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
	return &botgate.Error{Op: "yamlfile", Kind: botgate.KindInvalid, Message: e.Error()}
}

// Positions maps a value's path ("routes[0].upstream") to where it is;
// its Message holds the value's kind ("map", "seq") or, for a scalar,
// "=" and the value, for placing the YAML package's problems.
type Positions map[string]Problem

// At is a problem about the value at path, placed at it or at its nearest
// ancestor that the file holds.
func (ps Positions) At(file, path, msg string) Problem {
	for q := path; ; {
		p, ok := ps[q]
		if k, isKey := ps["key:"+q]; isKey && q != path {
			// An ancestor: its key's line, where a missing child belongs.
			p, ok = k, true
		}
		if ok {
			return Problem{File: file, Line: p.Line, Column: p.Column, Path: path, Message: msg}
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			return Problem{File: file, Line: 1, Path: path, Message: msg}
		}
		q = q[:i]
	}
}

// Decode reads data, the file named file, into v, refusing unknown keys
// and values of the wrong type. It returns where every value is, for the
// caller's own checks. An empty file leaves v as it is.
func Decode(file string, data []byte, v any) (Positions, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Errors{Problems: []Problem{{File: file, Line: lineOf(err), Message: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	pos := Positions{}
	if len(doc.Content) == 0 {
		return pos, nil
	}
	walk(doc.Content[0], "", pos)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Errors{Problems: []Problem{{File: file, Line: lineOf(err), Message: strings.TrimPrefix(err.Error(), "yaml: ")}}}
		}
		ps := make([]Problem, 0, len(te.Errors))
		for _, m := range te.Errors {
			ps = append(ps, explain(file, m, pos))
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return nil, &Errors{Problems: ps}
	}
	return pos, nil
}

// walk records the position of every value below n.
func walk(n *yaml.Node, path string, pos Positions) {
	if path != "" {
		what := "=" + n.Value
		switch n.Kind {
		case yaml.MappingNode:
			what = "map"
		case yaml.SequenceNode:
			what = "seq"
		}
		pos[path] = Problem{Line: n.Line, Column: n.Column, Message: what}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if path != "" {
				k = path + "." + k
			}
			walk(n.Content[i+1], k, pos)
			// The key's own place, for a problem with the key.
			pos["key:"+k] = Problem{Line: n.Content[i].Line, Column: n.Content[i].Column, Message: "=" + n.Content[i].Value}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, fmt.Sprintf("%s[%d]", path, i), pos)
		}
	}
}

// The expressions that read the YAML package's messages, compiled on the
// first message rather than at every start of the binary.
var (
	reLine     = lazyRE(`^line (\d+): `)
	reUnknown  = lazyRE(`field (\S+) not found in type`)
	reMismatch = lazyRE("cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
	reSeen     = lazyRE(`mapping key "(.*)" already defined at line (\d+)`)
)

func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// explain turns one of the YAML package's messages, which speak of Go
// types, into the file's terms.
func explain(file, msg string, pos Positions) Problem {
	p := Problem{File: file, Line: 1}
	if m := reLine().FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	switch {
	case reUnknown().MatchString(msg):
		key := reUnknown().FindStringSubmatch(msg)[1]
		p.Message = fmt.Sprintf("unknown key %q (unknown keys are refused so that a typo cannot silently change a setting)", key)
	case reSeen().MatchString(msg):
		m := reSeen().FindStringSubmatch(msg)
		p.Message = fmt.Sprintf("key %q is written twice (first at line %s): keep one", m[1], m[2])
	case reMismatch().MatchString(msg):
		m := reMismatch().FindStringSubmatch(msg)
		p.Message = fmt.Sprintf("%s is not %s", found(m[1], m[2]), wanted(m[3]))
	default:
		p.Message = msg
	}
	// The path on that line whose value the problem is about: the value
	// named, else the innermost one.
	want := ""
	if m := reMismatch().FindStringSubmatch(msg); m != nil {
		switch m[1] {
		case "!!map":
			want = "map"
		case "!!seq":
			want = "seq"
		default:
			want = "=" + m[2]
		}
	}
	best, bestCol := "", -1
	for path, q := range pos {
		named := want != "" && q.Message == want
		if q.Line != p.Line || strings.HasPrefix(path, "key:") && !named {
			continue
		}
		col := q.Column
		if named {
			col += 1 << 20 // the value (or key) named wins
		}
		if col > bestCol || col == bestCol && path < best {
			best, bestCol = path, col
		}
	}
	best = strings.TrimPrefix(best, "key:")
	p.Path = best
	return p
}

func found(tag, value string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!null":
		return "nothing"
	}
	return strconv.Quote(value)
}

// wanted names a Go type in the file's words.
func wanted(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case goType == "time.Duration":
		return "a duration such as 30s, 5m or 1h"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a text value"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "a mapping of keys"
	}
	return "a valid value here"
}

// lineOf returns the line a YAML syntax error names, else 1.
func lineOf(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		var n int
		if _, e := fmt.Sscanf(msg[i:], "line %d", &n); e == nil && n > 0 {
			return n
		}
	}
	return 1
}
