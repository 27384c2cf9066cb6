// Package cliout is how botgate's command line shows what it got: one
// place for the --output formats, JSON, aligned tables and "name: value"
// details, the text of every API view (tokens, users, groups, projects,
// members, service accounts, secrets, upstream credentials, token usage),
// and the one-time display of a new token's secret.
//
// A command hands Show its result and the format the user asked for:
// with json the result is written as indented JSON (a list as an array,
// never null); with text a list is a table and an object its details, or
// whatever the command's own text function writes. Check refuses a format
// a command does not offer with a KindInvalid error that names the ones it
// does.
//
// SecretFile is where a new token's secret goes when --token-file is
// given: the file is created, empty and 0600, before the API call, so a
// secret is never lost to a file that cannot be written once the token
// exists; ShowSecret then writes the token's details and its secret (or
// where it went), once.
package cliout
