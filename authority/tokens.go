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
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
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

// NewServiceAccount describes a service account to create.
type NewServiceAccount struct {
	Name     string
	Username string // optional; generated when empty
	Email    string // optional; generated when empty
}

// CreateServiceAccount creates a service account owned by a team (a group),
// a project, or, with owner zero, the instance. A group's service account
// needs the Owner role on the group, a project's the Maintainer role, an
// instance one an administrator.
func (s *Service) CreateServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, in NewServiceAccount) (*botgate.User, error) {
	const op = "authority.CreateServiceAccount"
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	if in.Username != "" {
		if err := botgate.ValidateUsername(in.Username); err != nil {
			return nil, botgate.E(op, err)
		}
	}
	var u *botgate.User
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		prefix := "service_account_"
		switch owner.Type {
		case "":
			if !a.isAdmin() {
				return forbidden("only administrators may create instance service accounts")
			}
		case botgate.GroupResource:
			if _, err := s.requireExisting(ctx, tx, a, owner, botgate.OwnerAccess); err != nil {
				return err
			}
			prefix += "group_" + itoa(owner.ID) + "_"
		case botgate.ProjectResource:
			if _, err := s.requireExisting(ctx, tx, a, owner, botgate.MaintainerAccess); err != nil {
				return err
			}
			prefix += "project_" + itoa(owner.ID) + "_"
		}
		username := in.Username
		if username == "" {
			hex, err := s.randomHex(16)
			if err != nil {
				return err
			}
			username = prefix + hex
		}
		name := in.Name
		if strings.TrimSpace(name) == "" {
			name = "Service account user"
		}
		email := in.Email
		if email == "" {
			email = username + "@noreply." + s.host
		}
		u = &botgate.User{
			Username: username, Name: name, Email: email, Kind: botgate.ServiceAccount, State: botgate.UserActive,
			Owner: owner, CreatedByID: a.userID(), CreatedAt: s.clock.Now(),
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Invalid("username", "Username or email has already been taken")
			}
			return err
		}
		e := s.event(a, botgate.ActionUserCreate, "user", u.ID, u.Username)
		e.Details = details("kind", string(u.Kind), "owner", owner.String())
		return s.record(ctx, tx, e)
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return u, nil
}

// CreateServiceAccountToken creates a personal access token for a service
// account. Only the owning team's Maintainers and Owners (the project's, for
// a project service account) and administrators may, never the account
// itself; and only someone who holds at least each of the account's roles
// (see checkMint).
func (s *Service) CreateServiceAccountToken(ctx context.Context, a Actor, saID int64, in NewToken) (*Created, error) {
	const op = "authority.CreateServiceAccountToken"
	if err := noBotMinting(a); err != nil {
		return nil, botgate.E(op, err)
	}
	scopes, exp, err := s.validateNew(in, false)
	if err != nil {
		return nil, botgate.E(op, err)
	}
	var out Created
	err = s.store.Update(ctx, func(tx botgate.Tx) error {
		u, err := tx.User(ctx, saID)
		if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && u.Kind != botgate.ServiceAccount) {
			return botgate.NotFound("Service account")
		}
		if err != nil {
			return err
		}
		if err := s.canManageUser(ctx, tx, a, u); err != nil {
			return err
		}
		if !u.Active() {
			return botgate.Invalid("user_id", "service account %s is %s", u.Username, u.State)
		}
		t := &botgate.Token{
			Kind: botgate.ServiceAccountToken, Name: in.Name, Description: in.Description, Scopes: scopes, ExpiresAt: exp, Automation: in.Automation,
		}
		if err := s.checkMint(ctx, tx, a, u, t, false); err != nil {
			return err
		}
		out.User = u
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
func noBotMinting(a Actor) error {
	if !a.isAdmin() && a.User != nil && (a.User.Kind == botgate.ProjectBot || a.User.Kind == botgate.GroupBot) {
		return forbidden("project and group access tokens cannot create tokens or service accounts; use a personal or service account token")
	}
	return nil
}

// canManageUser reports whether the actor may manage the user's tokens:
// the user itself (humans), a service account's team Maintainers, or an
// administrator.
func (s *Service) canManageUser(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User) error {
	if a.isAdmin() {
		return nil
	}
	switch u.Kind {
	case botgate.HumanUser:
		if a.userID() == u.ID {
			return nil
		}
		return forbidden("only the user and administrators may manage these tokens")
	case botgate.ServiceAccount:
		if u.Owner.IsZero() {
			return forbidden("instance service accounts are managed by administrators")
		}
		_, err := s.require(ctx, tx, a, u.Owner, botgate.MaintainerAccess)
		return err
	default:
		need := botgate.MaintainerAccess
		if u.Owner.Type == botgate.GroupResource {
			need = botgate.OwnerAccess
		}
		_, err := s.require(ctx, tx, a, u.Owner, need)
		return err
	}
}

// canManageToken reports whether the actor may read, rotate or revoke t.
// A token may always manage itself (the edge checks its scope).
func (s *Service) canManageToken(ctx context.Context, tx botgate.Tx, a Actor, t *botgate.Token) error {
	if a.Token != nil && a.Token.ID == t.ID {
		return nil
	}
	u, err := tx.User(ctx, t.UserID)
	if err != nil {
		return err
	}
	return s.canManageUser(ctx, tx, a, u)
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
	t, err := token(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.canManageToken(ctx, tx, a, t); err != nil {
		if botgate.IsKind(err, botgate.KindForbidden) {
			return nil, botgate.NotFound("Token")
		}
		return nil, err
	}
	return t, nil
}

// insertToken generates a secret, stores the token's digest and audits it.
func (s *Service) insertToken(ctx context.Context, tx botgate.Tx, a Actor, u *botgate.User, t *botgate.Token) (*botgate.Token, string, error) {
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

func resourceExists(ctx context.Context, tx botgate.Tx, r botgate.Resource) error {
	var err error
	switch r.Type {
	case botgate.ProjectResource:
		_, err = tx.Project(ctx, r.ID)
	case botgate.GroupResource:
		_, err = tx.Group(ctx, r.ID)
	default:
		return botgate.Invalid("resource", "unknown resource type %q", r.Type)
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		return notFound(r)
	}
	return err
}

// RotateToken replaces a token: a new token with the same name, scopes,
// access level, user and automation, in the same family, and the old one
// revoked, in one transaction. Without expiresAt the new token keeps the
// old one's lifetime (no expiry stays no expiry, unless expiry is
// required, then 7 days as GitLab does). A token the actor may not manage
// is KindNotFound, as a missing one, so that its existence is not revealed;
// one whose access the actor does not hold itself (see checkMint) is
// KindForbidden. Rotating a revoked token is KindInvalid ("Token already
// revoked"); losing a race with a concurrent rotation is KindConflict.
func (s *Service) RotateToken(ctx context.Context, a Actor, id int64, expiresAt *time.Time) (*Created, error) {
	const op = "authority.RotateToken"
	var out Created
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		old, err := s.manageableToken(ctx, tx, a, id)
		if err != nil {
			return err
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
		u, err := tx.User(ctx, old.UserID)
		if err != nil {
			return err
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
// reveal nothing. Revoking an already revoked token is KindConflict.
func (s *Service) RevokeToken(ctx context.Context, a Actor, id int64) error {
	const op = "authority.RevokeToken"
	err := s.store.Update(ctx, func(tx botgate.Tx) error {
		t, err := s.manageableToken(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := s.checkRevoke(ctx, tx, a, t); err != nil {
			return err
		}
		return s.revoke(ctx, tx, a, t, "")
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
