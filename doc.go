// Package botgate holds botgate's domain: the identities (users, bots,
// service accounts), the resources they belong to (groups, projects), the
// tokens that prove them, the audit events that record every change, and the
// interfaces the services consume (Store, Limiter, Clock).
//
// The package does no I/O. Storage backends live in sqlite/ and postgres/,
// the domain rules that decide who may do what live in authority/, and the
// HTTP edges live in httpapi/ and gateway/.
package botgate

// Version is botgate's version.
const Version = "0.1.0"
