// Package apiclient is botgate's command line's client of a botgate
// server: typed methods over the GitLab-compatible /api/v4 (GitLab), built
// on the official GitLab Go client (gitlab.com/gitlab-org/api/client-go/v2)
// so that every CLI command is also a proof that botgate speaks GitLab's
// wire format, and over botgate's own /api/botgate/v1 (V1), whose request
// and answer shapes are apiwire's, the ones httpapi writes.
//
// It resolves where to connect and with which token (flags, BOTGATE_URL and
// BOTGATE_TOKEN, or the credentials file written by Login), reads tokens
// from files or standard input without echo, parses what users type for
// flags (IDs, dates, roles, scopes, whose tokens), and turns every failure
// into a *botgate.Error of a stable kind whose message tells the user what
// to do next; messages never contain the token.
//
// Its methods return views: plain structs of what the CLI shows (Token,
// User, Group, Project, Member, ServiceAccount), with JSON tags for
// --output json. How they look as text is package cliout's business.
package apiclient
