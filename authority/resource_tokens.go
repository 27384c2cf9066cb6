package authority

import (
	"context"

	"github.com/botgate/botgate"
)

// This file holds project and group access tokens: their creation, lists
// and reads.

// CreateResourceToken creates a project or group access token. It creates a
// bot user named after the token, a member of that resource only, at the
// token's access level. The actor needs the Maintainer role on a project
// (Owner on a group), and the level may not exceed the actor's own.
func (s *Service) CreateResourceToken(ctx context.Context, a Actor, r botgate.Resource, in NewToken) (*Created, error) {
	const op = "authority.CreateResourceToken"
	scopes, exp, err := s.validateNew(in, true)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	level := in.AccessLevel
	if level == 0 {
		level = botgate.DefaultTokenLevel
	}
	if !level.ValidTokenLevel() {
		return nil, botgate.E(op, botgate.Invalid("access_level", "access_level does not have a valid value (10, 15, 20, 30, 40 or 50)"))
	}
	need := botgate.MaintainerAccess
	if r.Type == botgate.GroupResource {
		need = botgate.OwnerAccess
	}
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	var out Created
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
		have, err := s.requireExisting(ctx, tx, a, r, need)
		if err != nil {
			return err
		}
		if level > have {
			return botgate.Invalid("access_level", "Access level of the token contains permissions not held by the creating user: %d (%s) exceeds your own role on this %s (%s); choose %d or lower", level, level, r.Type, have, have)
		}
		hex, err := s.randomHex(16)
		if err != nil {
			return err
		}
		username := string(r.Type) + "_" + itoa(r.ID) + "_bot_" + hex
		bot := &botgate.User{
			Username: username, Name: in.Name, Email: username + "@noreply." + s.host,
			Kind: botgate.ProjectBot, State: botgate.UserActive, Owner: r, CreatedByID: a.userID(), CreatedAt: s.clock.Now(),
		}
		kind := botgate.ProjectAccessToken
		if r.Type == botgate.GroupResource {
			bot.Kind, kind = botgate.GroupBot, botgate.GroupAccessToken
		}
		if err := tx.CreateUser(ctx, bot); err != nil {
			return err
		}
		ue := s.event(a, botgate.ActionUserCreate, "user", bot.ID, bot.Username)
		ue.Details = details("kind", string(bot.Kind), "resource", r.String())
		if err := s.record(ctx, tx, ue); err != nil {
			return err
		}
		m := &botgate.Member{Resource: r, UserID: bot.ID, AccessLevel: level, CreatedByID: a.userID(), CreatedAt: s.clock.Now()}
		if err := tx.CreateMember(ctx, m); err != nil {
			return err
		}
		out.User = bot
		t := &botgate.Token{
			Kind: kind, Name: in.Name, Description: in.Description, Scopes: scopes, ExpiresAt: exp,
			AccessLevel: level, Resource: r, Automation: in.Automation,
		}
		if err := s.checkMint(ctx, tx, a, bot, t, false); err != nil {
			return err
		}
		out.Token, out.Secret, err = s.insertToken(ctx, tx, a, bot, t)
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return &out, nil
}

// resourceTokenLevel is the role that manages r's access tokens.
func resourceTokenLevel(r botgate.Resource) botgate.AccessLevel {
	if r.Type == botgate.GroupResource {
		return botgate.OwnerAccess
	}
	return botgate.MaintainerAccess
}

// ResourceTokens lists the project or group access tokens of r. The actor
// needs the role that manages them (Maintainer on a project, Owner on a
// group).
func (s *Service) ResourceTokens(ctx context.Context, a Actor, r botgate.Resource, q TokenQuery) ([]*botgate.Token, int, error) {
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := s.requireExisting(ctx, tx, a, r, resourceTokenLevel(r)); err != nil {
			if botgate.IsKind(err, botgate.KindForbidden) {
				return &botgate.Error{Kind: botgate.KindUnauthenticated, Err: err}
			}
			return err
		}
		q.Resource = &r
		q.Kinds = []botgate.TokenKind{resourceTokenKind(r)}
		var err error
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.ResourceTokens", err)
	}
	return out, total, nil
}

func resourceTokenKind(r botgate.Resource) botgate.TokenKind {
	if r.Type == botgate.GroupResource {
		return botgate.GroupAccessToken
	}
	return botgate.ProjectAccessToken
}

// resourceTokenNotFound is GitLab's verbatim "project Access Token Not
// Found" (lower-case resource type), which the HTTP edge shows after the
// status code.
func resourceTokenNotFound(r botgate.Resource) error {
	return botgate.NotFound(string(r.Type) + " Access Token")
}

// ResourceToken returns the access token id of r. The token itself, or an
// actor with the managing role, may read it; anything else reads as not
// found.
func (s *Service) ResourceToken(ctx context.Context, a Actor, r botgate.Resource, id int64) (*botgate.Token, error) {
	var t *botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		t, err = s.resourceToken(ctx, tx, a, r, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.ResourceToken", err)
	}
	return t, nil
}

func (s *Service) resourceToken(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, id int64) (*botgate.Token, error) {
	if err := resourceExists(ctx, tx, r); err != nil {
		return nil, err
	}
	t, err := tx.Token(ctx, id)
	if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && (t.Resource != r || t.Kind != resourceTokenKind(r))) {
		return nil, resourceTokenNotFound(r)
	}
	if err != nil {
		return nil, err
	}
	if a.Token != nil && a.Token.ID == t.ID {
		return t, nil
	}
	if _, err := s.require(ctx, tx, a, r, resourceTokenLevel(r)); err != nil {
		if botgate.IsKind(err, botgate.KindForbidden) {
			return nil, resourceTokenNotFound(r)
		}
		return nil, err
	}
	return t, nil
}

// CheckResourceToken checks that id is an access token of r that the actor
// may manage, before a rotation or revocation through r's routes.
func (s *Service) CheckResourceToken(ctx context.Context, a Actor, r botgate.Resource, id int64) error {
	_, err := s.ResourceToken(ctx, a, r, id)
	return err
}
