// Package notify tells owning teams about their tokens: it posts
// Slack-compatible JSON to a team's webhook and sends email through an SMTP
// server (STARTTLS when offered, or required), and runs the expiry job
// that tells each team, once per token and threshold, that a token is
// about to expire.
//
// A webhook URL can itself be a credential (chat incoming webhooks carry
// one in their path) and an SMTP password is one: no log line, error or
// audit record of this package holds either.
package notify
