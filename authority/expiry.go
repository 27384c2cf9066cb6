package authority

import (
	"context"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// TokenTeam returns the group answerable for t: the owner of the
// automation it serves when it has a record, else the group of its project
// or its group (resource tokens), else its service account's owner. 0 when
// no team owns it (a person's own token).
func TokenTeam(ctx context.Context, tx botgate.Tx, t *botgate.Token) (int64, error) {
	if t.Automation != "" {
		rec, err := tx.AutomationByName(ctx, t.Automation)
		switch {
		case err == nil:
			return rec.OwnerGroupID, nil
		case !botgate.IsKind(err, botgate.KindNotFound):
			return 0, err
		}
	}
	owner := t.Resource
	if owner.IsZero() {
		u, err := tx.User(ctx, t.UserID)
		if err != nil {
			return 0, err
		}
		owner = u.Owner
	}
	switch owner.Type {
	case botgate.GroupResource:
		return owner.ID, nil
	case botgate.ProjectResource:
		p, err := tx.Project(ctx, owner.ID)
		if err != nil {
			return 0, err
		}
		return p.NamespaceID, nil
	}
	return 0, nil
}

// RecordExpiryNotice records, in one transaction with its audit event (as
// botgate itself), that n was sent about t to the team teamPath; covered
// are the larger thresholds n makes moot (a token first seen 5 days before
// its expiry gets the 7-day notice only), recorded too so that they are
// never sent. KindConflict if n was recorded before: the caller sent a
// duplicate, which it should log.
func (s *Service) RecordExpiryNotice(ctx context.Context, t *botgate.Token, teamPath string, n *botgate.ExpiryNotice, covered []int) error {
	const op = "authority.RecordExpiryNotice"
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		if err := tx.RecordExpiryNotice(ctx, n); err != nil {
			return err
		}
		for _, d := range covered {
			c := *n
			c.ThresholdDays = d
			if err := tx.RecordExpiryNotice(ctx, &c); err != nil && !botgate.IsKind(err, botgate.KindConflict) {
				return err
			}
		}
		e := s.event(SystemActor(), botgate.ActionExpiryNotice, "token", t.ID, t.Name)
		e.Details = map[string]string{
			"channel": string(n.Channel), "threshold_days": strconv.Itoa(n.ThresholdDays), "team": teamPath,
			"expires_at": n.ExpiresAt.Format(botgate.DateFormat),
		}
		if t.Automation != "" {
			e.Details["automation"] = t.Automation
		}
		if len(covered) > 0 {
			var cs []string
			for _, d := range covered {
				cs = append(cs, strconv.Itoa(d))
			}
			e.Details["covers_threshold_days"] = strings.Join(cs, ",")
		}
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	return nil
}

// DueToken is a manifest-managed token due for reissue.
type DueToken struct {
	Token *botgate.Token
	// Team is the automation's owner group.
	Team *botgate.Group
}

// DueTokens returns the unrevoked tokens of automations with a record
// (manifest-managed) that expire within the duration from now, expired
// ones included, soonest first, for a bulk reissue by the actor.
//
// team, a group's full path, narrows them to the automations that group
// or its subgroups own; "" means every team. Only an administrator may ask
// for every team; for one team the actor needs the Maintainer role on it
// (as a team's vault and its service accounts do). A project or group
// access token may not reissue (it would mint). Errors: KindForbidden with
// the reason; KindNotFound for a team the actor cannot see; KindInvalid
// for a negative duration.
func (s *Service) DueTokens(ctx context.Context, a Actor, team string, within time.Duration) ([]DueToken, error) {
	const op = "authority.DueTokens"
	if within < 0 {
		return nil, botgate.E(op, botgate.Invalid("expiring_within", "expiring_within must not be negative"))
	}
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	if team == "" && !a.isAdmin() {
		return nil, botgate.E(op, forbidden("reissuing every team's tokens requires an administrator; name your team (--team) to reissue its tokens"))
	}
	if a.User == nil && !a.System {
		return nil, botgate.E(op, forbidden("reissuing tokens requires a signed-in user"))
	}
	var out []DueToken
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		var scope *botgate.Group
		if team != "" {
			g, err := tx.GroupByPath(ctx, team)
			if botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("Group")
			}
			if err != nil {
				return err
			}
			if _, err := s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, botgate.MaintainerAccess); err != nil {
				return err
			}
			scope = g
		}
		before := s.clock.Now().Add(within)
		// ExpiresBefore is exclusive; a token expiring at before is due.
		limit := before.Add(time.Microsecond)
		ts, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Revoked: new(bool), ExpiresBefore: &limit, Sort: "expires_asc"})
		if err != nil {
			return err
		}
		groups := map[int64]*botgate.Group{}
		for _, t := range ts {
			if t.Automation == "" || t.ExpiresAt == nil || t.ExpiresAt.After(before) {
				continue
			}
			rec, err := tx.AutomationByName(ctx, t.Automation)
			if botgate.IsKind(err, botgate.KindNotFound) {
				continue // labelled by hand, not managed by a manifest
			}
			if err != nil {
				return err
			}
			g, ok := groups[rec.OwnerGroupID]
			if !ok {
				if g, err = tx.Group(ctx, rec.OwnerGroupID); err != nil {
					return err
				}
				groups[g.ID] = g
			}
			if scope != nil && !strings.EqualFold(g.FullPath, scope.FullPath) && !strings.HasPrefix(strings.ToLower(g.FullPath), strings.ToLower(scope.FullPath)+"/") {
				continue
			}
			out = append(out, DueToken{Token: t, Team: g})
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	slices.SortStableFunc(out, func(x, y DueToken) int { return x.Token.ExpiresAt.Compare(*y.Token.ExpiresAt) })
	return out, nil
}

// SetTeamNotify stores the group's notice destinations (webhook URL and
// email addresses), replacing any; none removes them. The actor needs the
// Maintainer role on the group. The audit event shows the webhook redacted.
// Errors: KindNotFound for a group the actor cannot see, KindForbidden
// below Maintainer, KindInvalid for a bad URL or address.
func (s *Service) SetTeamNotify(ctx context.Context, a Actor, groupID int64, webhook string, emails []string) error {
	const op = "authority.SetTeamNotify"
	if webhook != "" {
		if _, err := botgate.ParseHTTPURL("webhook", webhook); err != nil {
			return botgate.E(op, err)
		}
	}
	for _, addr := range emails {
		if m, err := mail.ParseAddress(addr); err != nil || m.Address != addr {
			return botgate.E(op, botgate.Invalid("email", "%q is not an email address", addr))
		}
	}
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		r := botgate.Resource{Type: botgate.GroupResource, ID: groupID}
		if _, err := s.requireExisting(ctx, tx, a, r, botgate.MaintainerAccess); err != nil {
			return err
		}
		g, err := tx.Group(ctx, groupID)
		if err != nil {
			return err
		}
		n := &botgate.TeamNotify{GroupID: groupID, WebhookURL: webhook, Emails: emails, UpdatedAt: s.clock.Now()}
		if err := tx.PutTeamNotify(ctx, n); err != nil {
			return err
		}
		e := s.event(a, botgate.ActionTeamNotifyUpdate, "group", g.ID, g.FullPath)
		e.Details = map[string]string{"webhook": botgate.RedactURL(webhook), "email": strings.Join(emails, ",")}
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	return nil
}
