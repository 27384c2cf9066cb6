package authority

import (
	"context"
	"strings"

	"github.com/botgate/botgate"
)

// ManifestChange is one thing a step of an automations manifest's plan
// changes, as the authority judges it before governance carries the step
// out: which team it belongs to, which resource it acts on, and which
// access and scopes it hands out.
type ManifestChange struct {
	// Object names what is changed, for the refusal ("automation
	// danger-review", "project team/app").
	Object string
	// Team is the full path of the group the object belongs to (an
	// automation's or service account's owner team, a project's group, a
	// new group's parent). "" for a top-level group.
	Team string
	// Resource is the project or group the step gives access to or
	// changes, if any.
	Resource botgate.ResourceType
	// ResourcePath is its full path.
	ResourcePath string
	// Level is the access level the step gives (a membership, a token's
	// bot); NoAccess for none.
	Level botgate.AccessLevel
	// Scopes are the scopes of a token the step issues.
	Scopes botgate.Scopes
}

// MayApplyManifest checks that the actor may plan and apply manifests at
// all: an administrator or botgate itself, or a user whose token holds api
// or manage_automations (a session without a token counts as api).
// KindForbidden otherwise.
func MayApplyManifest(a Actor) error {
	if a.isAdmin() {
		return nil
	}
	if a.User == nil || !a.User.Active() {
		return botgate.E(botgate.KindForbidden)
	}
	if a.Token != nil && !a.Token.Scopes.HasAny(botgate.ScopeAPI, botgate.ScopeManageAutomations) {
		return &botgate.Error{Kind: botgate.KindForbidden, Reason: botgate.ReasonInsufficientScope,
			Message: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeManageAutomations}.String()}
	}
	return nil
}

// ManifestAll reports whether the actor may apply every part of a
// manifest (an administrator or botgate itself); everyone else applies
// only the parts of the teams it maintains.
func ManifestAll(a Actor) bool { return a.isAdmin() }

// throughManifestScope reports whether the actor acts through a token
// that holds manage_automations but not api: it may give only the scopes
// botgate.Scope.GrantableByManifest allows.
func throughManifestScope(a Actor) bool {
	return a.Token != nil && !a.Token.Scopes.Has(botgate.ScopeAPI) && a.Token.Scopes.Has(botgate.ScopeManageAutomations)
}

// JudgeManifestChange decides whether the actor may make c through a
// manifest. The rules, for anyone but an administrator or botgate itself:
//   - the object's team must exist and the actor must be a Maintainer or
//     Owner of it (directly or through a parent group); a top-level group
//     needs an administrator;
//   - the resource the step acts on must lie inside that team, and the
//     actor must hold at least the level the step gives on it (an actor
//     never gives more than it has);
//   - a token may not carry an administrator's scope, and an actor acting
//     through manage_automations may not give manage_automations.
//
// The refusal is KindForbidden and names the object and why.
func (s *Service) JudgeManifestChange(ctx context.Context, a Actor, c ManifestChange) error {
	if a.isAdmin() {
		return nil
	}
	if err := MayApplyManifest(a); err != nil {
		return err
	}
	for _, sc := range c.Scopes {
		if sc.AdminOnly() {
			return forbidden("%s: the %s scope is given only by an administrator", c.Object, sc)
		}
		if throughManifestScope(a) && !sc.GrantableByManifest() {
			return forbidden("%s: a token acting through manage_automations cannot give the %s scope; a team Owner creates governance tokens", c.Object, sc)
		}
	}
	if c.Team == "" {
		return forbidden("%s belongs to no team (a top-level group, or something outside every team): only an administrator may change it", c.Object)
	}
	return s.store.View(ctx, func(tx botgate.Tx) error {
		// A team that does not exist reads as one the actor is not a
		// member of: the refusal tells nothing about other teams.
		now := s.clock.Now()
		have := botgate.NoAccess
		team, err := tx.GroupByPath(ctx, c.Team)
		switch {
		case err == nil:
			if have, err = AccessOn(ctx, tx, a.User.ID, botgate.Resource{Type: botgate.GroupResource, ID: team.ID}, now); err != nil {
				return err
			}
		case !botgate.IsKind(err, botgate.KindNotFound):
			return err
		}
		if have < botgate.MaintainerAccess {
			return forbidden("%s belongs to team %s, where you are %s; only its Maintainers and Owners (or an administrator) may change it", c.Object, c.Team, roleWords(have))
		}
		if c.Level > have && c.ResourcePath == "" {
			return forbidden("%s: it gives the %s role, above your own role in team %s (%s)", c.Object, c.Level, c.Team, have)
		}
		if c.ResourcePath == "" {
			return nil
		}
		r, err := resourceByPath(ctx, tx, c.Resource, c.ResourcePath)
		if botgate.IsKind(err, botgate.KindNotFound) {
			if insideTeam(c.ResourcePath, c.Team) {
				return nil // created by an earlier step of the same plan, inside the team
			}
			return forbidden("%s: %s %s lies outside team %s, and you are not a Maintainer or Owner there", c.Object, c.Resource, c.ResourcePath, c.Team)
		}
		if err != nil {
			return err
		}
		on, err := AccessOn(ctx, tx, a.User.ID, r, now)
		if err != nil {
			return err
		}
		if on < botgate.MaintainerAccess {
			return forbidden("%s: it acts on %s %s, where you are %s; only its Maintainers and Owners may give access there", c.Object, c.Resource, c.ResourcePath, roleWords(on))
		}
		if c.Level > on {
			return forbidden("%s: it gives the %s role on %s %s, above your own role there (%s)", c.Object, c.Level, c.Resource, c.ResourcePath, on)
		}
		return nil
	})
}

// insideTeam reports whether the full path lies inside the team's group.
func insideTeam(path, team string) bool {
	return path == team || strings.HasPrefix(path, team+"/")
}

// resourceByPath finds a project or group by full path.
func resourceByPath(ctx context.Context, tx botgate.Tx, typ botgate.ResourceType, path string) (botgate.Resource, error) {
	switch typ {
	case botgate.ProjectResource:
		p, err := tx.ProjectByPath(ctx, path)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: p.ID}, nil
	case botgate.GroupResource:
		g, err := tx.GroupByPath(ctx, path)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: g.ID}, nil
	}
	return botgate.Resource{}, botgate.Invalid("resource", "unknown resource type %q", typ)
}

// roleWords names a role for a refusal ("a Developer", "not a member").
func roleWords(l botgate.AccessLevel) string {
	if l == botgate.NoAccess {
		return "not a member"
	}
	return "a " + l.String()
}

// KeepIssuedSecret stores the secret of a token a manifest apply or a
// reissue just issued in the vault of the automation's owner team
// (groupID), as the actor that issued it; command names what issued it
// ("apply", "token reissue"). Unlike PutSecret it accepts a team's bot
// acting through manage_automations: the token was issued under
// JudgeManifestChange's rules (or DueTokens'), which made the actor a
// Maintainer or Owner of that team, and the secret goes nowhere but the
// team's own vault. The actor must still be an administrator, botgate
// itself, or a Maintainer or Owner of the team. KindForbidden otherwise.
// The audit event of a write on a Maintainer's or Owner's behalf names
// the command and the actor ("token reissue by alice").
func (v *Vault) KeepIssuedSecret(ctx context.Context, a Actor, command string, in NewSecret) error {
	const op = "authority.Vault.KeepIssuedSecret"
	if !a.isAdmin() {
		if a.User == nil {
			return botgate.E(op, botgate.KindForbidden)
		}
		err := v.s.store.View(ctx, func(tx botgate.Tx) error {
			_, err := v.s.require(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: in.GroupID}, botgate.MaintainerAccess)
			return err
		})
		if err != nil {
			return botgate.E(op, err)
		}
		// The write itself is botgate's, on the actor's behalf; the audit
		// event names the command and the actor.
		a = Actor{System: true, Name: command + " by " + a.User.Username, IP: a.IP, UserAgent: a.UserAgent}
	}
	_, _, err := v.PutSecret(ctx, a, in)
	return err
}

// MayReveal checks that the actor may read the vault of team groupID, so
// that an apply may hand it the secrets it keeps there: the rule of a
// secret read (Maintainers and Owners of the team who are people, with a
// token holding api or read_secret; administrators; botgate itself).
// KindForbidden or KindNotFound otherwise.
func (v *Vault) MayReveal(ctx context.Context, a Actor, groupID int64) error {
	return v.s.store.View(ctx, func(tx botgate.Tx) error {
		_, err := v.mayRead(ctx, tx, a, &botgate.Secret{OwnerGroupID: groupID})
		return err
	})
}
