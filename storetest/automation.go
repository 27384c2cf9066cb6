package storetest

import (
	"testing"

	"github.com/botgate/botgate"
)

// testTokenAutomation checks SetTokenAutomation: it changes the label and
// nothing else, clears it with "", and reports a missing token.
func testTokenAutomation(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var tk, other *botgate.Token
	update(t, s, func(tx botgate.Tx) error {
		u := mustCreateUser(ctx, t, tx, newUser("owner", botgate.HumanUser))
		tk = mustCreateToken(ctx, t, tx, &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "ci",
			Scopes: botgate.Scopes{botgate.ScopeAPI}, Digest: digestOf("automation"), CreatedAt: base, Automation: "old"})
		other = mustCreateToken(ctx, t, tx, &botgate.Token{UserID: u.ID, Kind: botgate.PersonalToken, Name: "other",
			Scopes: botgate.Scopes{botgate.ScopeAPI}, Digest: digestOf("automation-other"), CreatedAt: base, Automation: "keep"})
		return nil
	})
	for _, label := range []string{"release-notes", ""} {
		update(t, s, func(tx botgate.Tx) error { return tx.SetTokenAutomation(ctx, tk.ID, label) })
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.Token(ctx, tk.ID)
			if err != nil {
				return err
			}
			if got.Automation != label || got.Name != "ci" || got.Revoked || got.FamilyID != tk.FamilyID {
				t.Errorf("after SetTokenAutomation(%q): %+v", label, got)
			}
			o, err := tx.Token(ctx, other.ID)
			if err != nil {
				return err
			}
			if o.Automation != "keep" {
				t.Errorf("another token's automation changed to %q", o.Automation)
			}
			return nil
		})
	}
	err := s.Update(ctx, func(tx botgate.Tx) error { return tx.SetTokenAutomation(ctx, tk.ID+1000, "x") })
	wantKind(t, "SetTokenAutomation(missing)", err, botgate.KindNotFound)
	view(t, s, func(tx botgate.Tx) error {
		got, total, err := tx.FindTokens(ctx, botgate.TokenFilter{Automations: []string{"keep", "nobody"}})
		if err != nil {
			return err
		}
		if total != 1 || len(got) != 1 || got[0].ID != other.ID {
			t.Errorf("FindTokens(Automations keep, nobody): got %d of %d, want only %d", len(got), total, other.ID)
		}
		return nil
	})
}
