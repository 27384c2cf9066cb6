package authority_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/internal/logbuf"
	"github.com/botgate/botgate/vault"
)

// testKey returns a master key whose bytes are all b.
func testKey(t *testing.T, b byte) *vault.MasterKey {
	t.Helper()
	k, err := vault.NewMasterKey(bytes.Repeat([]byte{b}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeyring(t *testing.T, cur byte, old ...byte) *vault.Keyring {
	t.Helper()
	var olds []*vault.MasterKey
	for _, o := range old {
		olds = append(olds, testKey(t, o))
	}
	kr, err := vault.NewKeyring(rand.Reader, testKey(t, cur), olds...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// vaultEnv is a service with a vault, a team and its members.
type vaultEnv struct {
	*env
	w        *world
	v        *authority.Vault
	reporter authority.Actor
	logs     *logbuf.Buffer
}

func newVaultEnv(t *testing.T) *vaultEnv {
	t.Helper()
	logs := &logbuf.Buffer{}
	e := newEnv(t, func(c *authority.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ve := &vaultEnv{env: e, w: e.world(), v: e.svc.Vault(testKeyring(t, 1)), logs: logs}
	ve.reporter = e.human("rita")
	if _, err := e.svc.AddMember(e.ctx, ve.w.owner, ve.w.groupRes(), ve.reporter.User.ID, botgate.ReporterAccess, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ve.v.EnsureCanary(e.ctx); err != nil {
		t.Fatal(err)
	}
	return ve
}

func (ve *vaultEnv) put(a authority.Actor, name, value string) *botgate.Secret {
	ve.t.Helper()
	s, _, err := ve.v.PutSecret(ve.ctx, a, authority.NewSecret{GroupID: ve.w.group.ID, Name: name, Value: []byte(value)})
	if err != nil {
		ve.t.Fatalf("PutSecret(%s): %v", name, err)
	}
	return s
}

// botToken creates a project access token and returns its actor.
func (ve *vaultEnv) botToken(name string, scopes ...string) (authority.Actor, *authority.Created) {
	ve.t.Helper()
	c, err := ve.svc.CreateResourceToken(ve.ctx, ve.w.owner, ve.w.projectRes(), authority.NewToken{Name: name, Scopes: scopes, Automation: name})
	if err != nil {
		ve.t.Fatal(err)
	}
	return authority.Actor{User: c.User, Token: c.Token}, c
}

func TestVaultRoundTripThroughStorage(t *testing.T) {
	ve := newVaultEnv(t)
	const value = "glpat-upstream-admin-value-0001"
	created, isNew, err := ve.v.PutSecret(ve.ctx, ve.w.maint, authority.NewSecret{GroupID: ve.w.group.ID, Name: "gitlab-admin", Description: "upstream", Value: []byte(value)})
	if err != nil || !isNew {
		t.Fatalf("PutSecret: %v (created %v)", err, isNew)
	}
	if created.Sealed != nil {
		t.Fatal("PutSecret returned the sealed value; it must return metadata only")
	}
	var stored *botgate.Secret
	if err := ve.store.View(ve.ctx, func(tx botgate.Tx) (err error) {
		stored, err = tx.Secret(ve.ctx, created.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Sealed, []byte(value)) || len(stored.Sealed) != vault.Overhead+len(value) {
		t.Fatalf("stored blob is %d bytes (want %d) or holds the plaintext", len(stored.Sealed), vault.Overhead+len(value))
	}
	if stored.KeyID != ve.v.Keyring().Current().String() {
		t.Fatalf("stored key id %s, want %s", stored.KeyID, ve.v.Keyring().Current())
	}
	got, meta, err := ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "gitlab-admin")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != value || meta.LastReadAt == nil || meta.Sealed != nil {
		t.Fatalf("ReadSecret = %q, meta %+v", got, meta)
	}
	// Replacing the value keeps the id and seals afresh.
	updated, isNew, err := ve.v.PutSecret(ve.ctx, ve.w.owner, authority.NewSecret{GroupID: ve.w.group.ID, Name: "gitlab-admin", Value: []byte("second value")})
	if err != nil || isNew || updated.ID != created.ID {
		t.Fatalf("second PutSecret: %v new=%v id=%d", err, isNew, updated.ID)
	}
	got, _, err = ve.v.ReadSecretRef(ve.ctx, ve.admin, "vault:platform/gitlab-admin")
	if err != nil || string(got) != "second value" {
		t.Fatalf("ReadSecretRef = %q, %v", got, err)
	}
	list, total, err := ve.v.ListSecrets(ve.ctx, ve.reporter, ve.w.group.ID, botgate.Page{})
	if err != nil || total != 1 || list[0].Sealed != nil || list[0].Name != "gitlab-admin" {
		t.Fatalf("ListSecrets = %+v, %d, %v (want metadata only)", list, total, err)
	}
	if _, _, err := ve.v.ListSecrets(ve.ctx, ve.w.outsider, ve.w.group.ID, botgate.Page{}); !botgate.IsKind(err, botgate.KindNotFound) {
		t.Fatalf("outsider listing: %v, want not found", err)
	}
}

func TestVaultAADBindsRowToItsIdentity(t *testing.T) {
	ve := newVaultEnv(t)
	a := ve.put(ve.w.maint, "alpha", "alpha-secret-value")
	b := ve.put(ve.w.maint, "beta", "beta-secret-value")
	// Copy alpha's blob onto beta's row, as someone with database access might.
	err := ve.store.Update(ve.ctx, func(tx botgate.Tx) error {
		sa, err := tx.Secret(ve.ctx, a.ID)
		if err != nil {
			return err
		}
		sb, err := tx.Secret(ve.ctx, b.ID)
		if err != nil {
			return err
		}
		sb.Sealed = sa.Sealed
		return tx.UpdateSecret(ve.ctx, sb)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "beta")
	if err == nil || !errors.Is(err, vault.ErrCorrupt) || got != nil {
		t.Fatalf("reading a copied blob: %q, %v; want ErrCorrupt and no value", got, err)
	}
	if !strings.Contains(botgate.MessageOf(err), fmt.Sprintf("secret %d", b.ID)) {
		t.Fatalf("error %q does not name the secret", botgate.MessageOf(err))
	}
	// The damage is reported for that secret; the others still open.
	if v, _, err := ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "alpha"); err != nil || string(v) != "alpha-secret-value" {
		t.Fatalf("alpha after beta's corruption: %q, %v", v, err)
	}
	ev := ve.audit(botgate.AuditFilter{Action: botgate.ActionSecretCorrupt})
	if len(ev) != 1 || ev[0].TargetID != b.ID {
		t.Fatalf("corrupt audit events = %+v, want one for secret %d", ev, b.ID)
	}
	if !strings.Contains(ve.logs.String(), "vault secret does not open") {
		t.Fatal("the corrupted secret was not logged")
	}
}

func TestVaultAccessRules(t *testing.T) {
	ve := newVaultEnv(t)
	const value = "s3cr3t-deploy-key-for-access-test"
	ve.put(ve.w.owner, "deploy", value)
	planner := ve.human("pat")
	if _, err := ve.svc.AddMember(ve.ctx, ve.w.owner, ve.w.groupRes(), planner.User.ID, botgate.PlannerAccess, nil); err != nil {
		t.Fatal(err)
	}
	boundActor, bound := ve.botToken("release-bot", "read_api", "read_secret")
	unboundActor, _ := ve.botToken("other-bot", "read_api", "read_secret")
	noScopeActor, _ := ve.botToken("triage-bot", "api")
	if _, err := ve.v.BindSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "deploy", bound.Token.ID); err != nil {
		t.Fatal(err)
	}
	// The binding follows the token's family through rotation.
	rotated, err := ve.svc.RotateToken(ve.ctx, ve.w.owner, bound.Token.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	rotatedActor := authority.Actor{User: rotated.User, Token: rotated.Token}
	// A human Maintainer's token without api or read_secret.
	narrow, err := ve.svc.CreatePersonalToken(ve.ctx, ve.w.maint, ve.w.maint.User.ID, authority.NewToken{Name: "narrow", Scopes: []string{"read_api"}})
	if err != nil {
		t.Fatal(err)
	}
	maintNarrow := authority.Actor{User: ve.w.maint.User, Token: narrow.Token}
	maintWide, err := ve.svc.CreatePersonalToken(ve.ctx, ve.w.maint, ve.w.maint.User.ID, authority.NewToken{Name: "wide", Scopes: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		actor authority.Actor
		want  botgate.Kind // KindOther: allowed
	}{
		{"owner", ve.w.owner, botgate.KindOther},
		{"maintainer", ve.w.maint, botgate.KindOther},
		{"maintainer with api token", authority.Actor{User: ve.w.maint.User, Token: maintWide.Token}, botgate.KindOther},
		{"admin", ve.admin, botgate.KindOther},
		{"bound token (rotated)", rotatedActor, botgate.KindOther},
		{"developer", ve.w.dev, botgate.KindForbidden},
		{"reporter", ve.reporter, botgate.KindForbidden},
		{"planner", planner, botgate.KindNotFound},
		{"guest", ve.w.guest, botgate.KindNotFound},
		{"outsider", ve.w.outsider, botgate.KindNotFound},
		{"maintainer with read_api token", maintNarrow, botgate.KindForbidden},
		{"unbound token with read_secret", unboundActor, botgate.KindNotFound},
		{"token without read_secret", noScopeActor, botgate.KindNotFound},
		{"rotated-out bound token", boundActor, botgate.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ve.audit(botgate.AuditFilter{}))
			got, meta, err := ve.v.ReadSecret(ve.ctx, tt.actor, ve.w.group.ID, "deploy")
			events := ve.audit(botgate.AuditFilter{AfterSeq: int64(before)})
			if tt.want == botgate.KindOther {
				if err != nil || string(got) != value || meta == nil {
					t.Fatalf("ReadSecret = %q, %v; want the value", got, err)
				}
				if len(events) != 1 || events[0].Action != botgate.ActionSecretRead || events[0].ActorID != tt.actor.User.ID {
					t.Fatalf("audit after a read = %+v, want one secret.read by the actor", events)
				}
				return
			}
			wantKind(t, err, tt.want)
			if got != nil {
				t.Fatal("a refused read returned a value")
			}
			if len(events) != 1 || events[0].Action != botgate.ActionSecretReadDenied || events[0].ActorID != tt.actor.User.ID {
				t.Fatalf("audit after a refusal = %+v, want one secret.read_denied by the actor", events)
			}
		})
	}

	writes := []struct {
		name  string
		actor authority.Actor
		want  botgate.Kind
	}{
		{"owner", ve.w.owner, botgate.KindOther},
		{"maintainer", ve.w.maint, botgate.KindOther},
		{"admin", ve.admin, botgate.KindOther},
		{"developer", ve.w.dev, botgate.KindForbidden},
		{"reporter", ve.reporter, botgate.KindForbidden},
		{"planner", planner, botgate.KindForbidden},
		{"guest", ve.w.guest, botgate.KindForbidden},
		{"outsider", ve.w.outsider, botgate.KindNotFound},
		{"bound bot", rotatedActor, botgate.KindForbidden},
	}
	for _, tt := range writes {
		t.Run("write/"+tt.name, func(t *testing.T) {
			_, _, err := ve.v.PutSecret(ve.ctx, tt.actor, authority.NewSecret{GroupID: ve.w.group.ID, Name: "written-by-" + strings.ReplaceAll(tt.name, " ", "-"), Value: []byte("x")})
			if tt.want == botgate.KindOther {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, tt.want)
			ev := ve.audit(botgate.AuditFilter{Action: botgate.ActionSecretDenied, ActorID: tt.actor.User.ID})
			if len(ev) == 0 {
				t.Fatal("refused write not audited")
			}
		})
	}

	binds := []struct {
		name  string
		token int64
		want  botgate.Kind
	}{
		{"token without read_secret", noScopeActor.Token.ID, botgate.KindInvalid},
		{"a person's token", maintWide.Token.ID, botgate.KindInvalid},
		{"revoked token", bound.Token.ID, botgate.KindInvalid},
		{"unknown token", 999999, botgate.KindInvalid},
	}
	for _, tt := range binds {
		t.Run("bind/"+tt.name, func(t *testing.T) {
			_, err := ve.v.BindSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "deploy", tt.token)
			wantKind(t, err, tt.want)
		})
	}
	t.Run("bind/outside the team", func(t *testing.T) {
		g, err := ve.svc.CreateGroup(ve.ctx, ve.w.outsider, authority.NewGroup{Name: "Elsewhere", Path: "elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := ve.svc.CreateProject(ve.ctx, ve.w.outsider, authority.NewProject{Name: "X", Path: "x", NamespaceID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		c, err := ve.svc.CreateResourceToken(ve.ctx, ve.w.outsider, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID},
			authority.NewToken{Name: "foreign", Scopes: []string{"read_secret"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ve.v.BindSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "deploy", c.Token.ID)
		wantKind(t, err, botgate.KindInvalid)
	})
}

func TestVaultMasterKeyRotation(t *testing.T) {
	ve := newVaultEnv(t)
	values := map[string]string{}
	for i := range 25 {
		name := fmt.Sprintf("secret-%02d", i)
		values[name] = fmt.Sprintf("value-%02d-%x", i, i*7919)
		ve.put(ve.w.maint, name, values[name])
	}
	old := ve.v.Keyring().Current()
	// The server restarts with the new key current and the old one loaded.
	rot := ve.svc.Vault(testKeyring(t, 2, 1))
	if err := rot.VerifyMasterKey(ve.ctx); err != nil {
		t.Fatalf("new+old keyring refused before rotation: %v", err)
	}
	// Writers keep working while the rotation runs.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 10 {
			name := fmt.Sprintf("secret-%02d", i)
			if _, _, err := rot.PutSecret(ve.ctx, ve.w.owner, authority.NewSecret{GroupID: ve.w.group.ID, Name: name, Value: []byte(values[name])}); err != nil {
				t.Errorf("write during rotation: %v", err)
			}
		}
	}()
	if _, err := rot.Rewrap(ve.ctx, ve.w.maint, 10); !botgate.IsKind(err, botgate.KindForbidden) {
		t.Fatalf("non-admin rotation: %v, want forbidden", err)
	}
	rep, err := rot.Rewrap(ve.ctx, authority.SystemActor(), 4)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Canary || len(rep.Failed) != 0 || rep.Rewrapped == 0 || rep.Rewrapped > 25 {
		t.Fatalf("Rewrap report %+v", rep)
	}
	// Only the new key is needed now; the old one alone is refused at start.
	newOnly := ve.svc.Vault(testKeyring(t, 2))
	if err := newOnly.VerifyMasterKey(ve.ctx); err != nil {
		t.Fatalf("new key alone after rotation: %v", err)
	}
	for name, want := range values {
		got, _, err := newOnly.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, name)
		if err != nil || string(got) != want {
			t.Fatalf("%s under the new key: %q, %v", name, got, err)
		}
	}
	oldOnly := ve.svc.Vault(testKeyring(t, 1))
	err = oldOnly.VerifyMasterKey(ve.ctx)
	if !errors.Is(err, vault.ErrKeyNotLoaded) || !strings.Contains(botgate.MessageOf(err), "wrong master key") {
		t.Fatalf("old key alone after rotation: %v; want a clear wrong-master-key error", err)
	}
	if ev := ve.audit(botgate.AuditFilter{Action: botgate.ActionVaultRotated}); len(ev) != 1 || ev[0].Details["from_key_id"] != old.String() {
		t.Fatalf("rotation audit = %+v", ev)
	}
	// A second pass has nothing to do.
	rep, err = newOnly.Rewrap(ve.ctx, authority.SystemActor(), 10)
	if err != nil || rep.Rewrapped != 0 || !rep.Canary {
		t.Fatalf("second Rewrap = %+v, %v", rep, err)
	}
}

func TestVaultRotationSkipsCorruptSecretAndKeepsCanary(t *testing.T) {
	ve := newVaultEnv(t)
	ve.put(ve.w.maint, "good", "good-value")
	bad := ve.put(ve.w.maint, "bad", "bad-value")
	err := ve.store.Update(ve.ctx, func(tx botgate.Tx) error {
		s, err := tx.Secret(ve.ctx, bad.ID)
		if err != nil {
			return err
		}
		s.Sealed[len(s.Sealed)-40] ^= 1 // inside the wrapped data key
		return tx.UpdateSecret(ve.ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	rot := ve.svc.Vault(testKeyring(t, 2, 1))
	rep, err := rot.Rewrap(ve.ctx, authority.SystemActor(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Canary || len(rep.Failed) != 1 || rep.Rewrapped != 1 {
		t.Fatalf("Rewrap with a corrupt secret = %+v; want it reported and the canary left", rep)
	}
	// The old key is still needed: the canary was not moved.
	if err := ve.v.VerifyMasterKey(ve.ctx); err != nil {
		t.Fatalf("old key after a partial rotation: %v", err)
	}
}

func TestVaultNoPlaintextInLogsErrorsOrAudit(t *testing.T) {
	ve := newVaultEnv(t)
	secrets := []string{"plaintext-one-7f3a9c", "plaintext-two-22b8e1", "plaintext-three-91cc0d"}
	for i, s := range secrets {
		ve.put(ve.w.maint, fmt.Sprintf("k%d", i), s)
	}
	var errs []error
	collect := func(_ []byte, _ *botgate.Secret, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	collect(ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "k0"))
	collect(ve.v.ReadSecret(ve.ctx, ve.w.dev, ve.w.group.ID, "k1"))
	collect(ve.v.ReadSecret(ve.ctx, ve.w.outsider, ve.w.group.ID, "k2"))
	// Corrupt one, read it, and rotate past it.
	err := ve.store.Update(ve.ctx, func(tx botgate.Tx) error {
		s, err := tx.SecretByName(ve.ctx, ve.w.group.ID, "k2")
		if err != nil {
			return err
		}
		s.Sealed[len(s.Sealed)-1] ^= 0xff
		return tx.UpdateSecret(ve.ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	collect(ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, "k2"))
	if _, err := ve.svc.Vault(testKeyring(t, 3, 1)).Rewrap(ve.ctx, authority.SystemActor(), 2); err != nil {
		errs = append(errs, err)
	}
	if len(errs) != 3 {
		t.Fatalf("want 3 errors (two refusals, one corrupt), got %v", errs)
	}
	var haystack strings.Builder
	haystack.WriteString(ve.logs.String())
	for _, err := range errs {
		haystack.WriteString(err.Error())
	}
	for _, e := range ve.audit(botgate.AuditFilter{}) {
		fmt.Fprintf(&haystack, "%+v", *e)
	}
	if !strings.Contains(haystack.String(), "secret.read_denied") {
		t.Fatal("the scan saw no audit events; it would not catch a leak")
	}
	for _, s := range secrets {
		if strings.Contains(haystack.String(), s) {
			t.Errorf("secret value %q appears in logs, errors or audit", s)
		}
	}
}

func TestVaultCheckReportsDamagePerSecret(t *testing.T) {
	ve := newVaultEnv(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		ve.put(ve.w.maint, n, "value-of-"+n)
	}
	var damaged []int64
	err := ve.store.Update(ve.ctx, func(tx botgate.Tx) error {
		for _, n := range []string{"b", "d"} {
			s, err := tx.SecretByName(ve.ctx, ve.w.group.ID, n)
			if err != nil {
				return err
			}
			s.Sealed[vault.Overhead-20] ^= 0x40
			if err := tx.UpdateSecret(ve.ctx, s); err != nil {
				return err
			}
			damaged = append(damaged, s.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ve.v.Check(ve.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != damaged[0] || got[1].ID != damaged[1] || got[0].Reason != "corrupted or copied from another secret" {
		t.Fatalf("Check = %+v, want secrets %v", got, damaged)
	}
	for _, n := range []string{"a", "c"} {
		if v, _, err := ve.v.ReadSecret(ve.ctx, ve.w.maint, ve.w.group.ID, n); err != nil || string(v) != "value-of-"+n {
			t.Fatalf("intact secret %s: %q, %v", n, v, err)
		}
	}
	if strings.Contains(ve.logs.String(), "value-of-") {
		t.Fatal("Check logged a value")
	}
}
