package authority_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// wantOutcome checks err against want, KindOther meaning success.
func wantOutcome(t *testing.T, err error, want botgate.Kind) {
	t.Helper()
	if want == botgate.KindOther {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		return
	}
	wantKind(t, err, want)
}

// TestTokensTheActorCannotSeeReadAsNotFound: revoking, rotating or reading
// a token the actor may not see answers as for a missing one, so that ids
// reveal nothing; a token the actor sees but may not rotate stays
// forbidden.
func TestTokensTheActorCannotSeeReadAsNotFound(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	pat, err := e.svc.CreatePersonalToken(e.ctx, w.maint, w.maint.User.ID, authority.NewToken{Name: "laptop", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	group, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.groupRes(), authority.NewToken{Name: "triage", Scopes: []string{"api"}, AccessLevel: botgate.OwnerAccess})
	if err != nil {
		t.Fatal(err)
	}
	project, err := e.svc.CreateResourceToken(e.ctx, w.owner, w.projectRes(), authority.NewToken{Name: "deploy", Scopes: []string{"api"}, AccessLevel: botgate.OwnerAccess})
	if err != nil {
		t.Fatal(err)
	}
	revoke := func(a authority.Actor, id int64) error { return e.svc.RevokeToken(e.ctx, a, id) }
	rotate := func(a authority.Actor, id int64) error { _, err := e.svc.RotateToken(e.ctx, a, id, nil); return err }
	get := func(a authority.Actor, id int64) error { _, err := e.svc.Token(e.ctx, a, id); return err }
	tests := []struct {
		name  string
		op    func(authority.Actor, int64) error
		actor authority.Actor
		id    int64
		want  botgate.Kind
	}{
		{"revoke another person's token", revoke, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"revoke a missing token", revoke, w.dev, 987654, botgate.KindNotFound},
		{"revoke a group token below Owner", revoke, w.maint, group.Token.ID, botgate.KindNotFound},
		{"revoke a project token as developer", revoke, w.dev, project.Token.ID, botgate.KindNotFound},
		{"revoke a project token as outsider", revoke, w.outsider, project.Token.ID, botgate.KindNotFound},
		{"rotate another person's token", rotate, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"rotate a project token as developer", rotate, w.dev, project.Token.ID, botgate.KindNotFound},
		{"rotate a visible Owner-level token as maintainer", rotate, w.maint, project.Token.ID, botgate.KindForbidden},
		{"read another person's token", get, w.dev, pat.Token.ID, botgate.KindNotFound},
		{"admin revokes another person's token", revoke, e.admin, pat.Token.ID, botgate.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOutcome(t, tt.op(tt.actor, tt.id), tt.want)
		})
	}
}
