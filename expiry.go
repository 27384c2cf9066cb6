package botgate

import (
	"context"
	"time"
)

// ActionExpiryNotice is an expiry notice sent to a token's owning team on
// one channel (webhook or email). Its details name the token, the
// threshold and the channel, never the webhook URL or a mail password.
const ActionExpiryNotice = "token.expiry_notified"

// ActionTeamNotifyUpdate is a team's notice destinations stored or
// removed; its details show the webhook redacted (RedactURL).
const ActionTeamNotifyUpdate = "group.notify_update"

// NoticeChannel is how an expiry notice reaches a team.
type NoticeChannel string

// The notice channels.
const (
	NoticeWebhook NoticeChannel = "webhook"
	NoticeEmail   NoticeChannel = "email"
)

// TeamNotify is where a team (a group) wants its notices: a webhook URL
// and email addresses, as the manifest's teams[].notify declares them.
// WebhookURL may embed a credential (chat incoming webhooks carry one in
// their path): show it only through RedactURL.
type TeamNotify struct {
	GroupID    int64
	WebhookURL string
	Emails     []string
	UpdatedAt  time.Time
}

// Empty reports whether n names no destination.
func (n *TeamNotify) Empty() bool { return n == nil || (n.WebhookURL == "" && len(n.Emails) == 0) }

// ExpiryNotice records one notice sent about a token crossing a threshold
// (days before its expiry) on one channel. (TokenID, ThresholdDays,
// Channel) is unique: a notice is recorded once, so it is sent once.
type ExpiryNotice struct {
	TokenID       int64
	ThresholdDays int
	Channel       NoticeChannel
	// GroupID is the team told.
	GroupID   int64
	ExpiresAt time.Time
	SentAt    time.Time
}

// NoticeTx is the part of Tx that keeps teams' notice destinations and the
// expiry notices sent.
type NoticeTx interface {
	// PutTeamNotify stores the team's destinations, replacing any; an
	// empty n (no webhook, no email) removes them. KindInvalid if the
	// group does not exist.
	PutTeamNotify(ctx context.Context, n *TeamNotify) error
	// TeamNotify returns the team's destinations, or KindNotFound.
	TeamNotify(ctx context.Context, groupID int64) (*TeamNotify, error)
	// FindTeamNotify returns every team's destinations, ordered by group
	// ID.
	FindTeamNotify(ctx context.Context) ([]*TeamNotify, error)
	// RecordExpiryNotice records a notice sent, in one conditional write:
	// KindConflict if the (token, threshold, channel) was recorded before
	// (someone else sent it), KindInvalid if the token does not exist.
	// Only valid inside Update.
	RecordExpiryNotice(ctx context.Context, n *ExpiryNotice) error
	// FindExpiryNotices returns the notices recorded for the tokens,
	// ordered by token ID, threshold (largest first) and channel.
	FindExpiryNotices(ctx context.Context, tokenIDs []int64) ([]*ExpiryNotice, error)
}
