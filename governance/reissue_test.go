package governance_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/governance"
)

const reissueManifest = `version: 1
policy: {rotate_before: 3d}
teams:
  - path: platform
    members:
      - {user: maya, access_level: maintainer}
      - {user: dev, access_level: developer}
  - path: data
projects:
  - {path: app, group: platform}
  - {path: etl, group: data}
automations:
  - {name: triage, purpose: Labels issues., owner: platform, projects: [platform/app], scopes: [read_api], access_level: reporter, expires_in: 20d}
  - {name: release, purpose: Tags releases., owner: platform, projects: [platform/app], scopes: [api], access_level: developer, expires_in: 90d}
  - {name: loader, purpose: Loads data., owner: data, projects: [data/etl], scopes: [read_api], access_level: reporter, expires_in: 10d}
`

func TestReissue(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	actors := map[string]authority.Actor{}
	for _, name := range []string{"maya", "dev"} {
		u, err := e.auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: name, Name: name, Email: name + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		actors[name] = authority.Actor{User: u}
	}
	e.apply(parse(t, reissueManifest), governance.ApplyOptions{})
	before := e.activeTokens()
	triage, release, loader := before["triage"][0], before["release"][0], before["loader"][0]

	// A dry run lists the due tokens, soonest first, and rotates nothing.
	rep, err := e.gov.Reissue(ctx, authority.SystemActor(), apiwire.Reissue{ExpiringWithin: "30d", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) != 2 || rep.Tokens[0].TokenID != loader.ID || rep.Tokens[1].TokenID != triage.ID || rep.Tokens[0].NewTokenID != 0 {
		t.Fatalf("dry run %+v: want loader then triage, nothing rotated", rep.Tokens)
	}

	// Refused, fail closed: a developer, and a maintainer asking for every
	// team.
	for _, tc := range []struct {
		name  string
		actor authority.Actor
		team  string
	}{{"developer of the team", actors["dev"], "platform"}, {"maintainer, every team", actors["maya"], ""},
		{"maintainer of another team", actors["maya"], "data"}} {
		_, err := e.gov.Reissue(ctx, tc.actor, apiwire.Reissue{ExpiringWithin: "30d", Team: tc.team})
		if k := botgate.KindOf(err); k != botgate.KindForbidden && k != botgate.KindNotFound {
			t.Errorf("%s: %v, want refused", tc.name, err)
		}
	}
	if after := e.activeTokens(); after["triage"][0].ID != triage.ID || after["loader"][0].ID != loader.ID {
		t.Fatal("a refused reissue rotated a token")
	}

	// The team's maintainer reissues its due token; the rest stay.
	rep, err = e.gov.Reissue(ctx, actors["maya"], apiwire.Reissue{ExpiringWithin: "30d", Team: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) != 1 || rep.Tokens[0].TokenID != triage.ID || rep.Tokens[0].Error != "" ||
		rep.Tokens[0].VaultPath != "vault:platform/triage.token" || rep.Tokens[0].NewExpiresAt == nil {
		t.Fatalf("maintainer's reissue %+v", rep.Tokens)
	}
	after := e.activeTokens()
	fresh := after["triage"][0]
	if fresh.ID != rep.Tokens[0].NewTokenID || fresh.FamilyID != triage.FamilyID || fresh.PreviousID != triage.ID {
		t.Errorf("the new triage token %+v is not the rotated successor of #%d", fresh, triage.ID)
	}
	if after["release"][0].ID != release.ID || after["loader"][0].ID != loader.ID {
		t.Error("a token that was not due, or of another team, was rotated")
	}
	// The vault holds the new secret, and it is the new token's.
	value, _, err := e.vault.ReadSecretRef(ctx, authority.SystemActor(), rep.Tokens[0].VaultPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.auth.LookupToken(ctx, authority.SystemActor(), string(value))
	if err != nil || got.ID != fresh.ID {
		t.Errorf("the vault's secret is token %v (%v), want #%d", got, err, fresh.ID)
	}
	// The old token is revoked, and rotating it again revokes the family.
	if _, err := e.auth.RotateToken(ctx, authority.SystemActor(), triage.ID, nil); err == nil {
		t.Error("the reissued token rotated again")
	}

	// An administrator reissues every team's due tokens: within 15 days,
	// loader's (10 days left) but not triage's successor (20 days).
	rep, err = e.gov.Reissue(ctx, authority.SystemActor(), apiwire.Reissue{ExpiringWithin: "15d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) != 1 || rep.Tokens[0].TokenID != loader.ID || rep.Tokens[0].VaultPath != "vault:data/loader.token" {
		t.Errorf("admin reissue %+v: want loader only", rep.Tokens)
	}

	if _, err := e.gov.Reissue(ctx, authority.SystemActor(), apiwire.Reissue{ExpiringWithin: "soon"}); botgate.KindOf(err) != botgate.KindInvalid {
		t.Errorf("a bad duration: %v, want KindInvalid", err)
	}
}

// TestKeptSecretAuditNamesCommand checks that the audit event of a token
// secret kept in the team's vault on a Maintainer's behalf names the
// command that issued the token, and the Maintainer: an apply's says
// "apply by maya", a reissue's "token reissue by maya".
func TestKeptSecretAuditNamesCommand(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	var maya authority.Actor
	for _, name := range []string{"maya", "dev"} {
		u, err := e.auth.CreateUser(ctx, authority.SystemActor(), authority.NewUser{Username: name, Name: name, Email: name + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if name == "maya" {
			maya = authority.Actor{User: u}
		}
	}
	e.apply(parse(t, reissueManifest), governance.ApplyOptions{})
	// keptBy is the actor name of the newest vault write of the
	// automation's token secret.
	keptBy := func(automation string) string {
		t.Helper()
		evs, err := e.auth.AuditEvents(ctx, authority.SystemActor(), botgate.AuditFilter{TargetType: "secret", Descending: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if (ev.Action == botgate.ActionSecretCreate || ev.Action == botgate.ActionSecretUpdate) && ev.TargetName == "platform/"+governance.SecretName(automation) {
				return ev.ActorName
			}
		}
		t.Fatalf("no vault write of %s's token secret among %d secret events", automation, len(evs))
		return ""
	}

	// maya, the team's Maintainer, applies a manifest that adds an
	// automation: its token is issued and kept on her behalf.
	added := reissueManifest + "  - {name: notes, purpose: Writes notes., owner: platform, projects: [platform/app], scopes: [read_api], access_level: reporter, expires_in: 20d}\n"
	if _, _, err := (governance.API{Governor: e.gov}).Apply(ctx, maya, parse(t, added), false, false); err != nil {
		t.Fatal(err)
	}
	if got := keptBy("notes"); got != "apply by maya" {
		t.Errorf("the apply's vault write is audited as %q, want %q", got, "apply by maya")
	}

	// maya reissues the team's due token (triage's).
	rep, err := e.gov.Reissue(ctx, maya, apiwire.Reissue{ExpiringWithin: "30d", Team: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tokens) == 0 || rep.Tokens[0].Automation != "triage" || rep.Tokens[0].VaultPath == "" {
		t.Fatalf("reissue %+v: want triage's token rotated and kept", rep.Tokens)
	}
	if got := keptBy("triage"); got != "token reissue by maya" {
		t.Errorf("the reissue's vault write is audited as %q, want %q", got, "token reissue by maya")
	}
}
