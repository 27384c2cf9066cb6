package identity_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/identity"
	"github.com/botgate/botgate/internal/identitytest"
)

// exchangeUpstream asks for an upstream token of automation.
func exchangeUpstream(t *testing.T, e *identitytest.Env, automation, subject string) (int, map[string]any) {
	t.Helper()
	status, out := e.ExchangeForm(t, url.Values{
		"grant_type":           {identity.GrantTypeTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {identity.TokenTypeJWT},
		"audience":             {automation},
		"requested_token_type": {identity.TokenTypeUpstream},
	})
	return status, out
}

// TestExchangeUpstreamToken: in upstream mode a matching job gets a real
// token of a second botgate standing in for GitLab, minted by the broker
// for this job; botgate's scheduler revokes it upstream once the policy's
// max_ttl has passed. An automation without an upstream credential, and a
// replayed identity token, are refused.
func TestExchangeUpstreamToken(t *testing.T) {
	e := identitytest.Start(t)
	up := e.StartUpstream(t)

	status, out := exchangeUpstream(t, e, "triage", e.GitLab.Sign(t, e.GitLabJob("up-1")))
	if status != http.StatusOK {
		t.Fatalf("upstream exchange: %d %v", status, out)
	}
	tok, _ := out["access_token"].(string)
	if out["issued_token_type"] != identity.TokenTypeUpstream || out["upstream_url"] != up.URL || out["expires_in"].(float64) != 600 || out["grant_id"] == nil {
		t.Fatalf("answer = %v", out)
	}
	if !up.Works(t, tok) {
		t.Fatal("the upstream token does not work upstream")
	}

	e.Clock.Advance(9 * time.Minute)
	time.Sleep(300 * time.Millisecond) // a few scheduler runs
	if !up.Works(t, tok) {
		t.Fatal("the upstream token was revoked before its time")
	}
	e.Clock.Advance(time.Minute + time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for up.Works(t, tok) {
		if time.Now().After(deadline) {
			t.Fatal("the upstream token still works 10s after its botgate TTL passed: the sweeper did not revoke it")
		}
		time.Sleep(50 * time.Millisecond)
	}
	status, audit := adminGet(t, e, "/api/botgate/v1/audit/events?action=upstream.grant")
	if status != http.StatusOK || !strings.Contains(audit, `"job.job_id":"5005"`) || strings.Contains(audit, tok) {
		t.Errorf("the upstream grant's audit (%d) lacks the job or holds the token:\n%s", status, audit)
	}

	if status, out := exchangeUpstream(t, e, "release", e.GitLab.Sign(t, func() map[string]any {
		c := e.GitLabJob("up-2")
		c["ref"], c["ref_type"] = "v1.2.3", "tag"
		return c
	}())); status != http.StatusBadRequest || out["error"] != "invalid_target" || !strings.Contains(out["error_description"].(string), "no active upstream credential") {
		t.Errorf("upstream token of an automation without a credential: %d %v", status, out)
	}
	replayed := e.GitLab.Sign(t, e.GitLabJob("up-3"))
	exchangeUpstream(t, e, "triage", replayed)
	if status, out := exchangeUpstream(t, e, "triage", replayed); status != http.StatusBadRequest || !strings.Contains(out["error_description"].(string), "already exchanged") {
		t.Errorf("replayed upstream exchange: %d %v", status, out)
	}
}
