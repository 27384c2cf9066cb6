package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// testSessions checks the console's session records: create, find by
// digest, touch (only forward), delete, and the sweep of idle and old
// sessions.
func testSessions(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	base := base.Truncate(time.Microsecond)
	var tk *botgate.Token
	update(t, s, func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("signer", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "console",
			Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: digestOf("session-token"), CreatedAt: base})
		return nil
	})
	mk := func(name string, created, seen time.Time) *botgate.Session {
		return &botgate.Session{Digest: digestOf(name), UserID: tk.UserID, TokenID: tk.ID, CreatedAt: created,
			LastSeenAt: seen, IP: "127.0.0.1", UserAgent: "browser"}
	}
	fresh := mk("fresh", base, base.Add(time.Hour))
	idle := mk("idle", base, base)
	old := mk("old", base.Add(-48*time.Hour), base.Add(time.Hour))
	update(t, s, func(tx botgate.Tx) error {
		for _, x := range []*botgate.Session{fresh, idle, old} {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(ctx, func(tx botgate.Tx) error { return tx.CreateSession(ctx, mk("fresh", base, base)) })
	wantKind(t, "CreateSession(same digest)", err, botgate.KindConflict)
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.SessionByDigest(ctx, fresh.Digest)
		if err != nil {
			return err
		}
		if !bytes.Equal(got.Digest, fresh.Digest) || got.UserID != tk.UserID || got.TokenID != tk.ID ||
			!got.CreatedAt.Equal(base) || !got.LastSeenAt.Equal(base.Add(time.Hour)) || got.IP != "127.0.0.1" || got.UserAgent != "browser" {
			t.Errorf("SessionByDigest: got %+v", got)
		}
		_, err = tx.SessionByDigest(ctx, digestOf("missing"))
		wantKind(t, "SessionByDigest(missing)", err, botgate.KindNotFound)
		return nil
	})
	update(t, s, func(tx botgate.Tx) error {
		if err := tx.TouchSession(ctx, fresh.Digest, base.Add(2*time.Hour)); err != nil {
			return err
		}
		if err := tx.TouchSession(ctx, fresh.Digest, base); err != nil { // never back
			return err
		}
		wantKind(t, "TouchSession(missing)", tx.TouchSession(ctx, digestOf("missing"), base), botgate.KindNotFound)
		return nil
	})
	view(t, s, func(tx botgate.Tx) error {
		got, err := tx.SessionByDigest(ctx, fresh.Digest)
		if err == nil && !got.LastSeenAt.Equal(base.Add(2*time.Hour)) {
			t.Errorf("after touches: last seen %v, want %v", got.LastSeenAt, base.Add(2*time.Hour))
		}
		return err
	})
	update(t, s, func(tx botgate.Tx) error {
		n, err := tx.DeleteSessions(ctx, base.Add(30*time.Minute), base.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("DeleteSessions removed %d, want 2 (the idle and the old one)", n)
		}
		return nil
	})
	update(t, s, func(tx botgate.Tx) error {
		for _, x := range []*botgate.Session{idle, old} {
			_, err := tx.SessionByDigest(ctx, x.Digest)
			wantKind(t, "SessionByDigest(swept)", err, botgate.KindNotFound)
		}
		if err := tx.DeleteSession(ctx, fresh.Digest); err != nil {
			return err
		}
		wantKind(t, "DeleteSession(again)", tx.DeleteSession(ctx, fresh.Digest), botgate.KindNotFound)
		return nil
	})
}
