package authority

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// NewToken describes a token to create.
type NewToken struct {
	Name        string
	Description string
	Scopes      []string
	ExpiresAt   *time.Time // a date; nil for the policy default
	// AccessLevel is for project and group access tokens (default
	// Maintainer).
	AccessLevel botgate.AccessLevel
	// Automation names the automation the token serves.
	Automation string
}

// Created is a token just created or rotated, with its secret. The secret
// is shown once and never stored.
type Created struct {
	Token  *botgate.Token
	User   *botgate.User // the bot user, for project and group tokens
	Secret string
}

// CreatePersonalToken creates a personal access token for a human user.
// A person may create their own; administrators may create one for anyone.
// Service accounts get theirs from their team through
// CreateServiceAccountToken, never from themselves; bots have none but
// their resource token.
func (s *Service) CreatePersonalToken(ctx context.Context, a Actor, userID int64, in NewToken) (*Created, error) {
	const op = "authority.CreatePersonalToken"
	scopes, exp, err := s.validateNew(in, false)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	var out Created
	// A new token touches no row of another's: it runs beside other
	// shared updates.
	err = s.update(ctx, func(tx botgate.Tx, _ bool) error {
		u, err := tx.User(ctx, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("User")
		}
		if err != nil {
			return err
		}
		if !a.isAdmin() && a.userID() != u.ID {
			return forbidden("only administrators may create tokens for other users")
		}
		if u.Kind == botgate.ProjectBot || u.Kind == botgate.GroupBot {
			return botgate.Invalid("user_id", "%s is a %s; its token is managed as a %s access token", u.Username, strings.ReplaceAll(string(u.Kind), "_", " "), u.Owner.Type)
		}
		if !u.Active() {
			return botgate.Invalid("user_id", "user %s is %s", u.Username, u.State)
		}
		kind := botgate.PersonalToken
		if u.Kind == botgate.ServiceAccount {
			kind = botgate.ServiceAccountToken
		}
		t := &botgate.Token{
			Kind: kind, Name: in.Name, Description: in.Description, Scopes: scopes, ExpiresAt: exp, Automation: in.Automation,
		}
		if err := s.checkMint(ctx, tx, a, u, t, false); err != nil {
			return err
		}
		out.Token, out.Secret, err = s.insertToken(ctx, tx, a, u, t)
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return &out, nil
}

// noBotMinting refuses the creation of identities and tokens by a project
// or group bot, as GitLab does: a leaked resource token cannot make itself
// new, longer-lived credentials. (Rotation of its own token stays allowed.)
// The one exception is a team's governance token, which holds
// manage_automations and not api: it reaches only the manifest endpoints,
// whose every step JudgeManifestChange has judged (its team's objects, at
// most its own role, never manage_automations or an administrator's
// scope), and creating its team's automations' tokens is its purpose.
func noBotMinting(a Actor) error {
	if !a.isAdmin() && a.User != nil && (a.User.Kind == botgate.ProjectBot || a.User.Kind == botgate.GroupBot) && !throughManifestScope(a) {
		return forbidden("project and group access tokens cannot create tokens or service accounts; use a personal or service account token")
	}
	return nil
}

// canManageToken reports whether the actor may read, rotate or revoke t,
// and returns t's user, which it reads unless t is the actor's own token
// (nil then). A token may always manage itself (the edge checks its
// scope).
func (s *Service) canManageToken(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token) (*botgate.User, error) {
	if a.Token != nil && a.Token.ID == t.ID {
		return nil, nil
	}
	u, err := tx.User(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	return u, s.canManageUser(ctx, tx, a, u)
}

// token returns the token id, reported as a not-found "Token" when it does
// not exist.
func token(ctx context.Context, tx botgate.Tx, id int64) (*botgate.Token, error) {
	t, err := tx.Token(ctx, id)
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Token")
	}
	return t, err
}

// manageableToken returns the token id if the actor may manage it. A token
// the actor may not manage is reported as not found, as a missing one is,
// so that its existence is not revealed.
func (s *Service) manageableToken(ctx context.Context, tx botgate.Tx, a Actor, id int64) (*botgate.Token, error) {
	t, _, err := s.manageableTokenUser(ctx, tx, a, id)
	return t, err
}

// manageableTokenUser is manageableToken, also returning the token's user.
func (s *Service) manageableTokenUser(ctx context.Context, tx botgate.Tx, a Actor, id int64) (*botgate.Token, *botgate.User, error) {
	t, err := token(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.canManageToken(ctx, tx, a, t)
	if err != nil {
		if botgate.IsKind(err, botgate.KindForbidden) {
			return nil, nil, botgate.NotFound("Token")
		}
		return nil, nil, err
	}
	return t, u, nil
}

// insertToken generates a secret, stores the token's digest and audits it;
// decorate, if given, amends the audit event before it is recorded.
func (s *Service) insertToken(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User, t *botgate.Token, decorate ...func(*botgate.AuditEvent)) (*botgate.Token, string, error) {
	secret, err := tokenfmt.Generate(s.rand, s.prefix, tokenfmt.Routing{User: u.ID})
	if err != nil {
		return nil, "", botgate.E(botgate.KindInternal, err)
	}
	d := s.digester.Digest(secret)
	t.UserID = u.ID
	t.Digest = d[:]
	t.CreatedAt = s.clock.Now()
	t.CreatedByID = a.userID()
	if err := tx.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	action := botgate.ActionTokenCreate
	if t.PreviousID != 0 {
		action = botgate.ActionTokenRotate
	}
	e := s.event(a, action, "token", t.ID, t.Name)
	e.Details = details("kind", string(t.Kind), "user", u.Username, "scopes", t.Scopes.String(),
		"expires_at", dateStr(t.ExpiresAt), "access_level", levelStr(t.AccessLevel),
		"resource", t.Resource.String(), "automation", t.Automation, "previous_id", idStr(t.PreviousID), "family_id", idStr(t.FamilyID))
	for _, d := range decorate {
		d(e)
	}
	return t, secret, s.record(ctx, tx, e)
}

// MaxDescriptionLength bounds a token's description, as GitLab's.
const MaxDescriptionLength = 255

// validateNew checks a new token's name, scopes and expiry.
func (s *Service) validateNew(in NewToken, resourceBot bool) (botgate.Scopes, *time.Time, error) {
	if err := botgate.ValidateTokenName(in.Name); err != nil {
		return nil, nil, err
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLength {
		return nil, nil, botgate.Invalid("description", "description is too long (maximum is %d characters)", MaxDescriptionLength)
	}
	scopes, err := botgate.ParseScopes(in.Scopes)
	if err != nil {
		return nil, nil, err
	}
	if resourceBot {
		for _, sc := range scopes {
			if !sc.ResourceBotScope() {
				return nil, nil, botgate.Invalid("scopes", "scopes does not have a valid value: %q cannot be given to a project or group access token", sc)
			}
		}
	}
	exp := in.ExpiresAt
	if exp != nil {
		d := botgate.Date(*exp)
		exp = &d
	} else if s.requireExp {
		d := botgate.Date(s.clock.Now().Add(s.maxLifetime))
		exp = &d
	}
	if err := s.checkFutureDate("expires_at", exp, true); err != nil {
		return nil, nil, err
	}
	return scopes, exp, nil
}

// checkFutureDate checks that a date lies after today and, for tokens,
// within the maximum lifetime.
func (s *Service) checkFutureDate(field string, d *time.Time, token bool) error {
	if d == nil {
		return nil
	}
	today := botgate.Date(s.clock.Now())
	if !d.After(today) {
		return botgate.Invalid(field, "Expiration date %s must be in the future (after %s)", d.Format(botgate.DateFormat), today.Format(botgate.DateFormat))
	}
	if token && s.maxLifetime > 0 {
		limit := botgate.Date(s.clock.Now().Add(s.maxLifetime))
		if d.After(limit) {
			return botgate.Invalid(field, "Expires at must be before %s (maximum lifetime %d days)", limit.AddDate(0, 0, 1).Format(botgate.DateFormat), int(s.maxLifetime.Hours()/24))
		}
	}
	return nil
}

func checkAdminScopes(u *botgate.User, scopes botgate.Scopes) error {
	if u.Admin {
		return nil
	}
	for _, sc := range scopes {
		if sc.AdminOnly() {
			return botgate.Invalid("scopes", "scopes does not have a valid value: %q is for administrators only", sc)
		}
	}
	return nil
}

// RotateToken replaces a token: a new token with the same name, scopes,
// access level, user and automation, in the same family, and the old one
// revoked, in one transaction. Without expiresAt the new token keeps the
// old one's lifetime (no expiry stays no expiry, unless expiry is
// required, then 7 days as GitLab does). A token the actor may not manage
// is KindNotFound, as a missing one, so that its existence is not revealed;
// one whose access the actor does not hold itself (see checkMint) is
// KindForbidden. Rotating a revoked token is KindInvalid ("Token already
// revoked"), and so is rotating a workload token (botgate.Token.Workload); losing a race with a concurrent rotation is KindConflict.
func (s *Service) RotateToken(ctx context.Context, a Actor, id int64, expiresAt *time.Time) (*Created, error) {
	const op = "authority.RotateToken"
	var out Created
	err := s.update(ctx, func(tx botgate.Tx, shared bool) error {
		old, u, err := s.manageableTokenUser(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if shared && !old.Resource.IsZero() {
			return errWriterLock // its bot's membership may change
		}
		self := a.Token != nil && a.Token.ID == old.ID
		if !self {
			// A bot rotating another token would get that token's new
			// secret: minting, which bots may not do.
			if err := noBotMinting(a); err != nil {
				return err
			}
		}
		if old.Revoked {
			return botgate.Invalid("token", "Token already revoked")
		}
		if old.Workload() {
			return botgate.Invalid("token", "a workload token lives at most %s and is not rotated (its successor would live days): exchange a new identity token instead", botgate.MaxWorkloadTTL)
		}
		if u == nil {
			if u, err = tx.User(ctx, old.UserID); err != nil {
				return err
			}
		}
		// The new token has the old one's access; the actor must hold it.
		if err := s.checkMint(ctx, tx, a, u, old, self); err != nil {
			return err
		}
		now := s.clock.Now()
		exp, err := s.rotatedExpiry(old, expiresAt)
		if err != nil {
			return err
		}
		if err := tx.RevokeToken(ctx, old.ID, now); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return &botgate.Error{Kind: botgate.KindConflict, Reason: botgate.ReasonConcurrentChange, Message: "the token was rotated or revoked concurrently"}
			}
			return err
		}
		if !u.Active() {
			return botgate.Invalid("token", "the token's user %s is %s", u.Username, u.State)
		}
		// A rotated bot keeps its membership; any membership expiry is cleared.
		if !old.Resource.IsZero() {
			if m, err := tx.Member(ctx, old.Resource, u.ID); err == nil && m.ExpiresAt != nil {
				m.ExpiresAt = nil
				if err := tx.UpdateMember(ctx, m); err != nil {
					return err
				}
			}
		}
		out.User = u
		out.Token, out.Secret, err = s.insertToken(ctx, tx, a, u, &botgate.Token{
			Kind: old.Kind, Name: old.Name, Description: old.Description, Scopes: old.Scopes, ExpiresAt: exp,
			AccessLevel: old.AccessLevel, Resource: old.Resource, PreviousID: old.ID, FamilyID: old.FamilyID, Automation: old.Automation,
		})
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	s.changed([]int64{id})
	return &out, nil
}

func (s *Service) rotatedExpiry(old *botgate.Token, requested *time.Time) (*time.Time, error) {
	today := botgate.Date(s.clock.Now())
	var exp *time.Time
	switch {
	case requested != nil:
		d := botgate.Date(*requested)
		exp = &d
	case old.ExpiresAt != nil:
		life := old.ExpiresAt.Sub(botgate.Date(old.CreatedAt))
		if life < 24*time.Hour {
			life = 24 * time.Hour
		}
		d := today.Add(life)
		if s.maxLifetime > 0 {
			if limit := botgate.Date(s.clock.Now().Add(s.maxLifetime)); d.After(limit) {
				d = limit
			}
		}
		exp = &d
	case s.requireExp:
		d := today.AddDate(0, 0, 7)
		exp = &d
	}
	return exp, s.checkFutureDate("expires_at", exp, true)
}

// RevokeToken revokes a token. Revoking a project or group access token
// deactivates its bot user. A token the actor may not manage is
// KindNotFound, as a missing one (GitLab answers 404), so that token ids
// reveal nothing. Revoking a token rotated out but still within its
// rotation grace window ends the window. Revoking an already revoked token
// succeeds and changes nothing (GitLab's PersonalAccessToken#revoke! is
// idempotent, and its DELETE endpoints answer 204 again), so that "rotate,
// then delete the old id" and repeated clean-ups work; nothing is audited
// then.
func (s *Service) RevokeToken(ctx context.Context, a Actor, id int64) error {
	const op = "authority.RevokeToken"
	err := s.update(ctx, func(tx botgate.Tx, shared bool) error {
		t, err := s.manageableToken(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if shared && (t.Revoked || t.Kind == botgate.ProjectAccessToken || t.Kind == botgate.GroupAccessToken) {
			// A grace window to end, or a bot to deactivate.
			return errWriterLock
		}
		if err := s.checkRevoke(ctx, tx, a, t); err != nil {
			return err
		}
		if ended, err := s.endGrace(ctx, tx, a, t, "revoked within the rotation grace window"); err != nil || ended {
			return err
		}
		if t.Revoked {
			return nil
		}
		err = s.revoke(ctx, tx, a, t, "")
		if botgate.IsKind(err, botgate.KindConflict) {
			if shared {
				// Revoked or rotated concurrently: run again alone, to
				// end a grace window the rotation may have opened.
				return errWriterLock
			}
			return nil // revoked concurrently: the goal holds
		}
		return err
	})
	if err != nil {
		return botgate.E(op, err)
	}
	s.changed([]int64{id})
	return nil
}

// revoke revokes t and, for a resource token, deactivates its bot.
func (s *Service) revoke(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token, reason string) error {
	if err := tx.RevokeToken(ctx, t.ID, s.clock.Now()); err != nil {
		if botgate.IsKind(err, botgate.KindConflict) {
			return botgate.Errorf(botgate.KindConflict, "Token already revoked")
		}
		return err
	}
	e := s.event(a, botgate.ActionTokenRevoke, "token", t.ID, t.Name)
	e.Details = details("kind", string(t.Kind), "reason", reason, "automation", t.Automation)
	if err := s.record(ctx, tx, e); err != nil {
		return err
	}
	if t.Kind == botgate.ProjectAccessToken || t.Kind == botgate.GroupAccessToken {
		u, err := tx.User(ctx, t.UserID)
		if err != nil {
			return err
		}
		return s.deactivate(ctx, tx, a, u, "its access token was revoked")
	}
	return nil
}

// Token returns a token the actor may manage.
func (s *Service) Token(ctx context.Context, a Actor, id int64) (*botgate.Token, error) {
	var t *botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		t, err = s.manageableToken(ctx, tx, a, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.Token", err)
	}
	return t, nil
}

func dateStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(botgate.DateFormat)
}

func levelStr(l botgate.AccessLevel) string {
	if l == 0 {
		return ""
	}
	return itoa(int64(l))
}

func idStr(id int64) string {
	if id == 0 {
		return ""
	}
	return itoa(id)
}

// TokenQuery selects tokens for a listing: the store's filter plus State
// ("active", "inactive" or "" for both), which depends on the time.
type TokenQuery struct {
	botgate.TokenFilter
	State string
}

// findTokens runs q in tx. A State filter selects the tokens active (or
// not) at the service's time.
func (s *Service) findTokens(ctx context.Context, tx botgate.Tx, q TokenQuery) ([]*botgate.Token, int, error) {
	switch q.State {
	case "":
	case "active", "inactive":
		active := q.State == "active"
		q.Active, q.At = &active, s.clock.Now()
	default:
		return nil, 0, botgate.Invalid("state", "state does not have a valid value")
	}
	return tx.FindTokens(ctx, q.TokenFilter)
}

// PersonalTokens lists personal access tokens, as GET
// /personal_access_tokens does: an administrator sees every user's (or
// q.UserID's), anyone else only their own; asking for another user's is
// KindUnauthenticated, as GitLab answers. Project and group access tokens
// are listed with ResourceTokens.
func (s *Service) PersonalTokens(ctx context.Context, a Actor, q TokenQuery) ([]*botgate.Token, int, error) {
	const op = "authority.PersonalTokens"
	if a.User == nil && !a.System {
		return nil, 0, botgate.E(op, botgate.KindUnauthenticated)
	}
	if !a.isAdmin() {
		if q.UserID != 0 && q.UserID != a.userID() {
			return nil, 0, botgate.E(op, botgate.KindUnauthenticated)
		}
		q.UserID = a.userID()
	}
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if q.UserID != 0 && a.isAdmin() {
			if _, err := tx.User(ctx, q.UserID); botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("User")
			} else if err != nil {
				return err
			}
		}
		var err error
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E(op, err)
	}
	return out, total, nil
}

// LookupToken returns the token whose secret is presented, for an
// administrator (POST /admin/token). A malformed or unknown secret is
// KindNotFound; the secret is never logged or audited.
func (s *Service) LookupToken(ctx context.Context, a Actor, secret string) (*botgate.Token, error) {
	const op = "authority.LookupToken"
	if !a.isAdmin() {
		return nil, botgate.E(op, botgate.KindForbidden)
	}
	if !strings.HasPrefix(secret, s.prefix) && !strings.HasPrefix(secret, tokenfmt.DefaultPrefix) {
		return nil, botgate.E(op, &botgate.Error{Kind: botgate.KindInvalid, Reason: botgate.ReasonTokenTypeUnsupported,
			Field: "token", Message: "Token type not supported."})
	}
	if err := checkSecret(secret, s.prefix); err != nil {
		return nil, botgate.E(op, err)
	}
	d := s.digester.Digest(secret)
	var t *botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		t, err = tx.TokenByDigest(ctx, d[:])
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Token")
		}
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return t, nil
}

// TokenFamily returns every token of t's rotation family, oldest first, for
// an actor who may manage t.
func (s *Service) TokenFamily(ctx context.Context, a Actor, id int64) (*botgate.Token, []*botgate.Token, error) {
	var t *botgate.Token
	var fam []*botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		if t, err = s.manageableToken(ctx, tx, a, id); err != nil {
			return err
		}
		fam, _, err = tx.FindTokens(ctx, botgate.TokenFilter{FamilyID: t.FamilyID, Sort: "created_asc", Page: botgate.Page{Limit: 1000}})
		return err
	})
	if err != nil {
		return nil, nil, botgate.E("authority.TokenFamily", err)
	}
	return t, fam, nil
}

// checkSecret rejects a malformed token with a not-found error, before any
// store access.
func checkSecret(secret, prefix string) error {
	if strings.TrimSpace(secret) == "" {
		return botgate.Invalid("token", "token is missing")
	}
	if err := tokenfmt.Check(secret, prefix); err != nil {
		return botgate.NotFound("Token")
	}
	return nil
}

// RevokeTokenBySecret revokes the token whose secret is presented, for an
// administrator (DELETE /admin/token).
func (s *Service) RevokeTokenBySecret(ctx context.Context, a Actor, secret string) error {
	t, err := s.LookupToken(ctx, a, secret)
	if err != nil {
		return err
	}
	return s.RevokeToken(ctx, a, t.ID)
}

// ActionTokenAutomation is the audit action for a change of a token's
// automation label.
const ActionTokenAutomation = "token.automation"

// MaxAutomationLength bounds an automation label.
const MaxAutomationLength = 255

// SetAutomation labels a token with the automation it serves ("" clears
// the label). The label carries policy (the automation's routes and rate
// limit), so only those who manage the token's user may set it: the
// person for their own tokens, the owning team's Maintainers and Owners
// for a bot's or service account's, administrators; never the token
// itself, nor a bot or service account on its own tokens. The label stays
// with the token's rotation family only for tokens rotated afterwards.
func (s *Service) SetAutomation(ctx context.Context, a Actor, id int64, automation string) (*botgate.Token, error) {
	const op = "authority.SetAutomation"
	automation = strings.TrimSpace(automation)
	if len(automation) > MaxAutomationLength {
		return nil, botgate.E(op, botgate.Invalid("automation", "automation is too long (maximum is %d characters)", MaxAutomationLength))
	}
	if strings.ContainsFunc(automation, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, botgate.E(op, botgate.Invalid("automation", "automation is invalid: it must not contain control characters"))
	}
	var t *botgate.Token
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		var err error
		if t, err = s.manageableToken(ctx, tx, a, id); err != nil {
			return err
		}
		if err := s.mayLabel(ctx, tx, a, t); err != nil {
			return err
		}
		if t.Automation == automation {
			return nil
		}
		if err := tx.SetTokenAutomation(ctx, id, automation); err != nil {
			return err
		}
		e := s.event(a, ActionTokenAutomation, "token", t.ID, t.Name)
		e.Details = details("from", t.Automation, "to", automation)
		t.Automation = automation
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	s.changed([]int64{id})
	return t, nil
}

// mayLabel checks that the actor may change t's automation label. A token
// may read and rotate itself, but not shed its own policy.
func (s *Service) mayLabel(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token) error {
	if a.isAdmin() {
		return nil
	}
	if a.Token != nil && a.Token.ID == t.ID {
		return forbidden("a token cannot change its own automation label; the owning team's Maintainers and Owners can")
	}
	if a.User != nil && a.User.Kind.Bot() && a.User.ID == t.UserID {
		return forbidden("a %s cannot change the automation label of its own tokens; the owning team's Maintainers and Owners can", kindWords(a.User.Kind))
	}
	u, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	return s.canManageUser(ctx, tx, a, u)
}
