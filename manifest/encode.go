package manifest

import (
	"bytes"
	"io"
	"strings"

	"github.com/botgate/botgate"
	"go.yaml.in/yaml/v3"
)

// Encode writes m as YAML that Parse reads back. header, if not empty,
// becomes the file's leading comment; notes, keyed by automation name,
// become a comment above each automation.
func Encode(w io.Writer, m *Manifest, header string, notes map[string]string) error {
	var doc yaml.Node
	if err := doc.Encode(m); err != nil {
		return botgate.E("manifest.Encode", botgate.KindInternal, err)
	}
	if header != "" {
		doc.HeadComment = comment(header)
	}
	if doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			k, v := doc.Content[i], doc.Content[i+1]
			if i > 0 {
				k.HeadComment = "\n" + k.HeadComment
			}
			if k.Value != "automations" || v.Kind != yaml.SequenceNode {
				continue
			}
			for j, item := range v.Content {
				if j < len(m.Automations) {
					if n, ok := notes[m.Automations[j].Name]; ok && n != "" {
						item.HeadComment = comment(n)
						if j > 0 {
							item.HeadComment = "\n" + item.HeadComment
						}
					}
				}
			}
		}
	}
	flowScalarLists(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return botgate.E("manifest.Encode", botgate.KindInternal, err)
	}
	if err := enc.Close(); err != nil {
		return botgate.E("manifest.Encode", botgate.KindInternal, err)
	}
	// The encoder indents the blank lines between items; drop that
	// trailing space.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

func comment(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(lines, "\n")
}

// flowScalarLists writes lists of plain values on one line ("[api]"), as
// people write them.
func flowScalarLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		flat := true
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				flat = false
			}
		}
		if flat {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		flowScalarLists(c)
	}
}
