package botgate_test

import (
	"testing"

	"github.com/botgate/botgate"
)

// TestTrustPolicyMustNameTheOwner: on a shared issuer (gitlab.com, GitHub
// Actions) anyone can run a job whose token carries the audience a policy
// asks for, from a project they create. A policy whose conditions do not
// name the workload's owner (the namespace or repository owner, or the
// service account's namespace) literally admits those jobs: the attacker
// names a project to fit a glob ("*/deploy", "*/*", "project_path:*"), or
// meets a policy with no owner condition at all (ref: main alone). Such a
// policy admits nothing.
func TestTrustPolicyMustNameTheOwner(t *testing.T) {
	attacker := map[string]any{
		"iss": "https://gitlab.com", "aud": "https://botgate.example.com",
		"sub":          "project_path:evil/deploy:ref_type:branch:ref:main",
		"project_path": "evil/deploy", "namespace_path": "evil", "ref": "main", "ref_type": "branch", "ref_protected": "true",
		"repository": "evil/deploy", "repository_owner": "evil",
	}
	for name, claims := range map[string]map[string]string{
		"no owner condition":              {"ref": "main", "ref_protected": "true"},
		"project_path any namespace":      {"project_path": "*/deploy", "ref": "main"},
		"project_path any at all":         {"project_path": "*/*"},
		"project_path namespace prefix":   {"project_path": "ev*/deploy"},
		"namespace_path glob":             {"namespace_path": "e?il"},
		"namespace_path class":            {"namespace_path": "[a-z]*"},
		"sub any namespace":               {"sub": "project_path:*/deploy:ref_type:branch:ref:main"},
		"repository any owner":            {"repository": "*/deploy"},
		"repository_owner glob":           {"repository_owner": "*"},
		"an owner glob beside other pins": {"project_path": "*/deploy", "environment": "prod"},
	} {
		p := botgate.TrustPolicy{Issuer: "https://gitlab.com", Audience: "https://botgate.example.com", Claims: claims}
		if err := p.Match(attacker); err == nil {
			t.Errorf("%s: policy %s admits a job of the attacker's own project", name, p.String())
		}
		var bad bool
		for c, v := range claims {
			bad = bad || botgate.ValidateTrustCondition(c, v) != nil
		}
		if err := botgate.ValidateTrustPolicy(claims); err == nil && !bad {
			t.Errorf("%s: policy %s validates", name, p.String())
		}
	}
	// Policies that name the owner still admit its jobs.
	job := map[string]any{
		"sub":          "project_path:acme/app:ref_type:branch:ref:main",
		"project_path": "acme/app", "namespace_path": "acme", "ref": "main", "ref_protected": "true",
		"repository": "acme/app", "repository_owner": "acme",
	}
	pod := map[string]any{"sub": "system:serviceaccount:triage:bot"}
	for name, tc := range map[string]struct {
		claims map[string]string
		job    map[string]any
	}{
		"project_path":           {map[string]string{"project_path": "acme/app", "ref": "main"}, job},
		"any project of acme":    {map[string]string{"project_path": "acme/*"}, job},
		"namespace_path":         {map[string]string{"namespace_path": "acme"}, job},
		"sub":                    {map[string]string{"sub": "project_path:acme/app:ref_type:branch:ref:main"}, job},
		"sub of any acme ref":    {map[string]string{"sub": "project_path:acme/app:*"}, job},
		"repository":             {map[string]string{"repository": "acme/app"}, job},
		"repository_owner":       {map[string]string{"repository_owner": "acme"}, job},
		"a service account":      {map[string]string{"sub": "system:serviceaccount:triage:bot"}, pod},
		"a namespace's accounts": {map[string]string{"sub": "system:serviceaccount:triage:*"}, pod},
	} {
		p := botgate.TrustPolicy{Issuer: "https://gitlab.example.com", Audience: "b", Claims: tc.claims}
		if err := p.Match(tc.job); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := botgate.ValidateTrustPolicy(tc.claims); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
