package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// ExerciseVault runs the conformance suite for the vault's tables: secrets,
// upstream credentials and leases. open must return a new, empty store for
// each call.
func ExerciseVault(t *testing.T, open func(t *testing.T) botgate.Store) {
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open(t)) })
	t.Run("SecretConditionalUpdate", func(t *testing.T) { testSecretConditional(t, open(t)) })
	t.Run("UpstreamCredentials", func(t *testing.T) { testUpstream(t, open(t)) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, open(t)) })
	t.Run("UpstreamGrants", func(t *testing.T) { testUpstreamGrants(t, open(t)) })
	t.Run("LeaseRace", func(t *testing.T) {
		s := open(t)
		testLeaseRace(t, []botgate.Store{s})
	})
	t.Run("SecretUpdateRace", func(t *testing.T) {
		s := open(t)
		testSecretUpdateRace(t, []botgate.Store{s})
	})
}

// ExerciseVaultTwo runs the cross-instance part of the vault suite: open2
// must return two new, empty stores sharing one database, the way two
// botgate servers would.
func ExerciseVaultTwo(t *testing.T, open2 func(t *testing.T) (botgate.Store, botgate.Store)) {
	t.Run("LeaseRace", func(t *testing.T) {
		a, b := open2(t)
		testLeaseRace(t, []botgate.Store{a, b})
	})
	t.Run("LeaseVisibleAcross", func(t *testing.T) {
		a, b := open2(t)
		now := vaultBase
		vaultUpdate(t, a, func(tx botgate.Tx) error {
			_, err := tx.AcquireLease(t.Context(), "job", "server-a", now, time.Minute)
			return err
		})
		err := b.Update(t.Context(), func(tx botgate.Tx) error {
			_, err := tx.AcquireLease(t.Context(), "job", "server-b", now.Add(30*time.Second), time.Minute)
			return err
		})
		if !botgate.IsKind(err, botgate.KindConflict) {
			t.Fatalf("second server acquiring a held lease: got %v, want KindConflict", err)
		}
		vaultUpdate(t, b, func(tx botgate.Tx) error {
			_, err := tx.AcquireLease(t.Context(), "job", "server-b", now.Add(61*time.Second), time.Minute)
			return err
		})
	})
	t.Run("SecretUpdateRace", func(t *testing.T) {
		a, b := open2(t)
		testSecretUpdateRace(t, []botgate.Store{a, b})
	})
}

// vaultBase is the vault suite's reference time, with nanoseconds so that
// a store keeping more than microseconds is caught.
var vaultBase = time.Date(2026, 5, 17, 11, 22, 33, 444555666, time.UTC)

func vaultUpdate(t *testing.T, s botgate.Store, fn func(tx botgate.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func vaultView(t *testing.T, s botgate.Store, fn func(tx botgate.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// vaultGroup creates a group to own secrets.
func vaultGroup(t *testing.T, s botgate.Store, path string) *botgate.Group {
	t.Helper()
	g := &botgate.Group{Name: path, Path: path, FullPath: path, Visibility: botgate.Private, CreatedAt: vaultBase}
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateGroup(t.Context(), g) })
	return g
}

func newSecret(owner int64, name, keyID string, sealed []byte) *botgate.Secret {
	return &botgate.Secret{
		OwnerGroupID: owner, Name: name, Description: "the " + name, KeyID: keyID, Sealed: sealed,
		CreatedByID: 7, CreatedAt: vaultBase, UpdatedAt: vaultBase,
	}
}

func testSecrets(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	team := vaultGroup(t, s, "team")
	other := vaultGroup(t, s, "other")
	a := newSecret(team.ID, "deploy-key", "00112233aabbccdd", []byte{1, 2, 3, 0, 255})
	b := newSecret(team.ID, "upstream-admin", "00112233aabbccdd", []byte{9})
	c := newSecret(other.ID, "deploy-key", "ffeeddccbbaa9988", []byte{4})
	c.BoundFamilyID, c.BoundAutomation = 42, "triage"
	vaultUpdate(t, s, func(tx botgate.Tx) error {
		for _, sec := range []*botgate.Secret{a, b, c} {
			if err := tx.CreateSecret(ctx, sec); err != nil {
				return err
			}
		}
		return nil
	})
	if a.ID <= 0 || a.ID == b.ID || b.ID == c.ID || a.Version != 1 {
		t.Fatalf("CreateSecret assigned id %d/%d version %d; want distinct positive ids and version 1", a.ID, b.ID, a.Version)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		vaultView(t, s, func(tx botgate.Tx) error {
			got, err := tx.Secret(ctx, a.ID)
			if err != nil {
				return err
			}
			want := *a
			want.CreatedAt = vaultBase.Truncate(time.Microsecond)
			want.UpdatedAt = want.CreatedAt
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("Secret(%d) =\n %+v\nwant\n %+v", a.ID, got, &want)
			}
			byName, err := tx.SecretByName(ctx, other.ID, "deploy-key")
			if err != nil {
				return err
			}
			if byName.ID != c.ID || byName.BoundFamilyID != 42 || byName.BoundAutomation != "triage" {
				t.Errorf("SecretByName(other, deploy-key) = %+v, want secret %d bound to family 42", byName, c.ID)
			}
			return nil
		})
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			fn   func(tx botgate.Tx) error
			want botgate.Kind
		}{
			{"duplicate name in owner", func(tx botgate.Tx) error {
				return tx.CreateSecret(ctx, newSecret(team.ID, "deploy-key", "00112233aabbccdd", []byte{1}))
			}, botgate.KindConflict},
			{"missing owner", func(tx botgate.Tx) error {
				return tx.CreateSecret(ctx, newSecret(999999, "x", "00112233aabbccdd", []byte{1}))
			}, botgate.KindInvalid},
			{"unknown id", func(tx botgate.Tx) error { _, err := tx.Secret(ctx, 999999); return err }, botgate.KindNotFound},
			{"unknown name", func(tx botgate.Tx) error { _, err := tx.SecretByName(ctx, team.ID, "nope"); return err }, botgate.KindNotFound},
			{"name of other owner", func(tx botgate.Tx) error {
				_, err := tx.SecretByName(ctx, other.ID, "upstream-admin")
				return err
			}, botgate.KindNotFound},
			{"delete unknown", func(tx botgate.Tx) error { return tx.DeleteSecret(ctx, 999999) }, botgate.KindNotFound},
			{"update unknown", func(tx botgate.Tx) error {
				return tx.UpdateSecret(ctx, &botgate.Secret{ID: 999999, Version: 1, KeyID: "x", Sealed: []byte{1}})
			}, botgate.KindNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Update(ctx, tt.fn)
				if got := botgate.KindOf(err); err == nil || got != tt.want {
					t.Fatalf("got %v (kind %v), want kind %v", err, got, tt.want)
				}
			})
		}
	})

	t.Run("Find", func(t *testing.T) {
		tests := []struct {
			name  string
			f     botgate.SecretFilter
			want  []int64
			total int
		}{
			{"all", botgate.SecretFilter{}, []int64{a.ID, b.ID, c.ID}, 3},
			{"owner", botgate.SecretFilter{OwnerGroupID: team.ID}, []int64{a.ID, b.ID}, 2},
			{"bound family", botgate.SecretFilter{BoundFamilyID: 42}, []int64{c.ID}, 1},
			{"not under key", botgate.SecretFilter{NotKeyID: "00112233aabbccdd"}, []int64{c.ID}, 1},
			{"after id", botgate.SecretFilter{AfterID: a.ID}, []int64{b.ID, c.ID}, 2},
			{"ids", botgate.SecretFilter{IDs: []int64{c.ID, a.ID}}, []int64{a.ID, c.ID}, 2},
			{"page", botgate.SecretFilter{Page: botgate.Page{Offset: 1, Limit: 1}}, []int64{b.ID}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				vaultView(t, s, func(tx botgate.Tx) error {
					got, total, err := tx.FindSecrets(ctx, tt.f)
					if err != nil {
						return err
					}
					var ids []int64
					for _, g := range got {
						ids = append(ids, g.ID)
					}
					if !reflect.DeepEqual(ids, tt.want) || total != tt.total {
						t.Errorf("FindSecrets(%+v) = %v (total %d), want %v (total %d)", tt.f, ids, total, tt.want, tt.total)
					}
					return nil
				})
			})
		}
	})

	t.Run("Delete", func(t *testing.T) {
		vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.DeleteSecret(ctx, b.ID) })
		err := s.View(ctx, func(tx botgate.Tx) error { _, err := tx.Secret(ctx, b.ID); return err })
		if !botgate.IsKind(err, botgate.KindNotFound) {
			t.Fatalf("Secret after delete: %v, want KindNotFound", err)
		}
	})
}

func testSecretConditional(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	team := vaultGroup(t, s, "team")
	sec := newSecret(team.ID, "k", "00112233aabbccdd", []byte("old"))
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateSecret(ctx, sec) })

	stale := *sec
	read := vaultBase.Add(time.Hour)
	sec.KeyID, sec.Sealed, sec.UpdatedAt, sec.LastReadAt = "ffffffffffffffff", []byte("new"), vaultBase.Add(time.Minute), &read
	sec.BoundFamilyID, sec.BoundAutomation, sec.Description = 5, "bot", "changed"
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.UpdateSecret(ctx, sec) })
	if sec.Version != 2 {
		t.Fatalf("UpdateSecret left Version %d, want 2", sec.Version)
	}
	stale.Sealed = []byte("lost")
	err := s.Update(ctx, func(tx botgate.Tx) error { return tx.UpdateSecret(ctx, &stale) })
	if !botgate.IsKind(err, botgate.KindConflict) {
		t.Fatalf("UpdateSecret with a stale version: %v, want KindConflict", err)
	}
	vaultView(t, s, func(tx botgate.Tx) error {
		got, err := tx.Secret(ctx, sec.ID)
		if err != nil {
			return err
		}
		if !bytes.Equal(got.Sealed, []byte("new")) || got.KeyID != "ffffffffffffffff" || got.Version != 2 ||
			got.BoundFamilyID != 5 || got.BoundAutomation != "bot" || got.Description != "changed" ||
			got.LastReadAt == nil || !got.LastReadAt.Equal(read.Truncate(time.Microsecond)) ||
			!got.UpdatedAt.Equal(vaultBase.Add(time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("after update: %+v", got)
		}
		return nil
	})
}

func testSecretUpdateRace(t *testing.T, stores []botgate.Store) {
	ctx := t.Context()
	team := vaultGroup(t, stores[0], "team")
	sec := newSecret(team.ID, "k", "00112233aabbccdd", []byte("v0"))
	vaultUpdate(t, stores[0], func(tx botgate.Tx) error { return tx.CreateSecret(ctx, sec) })
	exactlyOneWins(t, stores, "conditional writes of version 1", func(ctx context.Context, tx botgate.Tx, i int) error {
		mine := *sec
		mine.Sealed = fmt.Appendf(nil, "v%d", i+1)
		return tx.UpdateSecret(ctx, &mine)
	})
}

func testUpstream(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	team := vaultGroup(t, s, "team")
	admin := newSecret(team.ID, "gitlab-admin", "00112233aabbccdd", []byte{1})
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateSecret(ctx, admin) })
	exp := botgate.Date(vaultBase).AddDate(0, 0, 30)
	next := vaultBase.Add(time.Hour)
	c := &botgate.UpstreamCredential{
		OwnerGroupID: team.ID, Automation: "triage", UpstreamURL: "https://gitlab.example.com", AdminSecretID: admin.ID,
		SecretID: 77, Kind: botgate.ProjectAccessToken, Target: "team/app", TokenName: "triage bot",
		Scopes: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeReadRepository}, AccessLevel: botgate.DeveloperAccess,
		Lifetime: 30 * 24 * time.Hour, RotateBefore: 7 * 24 * time.Hour, AutoRotate: true, Notify: "https://hooks.example/x",
		State: botgate.UpstreamActive, UpstreamTokenID: 1234, ExpiresAt: &exp, PendingRevokeID: 1200, Attempts: 2,
		NextAttemptAt: &next, LastError: "upstream said 502", CreatedByID: 3, CreatedAt: vaultBase, UpdatedAt: vaultBase,
	}
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateUpstreamCredential(ctx, c) })
	if c.ID <= 0 || c.Version != 1 {
		t.Fatalf("CreateUpstreamCredential: id %d version %d", c.ID, c.Version)
	}
	vaultView(t, s, func(tx botgate.Tx) error {
		got, err := tx.UpstreamCredential(ctx, c.ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("UpstreamCredential =\n %+v\nwant\n %+v", got, c)
		}
		return nil
	})

	tests := []struct {
		name string
		fn   func(tx botgate.Tx) error
		want botgate.Kind
	}{
		{"duplicate automation", func(tx botgate.Tx) error {
			d := *c
			d.ID = 0
			return tx.CreateUpstreamCredential(ctx, &d)
		}, botgate.KindConflict},
		{"missing admin secret", func(tx botgate.Tx) error {
			d := *c
			d.ID, d.Automation, d.AdminSecretID = 0, "other", 999999
			return tx.CreateUpstreamCredential(ctx, &d)
		}, botgate.KindInvalid},
		{"unknown", func(tx botgate.Tx) error { _, err := tx.UpstreamCredential(ctx, 999999); return err }, botgate.KindNotFound},
		{"stale update", func(tx botgate.Tx) error {
			d := *c
			d.Version = 99
			return tx.UpdateUpstreamCredential(ctx, &d)
		}, botgate.KindConflict},
		{"delete unknown", func(tx botgate.Tx) error { return tx.DeleteUpstreamCredential(ctx, 999999) }, botgate.KindNotFound},
		{"delete secret in use", func(tx botgate.Tx) error { return tx.DeleteSecret(ctx, admin.ID) }, botgate.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(ctx, tt.fn)
			if got := botgate.KindOf(err); err == nil || got != tt.want {
				t.Fatalf("got %v (kind %v), want kind %v", err, got, tt.want)
			}
		})
	}

	t.Run("UpdateAndFind", func(t *testing.T) {
		c.State, c.UpstreamTokenID, c.PendingRevokeID, c.Attempts, c.NextAttemptAt, c.LastError = botgate.UpstreamRevoked, 1300, 0, 0, nil, ""
		c.UpdatedAt = vaultBase.Add(time.Hour)
		vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.UpdateUpstreamCredential(ctx, c) })
		if c.Version != 2 {
			t.Fatalf("version after update %d, want 2", c.Version)
		}
		vaultView(t, s, func(tx botgate.Tx) error {
			for _, f := range []botgate.UpstreamCredentialFilter{
				{States: []botgate.UpstreamState{botgate.UpstreamRevoked}},
				{OwnerGroupID: team.ID, Automation: "triage"},
			} {
				got, total, err := tx.FindUpstreamCredentials(ctx, f)
				if err != nil {
					return err
				}
				if total != 1 || len(got) != 1 || !reflect.DeepEqual(got[0], c) {
					t.Errorf("FindUpstreamCredentials(%+v) = %d, %+v; want the updated credential", f, total, got)
				}
			}
			got, total, err := tx.FindUpstreamCredentials(ctx, botgate.UpstreamCredentialFilter{States: []botgate.UpstreamState{botgate.UpstreamActive}})
			if err != nil {
				return err
			}
			if total != 0 || len(got) != 0 {
				t.Errorf("active credentials after revocation: %d", total)
			}
			return nil
		})
		vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.DeleteUpstreamCredential(ctx, c.ID) })
	})
}

func testLeases(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	acquire := func(name, holder string, now time.Time, ttl time.Duration) (botgate.Lease, error) {
		var l botgate.Lease
		err := s.Update(ctx, func(tx botgate.Tx) (err error) {
			l, err = tx.AcquireLease(ctx, name, holder, now, ttl)
			return err
		})
		return l, err
	}
	steps := []struct {
		name   string
		lease  string
		holder string
		at     time.Duration
		ttl    time.Duration
		want   botgate.Kind // KindOther: success
	}{
		{"first acquires", "rotate", "a", 0, time.Minute, botgate.KindOther},
		{"other is refused", "rotate", "b", 30 * time.Second, time.Minute, botgate.KindConflict},
		{"other lease is free", "notify", "b", 30 * time.Second, time.Minute, botgate.KindOther},
		{"holder renews", "rotate", "a", 50 * time.Second, time.Minute, botgate.KindOther},
		{"renewal holds past first expiry", "rotate", "b", 90 * time.Second, time.Minute, botgate.KindConflict},
		{"expired is taken over", "rotate", "b", 111 * time.Second, time.Minute, botgate.KindOther},
		{"old holder is refused", "rotate", "a", 112 * time.Second, time.Minute, botgate.KindConflict},
		{"empty name", "", "a", 0, time.Minute, botgate.KindInvalid},
		{"empty holder", "rotate", "", 0, time.Minute, botgate.KindInvalid},
		{"zero ttl", "rotate", "a", 0, 0, botgate.KindInvalid},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			now := vaultBase.Add(st.at)
			l, err := acquire(st.lease, st.holder, now, st.ttl)
			if st.want == botgate.KindOther {
				if err != nil {
					t.Fatalf("AcquireLease: %v", err)
				}
				if l.Holder != st.holder || l.Name != st.lease || !l.ExpiresAt.Equal(now.Add(st.ttl).Truncate(time.Microsecond)) {
					t.Fatalf("AcquireLease = %+v", l)
				}
				return
			}
			if got := botgate.KindOf(err); err == nil || got != st.want {
				t.Fatalf("AcquireLease: %v (kind %v), want kind %v", err, got, st.want)
			}
		})
	}
	t.Run("Release", func(t *testing.T) {
		// Only the holder's release counts.
		vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.ReleaseLease(ctx, "rotate", "a") })
		if _, err := acquire("rotate", "c", vaultBase.Add(113*time.Second), time.Minute); !botgate.IsKind(err, botgate.KindConflict) {
			t.Fatalf("after a non-holder's release: %v, want KindConflict", err)
		}
		vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.ReleaseLease(ctx, "rotate", "b") })
		if _, err := acquire("rotate", "c", vaultBase.Add(114*time.Second), time.Minute); err != nil {
			t.Fatalf("after the holder's release: %v", err)
		}
	})
}

// testLeaseRace has holders on every store race for one lease at the same
// instant: exactly one wins.
func testLeaseRace(t *testing.T, stores []botgate.Store) {
	exactlyOneWins(t, stores, "holders acquiring one lease", func(ctx context.Context, tx botgate.Tx, i int) error {
		_, err := tx.AcquireLease(ctx, "rotation-scheduler", fmt.Sprintf("holder-%d", i), vaultBase, time.Minute)
		return err
	})
}
