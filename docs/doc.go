// Package docs holds botgate's documentation files and embeds the one the
// binary prints: commands.md, the long help and the examples of each
// command, so that `botgate COMMAND --help` and the documentation are one
// text.
//
// Commands parses it into one Help per command, keyed by the command's
// path ("botgate token create"). A section is a level-two heading naming
// the command, its description, and its examples in one fenced block.
package docs
