package identity_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate/internal/identitytest"
	"github.com/botgate/botgate/internal/oidctest"
)

// call makes a GET through the gateway with the token.
func call(t *testing.T, e *identitytest.Env, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.Proxy+path, nil)
	req.Header.Set("Private-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestExchangeThroughGateway: a GitLab CI job on a protected main branch of
// acme/app exchanges its id_token for a token of "triage", which works
// through the gateway (with the automation's routes) until it expires
// minutes later.
func TestExchangeThroughGateway(t *testing.T) {
	e := identitytest.Start(t)
	status, out := e.Exchange(t, "triage", e.GitLab.Sign(t, e.GitLabJob("job-5005")))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, out)
	}
	tok, _ := out["access_token"].(string)
	if tok == "" || out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || out["token_type"] != "Bearer" ||
		out["automation"] != "triage" || out["scope"] != "read_api" {
		t.Fatalf("answer = %v", out)
	}
	if got := out["expires_in"].(float64); got != 600 {
		t.Errorf("expires_in = %v, want 600 (the policy's max_ttl)", got)
	}

	if got := call(t, e, tok, "/api/v4/projects/1"); got != http.StatusOK {
		t.Fatalf("call with the exchanged token: %d, want 200", got)
	}
	if calls := e.UpstreamCalls(); len(calls) != 1 || strings.Contains(calls[0], tok) {
		t.Errorf("upstream saw %d calls (want 1, with botgate's credential, not the job's token)", len(calls))
	}
	// The automation's routes apply: a write is not among them.
	if got := call(t, e, tok, "/api/v4/projects/1/merge_requests"); got != http.StatusForbidden {
		t.Errorf("call outside the automation's routes: %d, want 403", got)
	}

	e.Clock.Advance(9 * time.Minute)
	if got := call(t, e, tok, "/api/v4/projects/1"); got != http.StatusOK {
		t.Fatalf("call after 9 minutes: %d, want 200", got)
	}
	e.Clock.Advance(time.Minute + time.Second)
	if got := call(t, e, tok, "/api/v4/projects/1"); got != http.StatusUnauthorized {
		t.Fatalf("call after expiry: %d, want 401", got)
	}

	// The exchange is audited with the job's identity.
	status, audit := adminGet(t, e, "/api/botgate/v1/audit/events?action=token.exchange")
	if status != http.StatusOK || !strings.Contains(audit, `"job.pipeline_id":"1001"`) || !strings.Contains(audit, `"job.job_id":"5005"`) ||
		!strings.Contains(audit, `"job.project_path":"acme/app"`) || !strings.Contains(audit, `"job.ref":"main"`) {
		t.Errorf("audit of the exchange (%d) lacks the job's identity:\n%s", status, audit)
	}
	if strings.Contains(audit, tok) {
		t.Error("the audit log holds the token")
	}
}

// adminGet reads an API path with the admin token Start wrote.
func adminGet(t *testing.T, e *identitytest.Env, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.API+path, nil)
	req.Header.Set("Private-Token", e.AdminToken(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	b, _ := json.Marshal(v)
	return resp.StatusCode, string(b)
}

// TestExchangeRefusals: each identity token that must not become a token
// is refused with an RFC 6749 error naming the failed condition.
func TestExchangeRefusals(t *testing.T) {
	e := identitytest.Start(t)
	job := func(jti string, edit func(c map[string]any)) map[string]any {
		c := e.GitLabJob(jti)
		if edit != nil {
			edit(c)
		}
		return c
	}
	stranger := oidctest.New(t)
	now := e.Clock.Now()
	tests := []struct {
		name       string
		automation string
		token      func() string
		code, want string
	}{
		{"wrong issuer", "triage", func() string {
			return stranger.Sign(t, job("r1", func(c map[string]any) { c["iss"] = stranger.URL() }))
		}, "invalid_grant", "is not trusted by automation triage"},
		{"trusted issuer named, other issuer's key", "triage", func() string {
			return stranger.Sign(t, job("r2", nil))
		}, "invalid_grant", "signature does not verify with issuer " + e.GitLab.URL()},
		{"wrong audience", "triage", func() string {
			return e.GitLab.Sign(t, job("r3", func(c map[string]any) { c["aud"] = "https://elsewhere.test" }))
		}, "invalid_grant", `audience "https://botgate.test" is not among the token's aud ["https://elsewhere.test"]`},
		{"expired", "triage", func() string {
			return e.GitLab.Sign(t, job("r4", func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-10*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
			}))
		}, "invalid_grant", "the token expired at"},
		{"not yet valid", "triage", func() string {
			return e.GitLab.Sign(t, job("r5", func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }))
		}, "invalid_grant", "the token is not valid before"},
		{"issued in the future", "triage", func() string {
			return e.GitLab.Sign(t, job("r6", func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }))
		}, "invalid_grant", "issued in the future"},
		{"no expiry", "triage", func() string {
			return e.GitLab.Sign(t, job("r7", func(c map[string]any) { delete(c, "exp") }))
		}, "invalid_grant", "no exp claim"},
		{"bad signature", "triage", func() string {
			tok := e.GitLab.Sign(t, job("r8", nil))
			parts := strings.Split(tok, ".")
			other := e.GitLab.Sign(t, job("r8", func(c map[string]any) { c["ref"] = "evil" }))
			return parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]
		}, "invalid_grant", "signature does not verify"},
		{"alg none", "triage", func() string { return oidctest.Unsigned(t, job("r9", nil)) },
			"invalid_grant", `the token is unsigned (alg "none")`},
		{"HS256 signed with the public key", "triage", func() string {
			return oidctest.SignHS256(t, e.GitLab.PublicKeyPEM(t), "key-1", job("r10", nil))
		}, "invalid_grant", "symmetric algorithm HS256 is refused"},
		{"unknown kid", "triage", func() string {
			return e.GitLab.SignWith(t, e.GitLab.Unpublished(t), job("r11", nil))
		}, "invalid_grant", "unknown kid"},
		{"unprotected ref", "triage", func() string {
			return e.GitLab.Sign(t, job("r12", func(c map[string]any) { c["ref"], c["ref_protected"] = "main", "false" }))
		}, "invalid_grant", `claim ref_protected is "false", the policy requires "true"`},
		{"other branch", "triage", func() string {
			return e.GitLab.Sign(t, job("r13", func(c map[string]any) { c["ref"] = "feature/x" }))
		}, "invalid_grant", `claim ref is "feature/x", the policy requires "main"`},
		{"other project", "triage", func() string {
			return e.GitLab.Sign(t, job("r14", func(c map[string]any) { c["project_path"] = "acme/fork" }))
		}, "invalid_grant", `claim project_path is "acme/fork", the policy requires "acme/app"`},
		{"branch job for the tag-only automation", "release", func() string { return e.GitLab.Sign(t, job("r15", nil)) },
			"invalid_grant", `claim ref is "main", the policy requires "v*"`},
		{"automation trusting no one", "nobody", func() string { return e.GitLab.Sign(t, job("r16", nil)) },
			"invalid_target", `automation "nobody" does not exist or trusts no workload identity`},
		{"unknown automation", "ghost", func() string { return e.GitLab.Sign(t, job("r17", nil)) },
			"invalid_target", `automation "ghost" does not exist`},
		{"Kubernetes token of another service account", "triage", func() string {
			c := e.Pod("k1")
			c["sub"] = "system:serviceaccount:triage:intruder"
			return e.K8s.Sign(t, c)
		}, "invalid_grant", `claim sub is "system:serviceaccount:triage:intruder", the policy requires "system:serviceaccount:triage:bot"`},
		{"Kubernetes token for the GitLab-only automation", "release", func() string { return e.K8s.Sign(t, e.Pod("k2")) },
			"invalid_grant", "is not trusted by automation release"},
		{"no jti", "triage", func() string {
			return e.GitLab.Sign(t, job("", func(c map[string]any) { delete(c, "jti") }))
		}, "invalid_grant", "no jti claim"},
		{"not a JWT", "triage", func() string { return "glpat-0123456789abcdefghij" }, "invalid_grant", "not a signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token()
			status, out := e.Exchange(t, tt.automation, tok)
			if status != http.StatusBadRequest || out["error"] != tt.code {
				t.Fatalf("got %d %v, want 400 %s", status, out, tt.code)
			}
			desc, _ := out["error_description"].(string)
			if !strings.Contains(desc, tt.want) {
				t.Errorf("error_description %q does not say %q", desc, tt.want)
			}
			parts := strings.Split(tok, ".")
			if strings.Contains(desc, tok) || len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(desc, parts[2]) {
				t.Error("the refusal holds token material")
			}
		})
	}
}

// TestExchangeReplay: an identity token is single-use.
func TestExchangeReplay(t *testing.T) {
	e := identitytest.Start(t)
	tok := e.GitLab.Sign(t, e.GitLabJob("job-77"))
	if status, out := e.Exchange(t, "triage", tok); status != http.StatusOK {
		t.Fatalf("first exchange: %d %v", status, out)
	}
	status, out := e.Exchange(t, "triage", tok)
	if status != http.StatusBadRequest || out["error"] != "invalid_grant" || !strings.Contains(out["error_description"].(string), `already exchanged (jti "job-77")`) {
		t.Fatalf("replay: %d %v, want invalid_grant naming the jti", status, out)
	}

	// Sent at once, one identity token still buys exactly one token.
	tok = e.GitLab.Sign(t, e.GitLabJob("job-78"))
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := e.Exchange(t, "triage", tok)
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusBadRequest {
			t.Errorf("concurrent replay answered %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent exchanges of one identity token succeeded, want 1", ok, n)
	}
}

// TestExchangeKubernetes: a pod of service account triage/bot gets a token
// of "triage" for the Kubernetes policy's max_ttl.
func TestExchangeKubernetes(t *testing.T) {
	e := identitytest.Start(t)
	status, out := e.Exchange(t, "triage", e.K8s.Sign(t, e.Pod("pod-1")))
	if status != http.StatusOK || out["expires_in"].(float64) != 300 {
		t.Fatalf("pod exchange: %d %v, want 200 with expires_in 300", status, out)
	}
	if got := call(t, e, out["access_token"].(string), "/api/v4/projects/1/issues"); got != http.StatusOK {
		t.Errorf("pod's token through the gateway: %d", got)
	}
}

// TestExchangeKeyRotation: after the issuer rotates its signing key, a
// token signed with the new key (an unknown kid) makes botgate refetch the
// JWKS and succeeds; a stream of made-up kids does not make it refetch
// more than once per refresh interval.
func TestExchangeKeyRotation(t *testing.T) {
	e := identitytest.Start(t)
	if status, out := e.Exchange(t, "triage", e.GitLab.Sign(t, e.GitLabJob("before"))); status != http.StatusOK {
		t.Fatalf("exchange before rotation: %d %v", status, out)
	}
	fetches := e.GitLab.JWKSFetches.Load()
	for i := range 5 {
		status, out := e.Exchange(t, "triage", e.GitLab.SignWith(t, e.GitLab.Unpublished(t), e.GitLabJob("rogue-"+string(rune('a'+i)))))
		if status != http.StatusBadRequest || !strings.Contains(out["error_description"].(string), "unknown kid") {
			t.Fatalf("rogue kid %d: %d %v", i, status, out)
		}
	}
	if got := e.GitLab.JWKSFetches.Load() - fetches; got > 0 {
		t.Errorf("5 unknown kids within the refresh interval made %d JWKS fetches, want 0", got)
	}

	e.Clock.Advance(time.Minute)
	e.GitLab.Rotate(t)
	status, out := e.Exchange(t, "triage", e.GitLab.Sign(t, e.GitLabJob("after")))
	if status != http.StatusOK {
		t.Fatalf("exchange after rotation: %d %v", status, out)
	}
	if got := e.GitLab.JWKSFetches.Load() - fetches; got != 1 {
		t.Errorf("rotation made %d JWKS fetches, want 1", got)
	}
}

// TestExchangeRequestShape: malformed requests are refused as RFC 6749
// invalid_request / unsupported_grant_type, and credentials in the query
// string are refused.
func TestExchangeRequestShape(t *testing.T) {
	e := identitytest.Start(t)
	tok := e.GitLab.Sign(t, e.GitLabJob("shape"))
	base := func() url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {tok},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "audience": {"triage"}}
	}
	tests := []struct {
		name  string
		edit  func(v url.Values)
		query string
		code  string
		want  string
	}{
		{"password grant", func(v url.Values) { v.Set("grant_type", "password") }, "", "unsupported_grant_type", "grant_type must be"},
		{"access token as subject", func(v url.Values) { v.Set("subject_token_type", "urn:ietf:params:oauth:token-type:access_token") }, "", "invalid_request", "subject_token_type must be"},
		{"no subject", func(v url.Values) { v.Del("subject_token") }, "", "invalid_request", "subject_token is missing"},
		{"no audience", func(v url.Values) { v.Del("audience") }, "", "invalid_target", "audience is missing"},
		{"audience and resource differ", func(v url.Values) { v.Set("resource", "release") }, "", "invalid_target", "name different automations"},
		{"token in the query", nil, "subject_token=" + url.QueryEscape(tok), "invalid_request", "not the query string"},
		{"bad expires_in", func(v url.Values) { v.Set("expires_in", "-5") }, "", "invalid_request", "expires_in must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base()
			if tt.edit != nil {
				tt.edit(v)
			}
			u := e.API + "/api/botgate/v1/identity/token"
			if tt.query != "" {
				u += "?" + tt.query
			}
			resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]string
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != http.StatusBadRequest || out["error"] != tt.code || !strings.Contains(out["error_description"], tt.want) {
				t.Errorf("got %d %v, want 400 %s saying %q", resp.StatusCode, out, tt.code, tt.want)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Error("answer may be cached")
			}
		})
	}
	// A shorter lifetime than the policy's may be asked for.
	v := base()
	v.Set("expires_in", "120")
	resp, err := http.PostForm(e.API+"/api/botgate/v1/identity/token", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK || out["expires_in"].(float64) != 120 {
		t.Errorf("expires_in=120: %d %v", resp.StatusCode, out)
	}
}

// TestExchangeIssuerDown: an issuer whose discovery cannot be read makes
// the exchange answer 503 temporarily_unavailable, not invalid_grant.
func TestExchangeIssuerDown(t *testing.T) {
	e := identitytest.Start(t)
	tok := e.K8s.Sign(t, e.Pod("down-1"))
	e.K8s.Close()
	status, out := e.Exchange(t, "triage", tok)
	if status != http.StatusServiceUnavailable || out["error"] != "temporarily_unavailable" || !strings.Contains(out["error_description"].(string), "could not be reached") {
		t.Fatalf("got %d %v, want 503 temporarily_unavailable", status, out)
	}
}
