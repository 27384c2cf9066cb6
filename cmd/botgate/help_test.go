package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/docs"
	"github.com/botgate/botgate/migrate"
	"github.com/botgate/botgate/vault"
)

// TestHelpFromDocs checks that docs/commands.md and the commands agree:
// every section names a command, every command shows its section as its
// help, and the numbers and names the text quotes are the code's.
func TestHelpFromDocs(t *testing.T) {
	help := docs.Commands()
	if len(help) < 50 {
		t.Fatalf("docs/commands.md has %d sections, want every command's", len(help))
	}
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if h, ok := help[c.CommandPath()]; ok {
			seen[c.CommandPath()] = true
			if c.Long != h.Long || c.Example != h.Example {
				t.Errorf("%s: the help differs from docs/commands.md", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&env{getenv: func(string) string { return "" }}))
	for path := range help {
		if !seen[path] {
			t.Errorf("docs/commands.md has a section %q, which is no command", path)
		}
	}
	for path, want := range map[string]string{
		"botgate vault":          vault.EnvMasterKey,
		"botgate migrate sample": "at least " + strconv.Itoa(migrate.MinSampleLines),
	} {
		if !strings.Contains(help[path].Long, want) {
			t.Errorf("%s: the help does not say %q", path, want)
		}
	}
}
