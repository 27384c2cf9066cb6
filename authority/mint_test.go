package authority_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// TestRotateCapsAccessLevel: rotating hands out the token's secret, so the
// actor must hold the token's access level, as on create (GitLab:
// Owner-level tokens need an Owner).
func TestRotateCapsAccessLevel(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	tests := []struct {
		name  string
		level botgate.AccessLevel
		actor func(c *authority.Created) authority.Actor
		want  botgate.Kind
	}{
		{"maintainer rotates an Owner-level token", botgate.OwnerAccess, func(*authority.Created) authority.Actor { return w.maint }, botgate.KindForbidden},
		{"owner rotates an Owner-level token", botgate.OwnerAccess, func(*authority.Created) authority.Actor { return w.owner }, botgate.KindOther},
		{"admin rotates an Owner-level token", botgate.OwnerAccess, func(*authority.Created) authority.Actor { return e.admin }, botgate.KindOther},
		{"the Owner-level token rotates itself", botgate.OwnerAccess, func(c *authority.Created) authority.Actor {
			return authority.Actor{User: c.User, Token: c.Token}
		}, botgate.KindOther},
		{"maintainer rotates a Maintainer-level token", botgate.MaintainerAccess, func(*authority.Created) authority.Actor { return w.maint }, botgate.KindOther},
		{"developer cannot see the token", botgate.ReporterAccess, func(*authority.Created) authority.Actor { return w.dev }, botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deploy", Scopes: []string{"api"}, AccessLevel: tt.level})
			if err != nil {
				t.Fatal(err)
			}
			r, err := e.svc.RotateToken(e.ctx, tt.actor(c), c.Token.ID, nil)
			wantOutcome(t, err, tt.want)
			if err != nil {
				// Nothing changed: the old token still works.
				if _, err := e.auth(c.Secret, authority.PurposeAPI); err != nil {
					t.Fatalf("refused rotation revoked the token: %v", err)
				}
				return
			}
			if r.Token.AccessLevel != tt.level {
				t.Fatalf("rotated level = %v, want %v", r.Token.AccessLevel, tt.level)
			}
		})
	}
}

// TestServiceAccountTokenCappedByMemberships: a token for a service account
// carries every role the account holds, so whoever mints or rotates one
// must hold at least those roles.
func TestServiceAccountTokenCappedByMemberships(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	other, err := e.svc.CreateGroup(e.ctx, e.admin, authority.NewGroup{Name: "Billing", Path: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	otherRes := botgate.Resource{Type: botgate.GroupResource, ID: other.ID}
	tests := []struct {
		name   string
		grants []botgate.Member // the service account's memberships
		actor  authority.Actor
		want   botgate.Kind
	}{
		{"maintainer, account holds Owner on a project", []botgate.Member{{Resource: w.projectRes(), AccessLevel: botgate.OwnerAccess}}, w.maint, botgate.KindForbidden},
		{"maintainer, account holds Owner on the team", []botgate.Member{{Resource: w.groupRes(), AccessLevel: botgate.OwnerAccess}}, w.maint, botgate.KindForbidden},
		{"maintainer, account holds a role where he has none", []botgate.Member{{Resource: otherRes, AccessLevel: botgate.ReporterAccess}}, w.maint, botgate.KindForbidden},
		{"maintainer, account holds Maintainer on a project", []botgate.Member{{Resource: w.projectRes(), AccessLevel: botgate.MaintainerAccess}}, w.maint, botgate.KindOther},
		{"maintainer, account holds no role", nil, w.maint, botgate.KindOther},
		{"owner, account holds Owner on a project", []botgate.Member{{Resource: w.projectRes(), AccessLevel: botgate.OwnerAccess}}, w.owner, botgate.KindOther},
		{"admin, account holds Owner elsewhere", []botgate.Member{{Resource: otherRes, AccessLevel: botgate.OwnerAccess}}, e.admin, botgate.KindOther},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Username: "sa-cap-" + itoa(int64(i))})
			if err != nil {
				t.Fatal(err)
			}
			// A token made before the grants, for the rotation case.
			before, err := e.svc.CreateServiceAccountToken(e.ctx, e.admin, sa.ID, authority.NewToken{Name: "before", Scopes: []string{"api"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range tt.grants {
				if _, err := e.svc.AddMember(e.ctx, e.admin, g.Resource, sa.ID, g.AccessLevel, nil); err != nil {
					t.Fatal(err)
				}
			}
			_, err = e.svc.CreateServiceAccountToken(e.ctx, tt.actor, sa.ID, authority.NewToken{Name: "mint", Scopes: []string{"api"}})
			wantOutcome(t, err, tt.want)
			_, err = e.svc.RotateToken(e.ctx, tt.actor, before.Token.ID, nil)
			wantOutcome(t, err, tt.want)
		})
	}
}

// TestIdentitiesDoNotMintForThemselves: a service account or bot never
// makes itself new credentials; its team does.
func TestIdentitiesDoNotMintForThemselves(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Username: "mirror-sa"})
	if err != nil {
		t.Fatal(err)
	}
	// Even a service account that holds Maintainer on its own team.
	if _, err := e.svc.AddMember(e.ctx, w.owner, w.groupRes(), sa.ID, botgate.MaintainerAccess, nil); err != nil {
		t.Fatal(err)
	}
	issued, err := e.svc.CreateServiceAccountToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "issued", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	sibling, err := e.svc.CreateServiceAccountToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "sibling", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	saActor := authority.Actor{User: sa, Token: issued.Token}
	bot, err := e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "poller", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	botActor := authority.Actor{User: bot.User, Token: bot.Token}
	tests := []struct {
		name string
		do   func() error
		want botgate.Kind
	}{
		{"service account creates a personal token for itself", func() error {
			_, err := e.svc.CreatePersonalToken(e.ctx, saActor, sa.ID, authority.NewToken{Name: "mine", Scopes: []string{"api"}})
			return err
		}, botgate.KindForbidden},
		{"service account mints a service account token for itself", func() error {
			_, err := e.svc.CreateServiceAccountToken(e.ctx, saActor, sa.ID, authority.NewToken{Name: "mine", Scopes: []string{"api"}})
			return err
		}, botgate.KindForbidden},
		{"service account rotates a sibling token", func() error {
			_, err := e.svc.RotateToken(e.ctx, saActor, sibling.Token.ID, nil)
			return err
		}, botgate.KindForbidden},
		{"project bot creates a personal token for itself", func() error {
			_, err := e.svc.CreatePersonalToken(e.ctx, botActor, bot.User.ID, authority.NewToken{Name: "mine", Scopes: []string{"api"}})
			return err
		}, botgate.KindInvalid},
		{"team maintainer mints for the service account", func() error {
			_, err := e.svc.CreateServiceAccountToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "team", Scopes: []string{"api"}})
			return err
		}, botgate.KindOther},
		{"service account rotates the token it presents", func() error {
			_, err := e.svc.RotateToken(e.ctx, saActor, issued.Token.ID, nil)
			return err
		}, botgate.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOutcome(t, tt.do(), tt.want)
		})
	}
}

// TestSetAutomationPolicy: the automation label carries the automation's
// routes and rate limit, so a token never sheds its own, and a bot or
// service account never relabels its own tokens.
func TestSetAutomationPolicy(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Username: "label-sa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddMember(e.ctx, w.owner, w.groupRes(), sa.ID, botgate.MaintainerAccess, nil); err != nil {
		t.Fatal(err)
	}
	pat, err := e.svc.CreatePersonalToken(e.ctx, w.dev, w.dev.User.ID, authority.NewToken{Name: "laptop", Scopes: []string{"api"}, Automation: "scripts"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		actor func(bot, sat *authority.Created) authority.Actor
		token func(bot, sat *authority.Created) int64
		want  botgate.Kind
	}{
		{"project token clears its own label",
			func(bot, _ *authority.Created) authority.Actor {
				return authority.Actor{User: bot.User, Token: bot.Token}
			},
			func(bot, _ *authority.Created) int64 { return bot.Token.ID }, botgate.KindForbidden},
		{"service account token clears its own label",
			func(_, sat *authority.Created) authority.Actor { return authority.Actor{User: sa, Token: sat.Token} },
			func(_, sat *authority.Created) int64 { return sat.Token.ID }, botgate.KindForbidden},
		{"service account clears the label of a sibling token",
			func(_, sat *authority.Created) authority.Actor { return authority.Actor{User: sa, Token: sat.Token} },
			func(*authority.Created, *authority.Created) int64 { return 0 }, botgate.KindForbidden},
		{"person's token clears its own label",
			func(*authority.Created, *authority.Created) authority.Actor {
				return authority.Actor{User: w.dev.User, Token: pat.Token}
			},
			func(*authority.Created, *authority.Created) int64 { return pat.Token.ID }, botgate.KindForbidden},
		{"person relabels their own token", func(*authority.Created, *authority.Created) authority.Actor { return w.dev },
			func(*authority.Created, *authority.Created) int64 { return pat.Token.ID }, botgate.KindOther},
		{"developer cannot see the project token", func(*authority.Created, *authority.Created) authority.Actor { return w.dev },
			func(bot, _ *authority.Created) int64 { return bot.Token.ID }, botgate.KindNotFound},
		{"team maintainer relabels the project token", func(*authority.Created, *authority.Created) authority.Actor { return w.maint },
			func(bot, _ *authority.Created) int64 { return bot.Token.ID }, botgate.KindOther},
		{"team maintainer relabels the service account token", func(*authority.Created, *authority.Created) authority.Actor { return w.maint },
			func(_, sat *authority.Created) int64 { return sat.Token.ID }, botgate.KindOther},
		{"admin relabels the project token", func(*authority.Created, *authority.Created) authority.Actor { return e.admin },
			func(bot, _ *authority.Created) int64 { return bot.Token.ID }, botgate.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot, err := e.svc.CreateResourceToken(e.ctx, w.maint, w.projectRes(), authority.NewToken{Name: "hygiene", Scopes: []string{"api"}, Automation: "mr-hygiene"})
			if err != nil {
				t.Fatal(err)
			}
			sat, err := e.svc.CreateServiceAccountToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "mirror", Scopes: []string{"api"}, Automation: "mirror"})
			if err != nil {
				t.Fatal(err)
			}
			id := tt.token(bot, sat)
			if id == 0 {
				sib, err := e.svc.CreateServiceAccountToken(e.ctx, w.maint, sa.ID, authority.NewToken{Name: "sibling", Scopes: []string{"api"}, Automation: "mirror"})
				if err != nil {
					t.Fatal(err)
				}
				id = sib.Token.ID
			}
			_, err = e.svc.SetAutomation(e.ctx, tt.actor(bot, sat), id, "")
			wantOutcome(t, err, tt.want)
			if err != nil {
				tok, err := e.svc.Token(e.ctx, e.admin, id)
				if err != nil {
					t.Fatal(err)
				}
				if tok.Automation == "" {
					t.Fatal("refused change cleared the label")
				}
			}
		})
	}
}

// TestRotateBoundTokenNeedsVaultAccess: a new token of a family bound to a
// vault secret reads that secret, so rotating one needs the right to read
// it.
func TestRotateBoundTokenNeedsVaultAccess(t *testing.T) {
	ve := newVaultEnv(t)
	ve.put(ve.w.owner, "deploy", "upstream-deploy-key-value")
	// A Maintainer of the project only, outside the team that owns the vault.
	pm := ve.human("pia")
	if _, err := ve.svc.AddMember(ve.ctx, ve.w.owner, ve.w.projectRes(), pm.User.ID, botgate.MaintainerAccess, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		bind  bool
		actor func(self authority.Actor) authority.Actor
		want  botgate.Kind
	}{
		{"project maintainer outside the team, bound token", true, func(authority.Actor) authority.Actor { return pm }, botgate.KindForbidden},
		{"project maintainer outside the team, unbound token", false, func(authority.Actor) authority.Actor { return pm }, botgate.KindOther},
		{"team maintainer, bound token", true, func(authority.Actor) authority.Actor { return ve.w.maint }, botgate.KindOther},
		{"admin, bound token", true, func(authority.Actor) authority.Actor { return ve.admin }, botgate.KindOther},
		{"the bound token rotates itself", true, func(self authority.Actor) authority.Actor { return self }, botgate.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, c := ve.botToken("release-bot", "read_api", "read_secret")
			if tt.bind {
				if _, err := ve.v.BindSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "deploy", c.Token.ID); err != nil {
					t.Fatal(err)
				}
			}
			r, err := ve.svc.RotateToken(ve.ctx, tt.actor(self), c.Token.ID, nil)
			wantOutcome(t, err, tt.want)
			if err != nil || !tt.bind {
				return
			}
			// The binding follows the family: the new token reads the secret.
			if _, _, err := ve.v.ReadSecret(ve.ctx, authority.Actor{User: r.User, Token: r.Token}, ve.w.group.ID, "deploy"); err != nil {
				t.Fatalf("rotated token cannot read its secret: %v", err)
			}
		})
	}
}

// TestMembersAreNotGrantedAboveTheGranter: a Maintainer neither adds nor
// promotes anyone (a service account included) above his own role.
func TestMembersAreNotGrantedAboveTheGranter(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	sa, err := e.svc.CreateServiceAccount(e.ctx, w.owner, w.groupRes(), authority.NewServiceAccount{Username: "grant-sa"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AddMember(e.ctx, w.maint, w.projectRes(), sa.ID, botgate.OwnerAccess, nil)
	wantKind(t, err, botgate.KindForbidden)
	if _, err := e.svc.AddMember(e.ctx, w.maint, w.projectRes(), sa.ID, botgate.MaintainerAccess, nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.UpdateMember(e.ctx, w.maint, w.projectRes(), sa.ID, authority.MemberUpdate{AccessLevel: botgate.OwnerAccess})
	wantKind(t, err, botgate.KindForbidden)
	if _, err := e.svc.UpdateMember(e.ctx, w.owner, w.projectRes(), sa.ID, authority.MemberUpdate{AccessLevel: botgate.OwnerAccess}); err != nil {
		t.Fatal(err)
	}
}
