package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// testUpstreamGrants pins the upstream grants of job tokens: fields
// round-trip (times at microseconds), the credential must exist, expired
// open grants are found oldest first and revoked ones are not, and
// revocation is a conditional write (KindConflict the second time).
func testUpstreamGrants(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	team := vaultGroup(t, s, "team")
	admin := newSecret(team.ID, "gitlab-admin", "00112233aabbccdd", []byte{1})
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateSecret(ctx, admin) })
	c := &botgate.UpstreamCredential{OwnerGroupID: team.ID, Automation: "triage", UpstreamURL: "https://gitlab.example.com",
		AdminSecretID: admin.ID, Kind: botgate.ProjectAccessToken, Target: "team/app", TokenName: "triage",
		State: botgate.UpstreamActive, CreatedAt: vaultBase, UpdatedAt: vaultBase}
	vaultUpdate(t, s, func(tx botgate.Tx) error { return tx.CreateUpstreamCredential(ctx, c) })

	grants := []*botgate.UpstreamGrant{
		{CredentialID: c.ID, UpstreamTokenID: 501, Subject: "project_path:team/app:ref_type:branch:ref:main", ExpiresAt: vaultBase.Add(10 * time.Minute), CreatedAt: vaultBase},
		{CredentialID: c.ID, UpstreamTokenID: 502, ExpiresAt: vaultBase.Add(5 * time.Minute), CreatedAt: vaultBase},
		{CredentialID: c.ID, UpstreamTokenID: 503, ExpiresAt: vaultBase.Add(time.Hour), CreatedAt: vaultBase},
	}
	vaultUpdate(t, s, func(tx botgate.Tx) error {
		for _, g := range grants {
			if err := tx.CreateUpstreamGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	vaultView(t, s, func(tx botgate.Tx) error {
		got, err := tx.UpstreamGrant(ctx, grants[0].ID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, grants[0]) {
			t.Errorf("UpstreamGrant =\n %+v\nwant\n %+v", got, grants[0])
		}
		return nil
	})
	expired := func(at time.Duration) []int64 {
		var ids []int64
		vaultView(t, s, func(tx botgate.Tx) error {
			gs, err := tx.FindExpiredUpstreamGrants(ctx, vaultBase.Add(at), 10)
			for _, g := range gs {
				ids = append(ids, g.UpstreamTokenID)
			}
			return err
		})
		return ids
	}
	if got := expired(10 * time.Minute); !reflect.DeepEqual(got, []int64{502, 501}) {
		t.Errorf("expired at +10m: %v, want [502 501]", got)
	}
	vaultUpdate(t, s, func(tx botgate.Tx) error {
		return tx.RevokeUpstreamGrant(ctx, grants[1].ID, vaultBase.Add(6*time.Minute))
	})
	if got := expired(10 * time.Minute); !reflect.DeepEqual(got, []int64{501}) {
		t.Errorf("expired at +10m after revoking 502: %v, want [501]", got)
	}
	for _, tt := range []struct {
		name string
		fn   func(tx botgate.Tx) error
		want botgate.Kind
	}{
		{"revoke twice", func(tx botgate.Tx) error { return tx.RevokeUpstreamGrant(ctx, grants[1].ID, vaultBase) }, botgate.KindConflict},
		{"revoke missing", func(tx botgate.Tx) error { return tx.RevokeUpstreamGrant(ctx, 9999, vaultBase) }, botgate.KindNotFound},
		{"read missing", func(tx botgate.Tx) error { _, err := tx.UpstreamGrant(ctx, 9999); return err }, botgate.KindNotFound},
		{"missing credential", func(tx botgate.Tx) error {
			return tx.CreateUpstreamGrant(ctx, &botgate.UpstreamGrant{CredentialID: 9999, ExpiresAt: vaultBase, CreatedAt: vaultBase})
		}, botgate.KindInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Update(ctx, tt.fn); !botgate.IsKind(err, tt.want) {
				t.Errorf("got %v, want kind %v", err, tt.want)
			}
		})
	}
}
