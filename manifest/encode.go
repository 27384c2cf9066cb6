package manifest

import (
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
					}
				}
			}
		}
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return botgate.E("manifest.Encode", botgate.KindInternal, err)
	}
	return enc.Close()
}

func comment(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("# "+l, " ")
	}
	return strings.Join(lines, "\n")
}
