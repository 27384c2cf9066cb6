package authority

import (
	"context"

	"github.com/botgate/botgate"
)

// checkMint enforces the one rule behind every path that hands out a
// token's secret (creating a personal, resource or service account token,
// rotating any token): an actor never obtains a token whose effective
// access exceeds its own. t is the token about to be written for u, with
// its kind, scopes, access level, resource and family set; self says that
// the actor rotates the very token it presents, which hands it nothing it
// does not hold already.
//
// The rule, per target:
//   - admin-only scopes (sudo, admin_mode, …): only an administrator gives
//     them, and only to an administrator;
//   - a bot or service account never mints for itself (its owning team's
//     Maintainers and Owners, or an administrator, do);
//   - a person's token: the person or an administrator;
//   - a bot's or service account's token carries its user's memberships:
//     the actor must hold at least the same role on every one of them, and
//     at least the token's own access level on its resource (Owner-level
//     tokens need an Owner);
//   - a token whose family is bound to vault secrets: the actor must be
//     allowed to read those secrets.
//
// Administrators and botgate itself are exempt from all but the scope rule.
// Errors are KindForbidden, or KindInvalid for admin scopes on a token of a
// user who is not an administrator.
func (s *Service) checkMint(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User, t *botgate.Token, self bool) error {
	if a.Token != nil && a.Token.Revoked {
		// Only a token within its rotation grace window gets this far.
		return forbidden("a rotated-out token, still accepted within the rotation grace window, cannot create or rotate tokens: use the token that replaced it")
	}
	if err := checkAdminScopes(u, t.Scopes); err != nil {
		return err
	}
	if self {
		return nil
	}
	if throughManifestScope(a) {
		for _, sc := range t.Scopes {
			if !sc.GrantableByManifest() {
				return forbidden("a token acting through manage_automations cannot give the %s scope", sc)
			}
		}
	}
	if !a.isAdmin() {
		for _, sc := range t.Scopes {
			if sc.AdminOnly() {
				return forbidden("only administrators may give the %s scope", sc)
			}
		}
	}
	if a.isAdmin() {
		return nil
	}
	if a.User == nil {
		return botgate.E(botgate.KindForbidden)
	}
	switch {
	case u.Kind == botgate.HumanUser && a.User.ID == u.ID:
		return nil
	case u.Kind == botgate.HumanUser:
		return forbidden("only administrators may create tokens for other users")
	case a.User.ID == u.ID:
		return forbidden("a %s cannot create tokens for itself; its owning team's Maintainers and Owners, or an administrator, can", kindWords(u.Kind))
	}
	if !t.Resource.IsZero() && t.AccessLevel != botgate.NoAccess {
		have, err := s.accessOn(ctx, tx, a, t.Resource)
		if err != nil {
			return err
		}
		if t.AccessLevel > have {
			return forbidden("the token's access level (%s) exceeds your own role on this %s (%s)", t.AccessLevel, t.Resource.Type, have)
		}
	}
	if err := s.capMemberships(ctx, tx, a, u); err != nil {
		return err
	}
	if t.FamilyID != 0 {
		return s.checkBoundSecrets(ctx, tx, a, t.FamilyID)
	}
	return nil
}

// checkRevoke enforces the same ceiling on revocation: whoever may manage
// a resource's tokens may revoke those up to their own role there, and an
// Owner-level token is revoked only by an Owner (or an administrator, or
// the token itself), so a Maintainer cannot cut off the Owners' automation.
func (s *Service) checkRevoke(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token) error {
	if a.isAdmin() || (a.Token != nil && a.Token.ID == t.ID) || t.Resource.IsZero() || t.AccessLevel == botgate.NoAccess {
		return nil
	}
	have, err := s.accessOn(ctx, tx, a, t.Resource)
	if err != nil {
		return err
	}
	if t.AccessLevel > have {
		return forbidden("the token's access level (%s) exceeds your own role on this %s (%s); only a member with that role may revoke it", t.AccessLevel, t.Resource.Type, have)
	}
	return nil
}

// capMemberships checks that the actor holds at least u's role on every
// resource u is a member of, so that a token for u gives the actor no
// access it lacks.
func (s *Service) capMemberships(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User) error {
	if u.ID == 0 {
		return botgate.E(botgate.KindInternal, "authority.capMemberships: user without id")
	}
	now := s.clock.Now()
	ms, _, err := tx.FindMembers(ctx, botgate.MemberFilter{UserID: u.ID, ActiveAt: &now, Page: botgate.Page{Limit: maxScan}})
	if err != nil {
		return err
	}
	for _, m := range ms {
		have, err := s.accessOn(ctx, tx, a, m.Resource)
		if err != nil {
			return err
		}
		if have < m.AccessLevel {
			if have == botgate.NoAccess {
				return forbidden("%s holds the %s role on a %s where you have no role; a token for it would exceed your own access", u.Username, m.AccessLevel, m.Resource.Type)
			}
			return forbidden("%s holds the %s role on %s %d, above your own role there (%s); a token for it would exceed your own access", u.Username, m.AccessLevel, m.Resource.Type, m.Resource.ID, have)
		}
	}
	return nil
}

// checkBoundSecrets checks that the actor may read every vault secret bound
// to the token family: a new token of the family reads them. Who may read
// follows Vault.mayRead: the owning team's Maintainers and Owners (people),
// administrators and botgate itself.
func (s *Service) checkBoundSecrets(ctx context.Context, tx botgate.Tx, a Actor, familyID int64) error {
	if a.isAdmin() {
		return nil
	}
	secs, _, err := tx.FindSecrets(ctx, botgate.SecretFilter{BoundFamilyID: familyID, Page: botgate.Page{Limit: maxScan}})
	if err != nil {
		return err
	}
	for _, sec := range secs {
		if a.User == nil || a.User.Kind != botgate.HumanUser {
			return forbidden("the token is bound to vault secrets; only its team's Maintainers and Owners may rotate it")
		}
		level, err := AccessOn(ctx, tx, a.User.ID, botgate.Resource{Type: botgate.GroupResource, ID: sec.OwnerGroupID}, s.clock.Now())
		if err != nil {
			return err
		}
		if level < botgate.MaintainerAccess {
			return forbidden("the token is bound to vault secrets of a team where you cannot read secrets; only that team's Maintainers and Owners may rotate it")
		}
	}
	return nil
}

// kindWords names a user kind for a message ("service account").
func kindWords(k botgate.UserKind) string {
	switch k {
	case botgate.ProjectBot:
		return "project bot"
	case botgate.GroupBot:
		return "group bot"
	case botgate.ServiceAccount:
		return "service account"
	}
	return string(k)
}
