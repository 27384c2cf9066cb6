package sqlstore

import (
	"context"
	"strings"

	"github.com/botgate/botgate"
)

// PutTeamNotify stores the team's notice destinations, replacing any; an
// empty n removes them.
func (t *Tx) PutTeamNotify(ctx context.Context, n *botgate.TeamNotify) error {
	const op = "PutTeamNotify"
	if err := t.writable(op); err != nil {
		return err
	}
	if n.Empty() {
		if _, err := t.exec(ctx, `DELETE FROM team_notify WHERE group_id = ?`, n.GroupID); err != nil {
			return t.dbError(op, err)
		}
		return nil
	}
	truncate(&n.UpdatedAt)
	if _, err := t.exec(ctx, `INSERT INTO team_notify (group_id, webhook_url, emails, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id) DO UPDATE SET webhook_url = excluded.webhook_url, emails = excluded.emails, updated_at = excluded.updated_at`,
		n.GroupID, n.WebhookURL, strings.Join(n.Emails, ","), toMicro(n.UpdatedAt)); err != nil {
		return t.dbError(op, err)
	}
	return nil
}

const teamNotifyCols = `group_id, webhook_url, emails, updated_at`

func scanTeamNotify(r scanner) (*botgate.TeamNotify, error) {
	var (
		n       botgate.TeamNotify
		emails  string
		updated int64
	)
	if err := r.Scan(&n.GroupID, &n.WebhookURL, &emails, &updated); err != nil {
		return nil, err
	}
	if emails != "" {
		n.Emails = strings.Split(emails, ",")
	}
	n.UpdatedAt = fromMicro(updated)
	return &n, nil
}

// TeamNotify returns the team's notice destinations.
func (t *Tx) TeamNotify(ctx context.Context, groupID int64) (*botgate.TeamNotify, error) {
	const op = "TeamNotify"
	n, err := scanTeamNotify(t.queryRow(ctx, `SELECT `+teamNotifyCols+` FROM team_notify WHERE group_id = ?`, groupID))
	if err != nil {
		return nil, t.notFound(op, "Team notifications", err)
	}
	return n, nil
}

// FindTeamNotify returns every team's notice destinations.
func (t *Tx) FindTeamNotify(ctx context.Context) ([]*botgate.TeamNotify, error) {
	const op = "FindTeamNotify"
	rows, err := t.query(ctx, `SELECT `+teamNotifyCols+` FROM team_notify ORDER BY group_id`)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	out, err := collect(rows, scanTeamNotify)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	return out, nil
}

// RecordExpiryNotice records a notice sent, once per (token, threshold,
// channel).
func (t *Tx) RecordExpiryNotice(ctx context.Context, n *botgate.ExpiryNotice) error {
	const op = "RecordExpiryNotice"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&n.ExpiresAt)
	truncate(&n.SentAt)
	inserted, err := t.exec(ctx, `INSERT INTO expiry_notices (token_id, threshold_days, channel, group_id, expires_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, threshold_days, channel) DO NOTHING`,
		n.TokenID, n.ThresholdDays, string(n.Channel), n.GroupID, toMicro(n.ExpiresAt), toMicro(n.SentAt))
	if err != nil {
		return t.dbError(op, err)
	}
	if inserted == 0 {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Reason: botgate.ReasonConcurrentChange,
			Message: "this expiry notice was recorded already"}
	}
	return nil
}

// FindExpiryNotices returns the notices recorded for the tokens.
func (t *Tx) FindExpiryNotices(ctx context.Context, tokenIDs []int64) ([]*botgate.ExpiryNotice, error) {
	const op = "FindExpiryNotices"
	if len(tokenIDs) == 0 {
		return nil, nil
	}
	w := t.where()
	in(&w, "token_id", tokenIDs)
	rows, err := t.query(ctx, `SELECT token_id, threshold_days, channel, group_id, expires_at, sent_at FROM expiry_notices`+
		w.String()+` ORDER BY token_id, threshold_days DESC, channel`, w.args...)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	out, err := collect(rows, func(r scanner) (*botgate.ExpiryNotice, error) {
		var (
			n             botgate.ExpiryNotice
			channel       string
			expires, sent int64
		)
		if err := r.Scan(&n.TokenID, &n.ThresholdDays, &channel, &n.GroupID, &expires, &sent); err != nil {
			return nil, err
		}
		n.Channel, n.ExpiresAt, n.SentAt = botgate.NoticeChannel(channel), fromMicro(expires), fromMicro(sent)
		return &n, nil
	})
	if err != nil {
		return nil, t.dbError(op, err)
	}
	return out, nil
}
