package broker_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/broker"
)

// TestBrokerJobGrants mints job tokens against a second botgate as the
// upstream: each is a fresh upstream token of the automation's credential
// that works upstream; ending the job revokes it there; the sweeper
// revokes the ones whose time passed (also when the job already revoked
// its own token upstream); and every grant is audited with the job.
func TestBrokerJobGrants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create(t, broker.NewCredential{Automation: "triage", Kind: botgate.ProjectAccessToken, Target: "acme/app",
		TokenName: "triage bot", Scopes: []string{"read_api"}, AccessLevel: botgate.ReporterAccess,
		Lifetime: 30 * 24 * time.Hour, RotateBefore: 7 * 24 * time.Hour})
	grant := func(sub string) *broker.Grant {
		t.Helper()
		g, err := f.l.b.GrantJob(ctx, broker.JobGrant{OwnerGroupID: f.l.team.ID, Automation: "triage", TTL: 10 * time.Minute,
			Subject: sub, Identity: map[string]string{"pipeline_id": "1001", "job_id": "5005"}})
		if err != nil {
			t.Fatalf("GrantJob: %v", err)
		}
		return g
	}

	// Ended by the job.
	g1 := grant("job-a")
	if !f.up.works(t, g1.Value) || g1.UpstreamURL != f.up.srv.URL || !g1.ExpiresAt.Equal(f.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("grant %+v: token does not work upstream or wrong expiry", g1)
	}
	if f.up.works(t, f.l.value(t, "triage")) == false {
		t.Fatal("the automation's standing upstream token stopped working")
	}
	if err := f.l.b.EndGrant(ctx, g1.ID, "job ended"); err != nil {
		t.Fatal(err)
	}
	if f.up.works(t, g1.Value) {
		t.Error("the job token still works upstream after EndGrant")
	}
	if err := f.l.b.EndGrant(ctx, g1.ID, "job ended"); err != nil {
		t.Errorf("ending a grant twice: %v, want nil", err)
	}

	// Left to expire; one of them revoked by the job itself upstream.
	g2, g3 := grant("job-b"), grant("job-c")
	req, _ := http.NewRequest(http.MethodDelete, f.up.srv.URL+"/api/v4/personal_access_tokens/self", nil)
	req.Header.Set("Private-Token", g3.Value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("self-revocation upstream: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	s, err := broker.NewScheduler(broker.SchedulerConfig{Broker: f.l.b, Holder: "server-a", NotifyWithin: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.RunOnce(ctx); err != nil || rep.GrantsRevoked != 0 {
		t.Fatalf("sweep before expiry: %+v %v, want nothing revoked", rep, err)
	}
	if !f.up.works(t, g2.Value) {
		t.Fatal("a job token stopped working before its time")
	}
	f.clock.Advance(10 * time.Minute)
	rep, err := s.RunOnce(ctx)
	if err != nil || rep.GrantsRevoked != 2 {
		t.Fatalf("sweep after expiry: %+v %v, want 2 revoked\n%s", rep, err, f.logs.String())
	}
	if f.up.works(t, g2.Value) {
		t.Error("an expired job token still works upstream after the sweep")
	}
	if rep, _ := s.RunOnce(ctx); rep.GrantsRevoked != 0 {
		t.Errorf("second sweep revoked %d, want 0", rep.GrantsRevoked)
	}

	grants, revokes := f.l.audit(t, botgate.ActionUpstreamGrant), f.l.audit(t, botgate.ActionUpstreamGrantRevoke)
	if len(grants) != 3 || len(revokes) != 3 || grants[0].Details["job.pipeline_id"] != "1001" || grants[0].Details["subject"] != "job-a" {
		t.Errorf("audit: %d grants (first %v), %d revocations; want 3 and 3 with the job's identity", len(grants), grants[0].Details, len(revokes))
	}
	assertNoSecrets(t, f, g1.Value, g2.Value, g3.Value)

	// An automation without an upstream credential has no job tokens.
	_, err = f.l.b.GrantJob(ctx, broker.JobGrant{OwnerGroupID: f.l.team.ID, Automation: "other", TTL: time.Minute})
	if !botgate.IsKind(err, botgate.KindNotFound) || !strings.Contains(err.Error(), "no active upstream credential") {
		t.Errorf("GrantJob without a credential: %v", err)
	}
}
