package docs

import (
	_ "embed"
	"strings"
)

//go:embed commands.md
var commandsMD string

// Help is one command's help: its long description and its examples.
type Help struct {
	Long, Example string
}

// Commands returns the help of every command in commands.md, by command
// path.
func Commands() map[string]Help {
	out := map[string]Help{}
	sections := strings.Split("\n"+commandsMD, "\n## ")
	for _, s := range sections[1:] {
		name, body, _ := strings.Cut(s, "\n")
		var h Help
		if long, rest, ok := strings.Cut(body, "```\n"); ok {
			h.Long = long
			h.Example, _, _ = strings.Cut(rest, "\n```")
		} else {
			h.Long = body
		}
		h.Long = strings.TrimSpace(h.Long)
		out[strings.TrimSpace(name)] = h
	}
	return out
}
