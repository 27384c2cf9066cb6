package storetest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// testTeamNotify checks the teams' notice destinations: put, replace, read
// back, list, remove with an empty value, and a missing group refused.
func testTeamNotify(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var a, b *botgate.Group
	update(t, s, func(tx botgate.Tx) error {
		a = mustCreateGroup(ctx, t, tx, nil, "team-a")
		b = mustCreateGroup(ctx, t, tx, nil, "team-b")
		return nil
	})
	hook := "https://chat.example.com/hooks/T1/B2/secretpart"
	update(t, s, func(tx botgate.Tx) error {
		if err := tx.PutTeamNotify(ctx, &botgate.TeamNotify{GroupID: b.ID, Emails: []string{"b@example.com"}, UpdatedAt: base}); err != nil {
			return err
		}
		if err := tx.PutTeamNotify(ctx, &botgate.TeamNotify{GroupID: a.ID, WebhookURL: "https://old.example.com/x", UpdatedAt: base}); err != nil {
			return err
		}
		return tx.PutTeamNotify(ctx, &botgate.TeamNotify{GroupID: a.ID, WebhookURL: hook,
			Emails: []string{"ops@example.com", "lead@example.com"}, UpdatedAt: at(time.Hour)})
	})
	err := s.Update(ctx, func(tx botgate.Tx) error {
		return tx.PutTeamNotify(ctx, &botgate.TeamNotify{GroupID: 999999, WebhookURL: hook, UpdatedAt: base})
	})
	wantKind(t, "PutTeamNotify(missing group)", err, botgate.KindInvalid)
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.TeamNotify(ctx, a.ID)
		if err != nil {
			return err
		}
		if got.WebhookURL != hook || !slices.Equal(got.Emails, []string{"ops@example.com", "lead@example.com"}) || !got.UpdatedAt.Equal(atUS(time.Hour)) {
			t.Errorf("TeamNotify(a) = %+v", got)
		}
		all, err := tx.FindTeamNotify(ctx)
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].GroupID != a.ID || all[1].GroupID != b.ID || all[1].WebhookURL != "" || !slices.Equal(all[1].Emails, []string{"b@example.com"}) {
			t.Errorf("FindTeamNotify = %+v, want a then b", all)
		}
		return nil
	})
	update(t, s, func(tx botgate.Tx) error { return tx.PutTeamNotify(ctx, &botgate.TeamNotify{GroupID: a.ID}) })
	view(t, s, func(tx botgate.Tx) error {
		_, err := tx.TeamNotify(ctx, a.ID)
		wantKind(t, "TeamNotify after an empty put", err, botgate.KindNotFound)
		return nil
	})
}

// testExpiryNotices checks that a notice is recorded once per (token,
// threshold, channel), that the other channels and thresholds stay free,
// and that a missing token is refused.
func testExpiryNotices(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var tk, other *botgate.Token
	var g *botgate.Group
	update(t, s, func(tx botgate.Tx) error {
		g = mustCreateGroup(ctx, t, tx, nil, "noticed")
		u := mustCreateUser(ctx, t, tx, newUser("expiring", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "soon"))
		other = mustCreateToken(ctx, t, tx, newToken(u, "later"))
		return nil
	})
	n := func(id int64, days int, ch botgate.NoticeChannel) *botgate.ExpiryNotice {
		return &botgate.ExpiryNotice{TokenID: id, ThresholdDays: days, Channel: ch, GroupID: g.ID, ExpiresAt: day(30), SentAt: base}
	}
	update(t, s, func(tx botgate.Tx) error {
		for _, x := range []*botgate.ExpiryNotice{n(tk.ID, 30, botgate.NoticeWebhook), n(tk.ID, 30, botgate.NoticeEmail),
			n(tk.ID, 7, botgate.NoticeEmail), n(other.ID, 1, botgate.NoticeWebhook)} {
			if err := tx.RecordExpiryNotice(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx botgate.Tx) error { return tx.RecordExpiryNotice(ctx, n(tk.ID, 30, botgate.NoticeWebhook)) })
	wantKind(t, "RecordExpiryNotice(again)", err, botgate.KindConflict)
	err = s.Update(ctx, func(tx botgate.Tx) error { return tx.RecordExpiryNotice(ctx, n(999999, 30, botgate.NoticeWebhook)) })
	wantKind(t, "RecordExpiryNotice(missing token)", err, botgate.KindInvalid)
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.FindExpiryNotices(ctx, []int64{tk.ID})
		if err != nil {
			return err
		}
		var keys []string
		for _, x := range got {
			if x.TokenID != tk.ID || x.GroupID != g.ID || !x.ExpiresAt.Equal(day(30)) || !x.SentAt.Equal(atUS(0)) {
				t.Errorf("FindExpiryNotices: %+v", x)
			}
			keys = append(keys, string(x.Channel)+"@"+strconv.Itoa(x.ThresholdDays))
		}
		if want := []string{"email@30", "webhook@30", "email@7"}; !slices.Equal(keys, want) {
			t.Errorf("FindExpiryNotices = %v, want %v", keys, want)
		}
		none, err := tx.FindExpiryNotices(ctx, nil)
		if err != nil || len(none) != 0 {
			t.Errorf("FindExpiryNotices(nil) = %v, %v; want none", none, err)
		}
		return nil
	})
}

// testExpiryNoticeRace records the same notice from every store at once:
// exactly one wins.
func testExpiryNoticeRace(t *testing.T, stores []botgate.Store) {
	ctx := t.Context()
	var tk *botgate.Token
	update(t, stores[0], func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("raced", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, newToken(u, "raced"))
		return nil
	})
	errs := race(stores, func(s botgate.Store, i int) error {
		return s.Update(ctx, func(tx botgate.Tx) error {
			return tx.RecordExpiryNotice(ctx, &botgate.ExpiryNotice{TokenID: tk.ID, ThresholdDays: 7, Channel: botgate.NoticeEmail,
				ExpiresAt: day(7), SentAt: at(time.Duration(i) * time.Second)})
		})
	})
	wantOneWinner(t, "RecordExpiryNotice race", errs)
}
