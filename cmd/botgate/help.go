package main

import (
	"github.com/spf13/cobra"

	"github.com/botgate/botgate/docs"
)

// applyHelp gives cmd and its subcommands the long help and examples that
// docs/commands.md holds for them.
func applyHelp(cmd *cobra.Command, help map[string]docs.Help) {
	if h, ok := help[cmd.CommandPath()]; ok {
		cmd.Long, cmd.Example = h.Long, h.Example
	}
	for _, sub := range cmd.Commands() {
		applyHelp(sub, help)
	}
}
