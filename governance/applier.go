package governance

import (
	"context"
	"strconv"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/manifest"
)

// applier is the in-process manifest.Applier: every method is one atomic
// change through the authority (or one store transaction with its audit
// event, for automation records), made as the Governor's actor.
type applier struct {
	g *Governor
	// refs maps a token issued during this apply to the vault secret that
	// keeps it.
	refs map[int64]string
}

var (
	_ manifest.Applier      = (*applier)(nil)
	_ manifest.TeamNotifier = (*applier)(nil)
)

// Applier returns the Governor's manifest.Applier, for callers that run
// manifest.Apply themselves. Secrets of the tokens it issues are kept in the
// vault when the Governor has one, and handed back in manifest.Issued in any
// case.
func (g *Governor) Applier() manifest.Applier { return &applier{g: g, refs: map[int64]string{}} }

func (ap *applier) group(ctx context.Context, path string) (*botgate.Group, error) {
	var gr *botgate.Group
	err := ap.g.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		gr, err = tx.GroupByPath(ctx, path)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.Errorf(botgate.KindNotFound, "group %s does not exist", path)
	}
	return gr, err
}

func (ap *applier) resource(ctx context.Context, r manifest.Ref) (botgate.Resource, error) {
	var out botgate.Resource
	err := ap.g.store.View(ctx, func(tx botgate.Tx) error {
		switch r.Type {
		case botgate.ProjectResource:
			p, err := tx.ProjectByPath(ctx, r.Path)
			if err != nil {
				return err
			}
			out = botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}
		case botgate.GroupResource:
			gr, err := tx.GroupByPath(ctx, r.Path)
			if err != nil {
				return err
			}
			out = botgate.Resource{Type: botgate.GroupResource, ID: gr.ID}
		default:
			return botgate.Invalid("resource", "unknown resource type %q", r.Type)
		}
		return nil
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return out, botgate.Errorf(botgate.KindNotFound, "%s does not exist", r)
	}
	return out, err
}

func (ap *applier) user(ctx context.Context, username string) (*botgate.User, error) {
	var u *botgate.User
	err := ap.g.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		u, err = tx.UserByUsername(ctx, username)
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.Errorf(botgate.KindNotFound, "user %s does not exist", username)
	}
	return u, err
}

// CreateGroup creates the group under its parent.
func (ap *applier) CreateGroup(ctx context.Context, s manifest.GroupSpec) error {
	const op = "governance.CreateGroup"
	if _, err := ap.group(ctx, s.FullPath); err == nil {
		return botgate.E(op, botgate.Errorf(botgate.KindConflict, "group %s already exists", s.FullPath))
	}
	var parentID int64
	if s.Parent != "" {
		p, err := ap.group(ctx, s.Parent)
		if err != nil {
			return botgate.E(op, err)
		}
		parentID = p.ID
	}
	_, err := ap.g.auth.CreateGroup(ctx, ap.g.actor, authority.NewGroup{Name: s.Name, Path: s.Path, ParentID: parentID, Description: s.Description})
	return err
}

// CreateProject creates the project in its group.
func (ap *applier) CreateProject(ctx context.Context, s manifest.ProjectSpec) error {
	const op = "governance.CreateProject"
	if _, err := ap.resource(ctx, manifest.Ref{Type: botgate.ProjectResource, Path: s.FullPath}); err == nil {
		return botgate.E(op, botgate.Errorf(botgate.KindConflict, "project %s already exists", s.FullPath))
	}
	gr, err := ap.group(ctx, s.Group)
	if err != nil {
		return botgate.E(op, err)
	}
	_, err = ap.g.auth.CreateProject(ctx, ap.g.actor, authority.NewProject{Name: s.Name, Path: s.Path, NamespaceID: gr.ID, Description: s.Description})
	return err
}

// CreateServiceAccount creates the service account, owned by its team,
// with the declared name as its username.
func (ap *applier) CreateServiceAccount(ctx context.Context, s manifest.ServiceAccountSpec) error {
	const op = "governance.CreateServiceAccount"
	if _, err := ap.user(ctx, s.Name); err == nil {
		return botgate.E(op, botgate.Errorf(botgate.KindConflict, "user %s already exists", s.Name))
	}
	owner, err := ap.group(ctx, s.Owner)
	if err != nil {
		return botgate.E(op, err)
	}
	_, err = ap.g.auth.CreateServiceAccount(ctx, ap.g.actor, botgate.Resource{Type: botgate.GroupResource, ID: owner.ID},
		authority.NewServiceAccount{Name: s.Name, Username: s.Name})
	return err
}

// member resolves the resource and the user of a membership.
func (ap *applier) member(ctx context.Context, op string, m manifest.MemberSpec) (botgate.Resource, *botgate.User, error) {
	r, err := ap.resource(ctx, m.Resource)
	if err != nil {
		return botgate.Resource{}, nil, botgate.E(op, err)
	}
	u, err := ap.user(ctx, m.User)
	if err != nil {
		return botgate.Resource{}, nil, botgate.E(op, err)
	}
	return r, u, nil
}

// SetMember adds the membership or changes its level.
func (ap *applier) SetMember(ctx context.Context, m manifest.MemberSpec) error {
	r, u, err := ap.member(ctx, "governance.SetMember", m)
	if err != nil {
		return err
	}
	_, err = ap.g.auth.AddMember(ctx, ap.g.actor, r, u.ID, m.AccessLevel, nil)
	if botgate.IsKind(err, botgate.KindConflict) {
		_, err = ap.g.auth.UpdateMember(ctx, ap.g.actor, r, u.ID, authority.MemberUpdate{AccessLevel: m.AccessLevel})
	}
	return err
}

// RemoveMember takes the user off the resource.
func (ap *applier) RemoveMember(ctx context.Context, m manifest.MemberSpec) error {
	r, u, err := ap.member(ctx, "governance.RemoveMember", m)
	if err != nil {
		return err
	}
	return ap.g.auth.RemoveMember(ctx, ap.g.actor, r, u.ID)
}

// PutAutomation creates or replaces the automation record, with its audit
// event, in one transaction.
func (ap *applier) PutAutomation(ctx context.Context, a manifest.Automation) error {
	const op = "governance.PutAutomation"
	now := ap.g.auth.Now()
	err := ap.g.store.Update(ctx, func(tx botgate.Tx) error {
		owner, err := tx.GroupByPath(ctx, a.Owner)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.Errorf(botgate.KindNotFound, "owner team %s does not exist", a.Owner)
		}
		if err != nil {
			return err
		}
		rec := recordOf(&a, owner.ID, now)
		action := botgate.ActionAutomationUpdate
		cur, err := tx.AutomationByName(ctx, a.Name)
		switch {
		case botgate.IsKind(err, botgate.KindNotFound):
			action = botgate.ActionAutomationCreate
			err = tx.CreateAutomation(ctx, rec)
		case err == nil:
			rec.ID, rec.CreatedAt = cur.ID, cur.CreatedAt
			err = tx.UpdateAutomation(ctx, rec)
		}
		if err != nil {
			return err
		}
		details := map[string]string{
			"owner": a.Owner, "kind": string(rec.Kind), "scopes": rec.Scopes.String(),
			"access_level": strconv.Itoa(int(rec.AccessLevel)),
		}
		if a.RateLimit != "" {
			details["rate_limit"] = a.RateLimit
		}
		details["enforcement"] = rec.Enforcement.String()
		for i := range rec.Trust {
			details["trust."+strconv.Itoa(i)] = rec.Trust[i].String()
		}
		return ap.g.auth.Vault(nil).Audit(ctx, tx, ap.g.actor, action, "automation", rec.ID, rec.Name, details)
	})
	if err != nil {
		return botgate.E(op, err)
	}
	return nil
}

// recordOf turns a declared automation into its record.
func recordOf(a *manifest.Automation, ownerID int64, now time.Time) *botgate.Automation {
	return &botgate.Automation{
		Name: a.Name, OwnerGroupID: ownerID, Purpose: a.Purpose, Kind: botgate.AutomationKind(a.EffectiveKind()),
		ServiceAccount: a.ServiceAccount, Projects: a.Projects, Groups: a.Groups, Scopes: a.ScopeSet(),
		AccessLevel: a.Level(), ExpiresInDays: a.Lifetime(), Temporary: a.Temporary, RateLimit: a.Limit(),
		Upstream: a.Upstream, Routes: a.Routes, Trust: a.TrustPolicies(), Enforcement: a.Mode(), CreatedAt: now, UpdatedAt: now,
	}
}

// CreateToken issues the automation's token and keeps its secret in the
// vault, if there is one.
//
// A nil t.ExpiresAt (the manifest declares no expires_in) is passed on as
// "no expiry date"; on an instance whose policy requires expiry
// (authority.Config.RequireExpiry) the authority then gives the token the
// maximum lifetime, and plan rotates it before it ends.
func (ap *applier) CreateToken(ctx context.Context, t manifest.TokenSpec) (manifest.Issued, error) {
	const op = "governance.CreateToken"
	in := authority.NewToken{Name: t.Name, Description: t.Description, Scopes: t.Scopes.Strings(),
		ExpiresAt: t.ExpiresAt, AccessLevel: t.AccessLevel, Automation: t.Automation}
	var (
		c   *authority.Created
		err error
	)
	switch t.Kind {
	case botgate.ProjectAccessToken, botgate.GroupAccessToken:
		r, rerr := ap.resource(ctx, t.Resource)
		if rerr != nil {
			return manifest.Issued{}, botgate.E(op, rerr)
		}
		c, err = ap.g.auth.CreateResourceToken(ctx, ap.g.actor, r, in)
	case botgate.ServiceAccountToken:
		sa, uerr := ap.user(ctx, t.ServiceAccount)
		if uerr != nil {
			return manifest.Issued{}, botgate.E(op, uerr)
		}
		if sa.Kind != botgate.ServiceAccount {
			return manifest.Issued{}, botgate.E(op, botgate.Invalid("service_account", "user %s is not a service account", t.ServiceAccount))
		}
		in.AccessLevel = 0
		c, err = ap.g.auth.CreateServiceAccountToken(ctx, ap.g.actor, sa.ID, in)
	default:
		return manifest.Issued{}, botgate.E(op, botgate.Invalid("kind", "apply does not issue %s tokens", t.Kind))
	}
	if err != nil {
		return manifest.Issued{}, err
	}
	return ap.issued(ctx, op, c)
}

// RotateToken rotates the token and keeps the new secret in the vault.
func (ap *applier) RotateToken(ctx context.Context, tokenID int64, expiresAt *time.Time) (manifest.Issued, error) {
	const op = "governance.RotateToken"
	c, err := ap.g.auth.RotateToken(ctx, ap.g.actor, tokenID, expiresAt)
	if err != nil {
		return manifest.Issued{}, err
	}
	return ap.issued(ctx, op, c)
}

// SetTeamNotify stores the team's notice destinations through the
// authority.
func (ap *applier) SetTeamNotify(ctx context.Context, n manifest.NotifySpec) error {
	gr, err := ap.group(ctx, n.Team)
	if err != nil {
		return botgate.E("governance.SetTeamNotify", err)
	}
	return ap.g.auth.SetTeamNotify(ctx, ap.g.actor, gr.ID, n.Webhook, n.Email)
}

// RevokeToken revokes the token.
func (ap *applier) RevokeToken(ctx context.Context, tokenID int64) error {
	return ap.g.auth.RevokeToken(ctx, ap.g.actor, tokenID)
}

// issued keeps a new token's secret in the owner team's vault, if there
// is a vault, and returns it. If the vault write fails, the token is
// revoked again: nobody holds its secret, and the next apply issues
// another.
func (ap *applier) issued(ctx context.Context, op string, c *authority.Created) (manifest.Issued, error) {
	is := manifest.Issued{Automation: c.Token.Automation, TokenID: c.Token.ID, ExpiresAt: c.Token.ExpiresAt, Secret: c.Secret}
	if ap.g.vault == nil || c.Token.Automation == "" {
		return is, nil
	}
	ref, err := ap.g.keep(ctx, ap.g.actor, c, "apply")
	if err != nil {
		if rerr := ap.g.auth.RevokeToken(ctx, ap.g.actor, c.Token.ID); rerr != nil && !botgate.IsKind(rerr, botgate.KindConflict) {
			ap.g.log.Error("revoking a token whose secret could not be kept", "token_id", c.Token.ID, "err", rerr)
		}
		return manifest.Issued{}, botgate.E(op, err)
	}
	ap.refs[c.Token.ID] = ref
	return is, nil
}

// keep writes the secret to the vault of the automation's owner team, as
// the actor; by names the command, in the secret's description and in
// the audit event of a write on a team member's behalf.
func (g *Governor) keep(ctx context.Context, a authority.Actor, c *authority.Created, by string) (string, error) {
	var owner *botgate.Group
	err := g.store.View(ctx, func(tx botgate.Tx) error {
		rec, err := tx.AutomationByName(ctx, c.Token.Automation)
		if err != nil {
			return err
		}
		owner, err = tx.Group(ctx, rec.OwnerGroupID)
		return err
	})
	if err != nil {
		return "", err
	}
	value := []byte(c.Secret)
	defer clear(value)
	name := SecretName(c.Token.Automation)
	if err := g.vault.KeepIssuedSecret(ctx, a, by, authority.NewSecret{GroupID: owner.ID, Name: name,
		Description: "Token of automation " + c.Token.Automation + " (written by botgate " + by + ")", Value: value}); err != nil {
		return "", err
	}
	return botgate.SecretRef{GroupPath: owner.FullPath, Name: name}.String(), nil
}
