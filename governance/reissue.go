package governance

import (
	"context"
	"fmt"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/manifest"
)

// Reissue rotates, as the actor, every manifest-managed token (one of an
// automation with a record) that expires within req.ExpiringWithin,
// expired ones included, and keeps each new secret in the owning team's
// vault under SecretName(automation), as apply does. Rotation is the
// authority's: the new token keeps the old one's lifetime, the old one is
// revoked, and presenting the old one to rotate again revokes the family.
//
// Who may reissue what is the authority's rule (authority.DueTokens): an
// administrator every team's tokens, a team's Maintainer its own (with
// req.Team); anyone else is refused before anything is read or rotated.
// With req.DryRun nothing is rotated. A token that fails is reported with
// its error and the others go on; if its new secret cannot be kept, the
// new token is revoked again (nobody holds its secret) and the next apply
// issues another.
//
// Errors: KindInvalid for a bad ExpiringWithin or an instance without a
// vault key (unless DryRun); the refusals of authority.DueTokens.
func (g *Governor) Reissue(ctx context.Context, a authority.Actor, req apiwire.Reissue) (*apiwire.ReissueReport, error) {
	const op = "governance.Reissue"
	days, err := manifest.ParseDays(req.ExpiringWithin)
	if err != nil {
		return nil, botgate.E(op, botgate.Invalid("expiring_within", "expiring_within %q is not a duration: write a whole number of days or weeks, such as 30d or 2w", req.ExpiringWithin))
	}
	due, err := g.auth.DueTokens(ctx, a, req.Team, time.Duration(days)*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if g.vault == nil && !req.DryRun && len(due) > 0 {
		return nil, botgate.E(op, botgate.Invalid("vault", "reissue keeps each new secret in its team's vault, and this server has no vault key loaded: start it with the master key"))
	}
	rep := &apiwire.ReissueReport{DryRun: req.DryRun, ExpiringWithin: manifest.FormatDays(days), Team: req.Team, Tokens: []apiwire.ReissueItem{}}
	for _, d := range due {
		it := apiwire.ReissueItem{TokenID: d.Token.ID, Token: d.Token.Name, Automation: d.Token.Automation, Team: d.Team.FullPath,
			OldExpiresAt: d.Token.ExpiresAt.Format(botgate.DateFormat)}
		if !req.DryRun {
			g.reissueOne(ctx, a, d, &it)
		}
		rep.Tokens = append(rep.Tokens, it)
	}
	return rep, nil
}

// reissueOne rotates one due token and keeps its secret, filling in it.
func (g *Governor) reissueOne(ctx context.Context, a authority.Actor, d authority.DueToken, it *apiwire.ReissueItem) {
	c, err := g.auth.RotateToken(ctx, a, d.Token.ID, nil)
	if err != nil {
		it.Error = botgate.MessageOf(err)
		return
	}
	it.NewTokenID = c.Token.ID
	if c.Token.ExpiresAt != nil {
		s := c.Token.ExpiresAt.Format(botgate.DateFormat)
		it.NewExpiresAt = &s
	}
	ref, err := g.keep(ctx, a, c, "token reissue")
	if err != nil {
		if rerr := g.auth.RevokeToken(ctx, a, c.Token.ID); rerr != nil && !botgate.IsKind(rerr, botgate.KindConflict) {
			g.log.Error("revoking a reissued token whose secret could not be kept", "token_id", c.Token.ID, "err", rerr)
		}
		it.Error = fmt.Sprintf("rotated, but the new secret could not be kept in the vault (%s), so the new token #%d was revoked: run botgate apply to issue another",
			botgate.MessageOf(err), c.Token.ID)
		return
	}
	it.VaultPath = ref
}
