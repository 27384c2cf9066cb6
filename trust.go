package botgate

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TrustPolicy says which workload identity may act as an automation: a job
// or pod whose platform signs a token with Issuer's keys, for Audience,
// whose claims meet every condition in Claims. A matching identity is given
// a token of the automation that lives at most MaxTTL. An automation with
// no trust policy trusts no workload identity (deny by default).
type TrustPolicy struct {
	// Issuer is the OIDC issuer URL, exactly as the token's "iss" claim
	// says it (GitLab CI: the instance URL; a Kubernetes cluster: its
	// service-account issuer).
	Issuer string `json:"issuer"`
	// Audience must be one of the token's "aud" values.
	Audience string `json:"audience"`
	// Claims maps a claim name to its required value: an exact value, or a
	// glob pattern (path.Match: '*' does not cross '/'). Every condition
	// must hold.
	Claims map[string]string `json:"claims,omitempty"`
	// MaxTTL is the longest life of a token given for this policy.
	MaxTTL time.Duration `json:"max_ttl"`
}

// Workload identity limits.
const (
	// DefaultWorkloadTTL is a trust policy's MaxTTL when it names none.
	DefaultWorkloadTTL = 15 * time.Minute
	// MaxWorkloadTTL is the longest a workload token may live.
	MaxWorkloadTTL = time.Hour
	// MinWorkloadTTL is the shortest MaxTTL a policy may name.
	MinWorkloadTTL = time.Minute
)

// ActionTokenExchange is the audit action of a token given for a workload
// identity.
const ActionTokenExchange = "token.exchange"

// TrustClaims are the claim names a trust policy may put conditions on:
// GitLab CI's id_tokens claims, GitHub Actions' and the standard "sub".
var TrustClaims = []string{
	"sub",
	// GitLab CI.
	"project_path", "namespace_path", "ref", "ref_type", "ref_protected", "pipeline_source",
	"environment", "environment_protected",
	// GitHub Actions.
	"repository", "repository_owner", "workflow", "event_name",
}

// boolClaims hold "true" or "false".
var boolClaims = map[string]bool{"ref_protected": true, "environment_protected": true}

// ValidateTrustCondition checks one claim condition: a known claim and a
// well-formed pattern. The error is KindInvalid and says what to write.
func ValidateTrustCondition(claim, pattern string) error {
	known := false
	for _, c := range TrustClaims {
		known = known || c == claim
	}
	if !known {
		return Invalid("claims", "claim %q cannot be a condition: use one of %s", claim, strings.Join(TrustClaims, ", "))
	}
	if pattern == "" {
		return Invalid("claims", "claim %q has an empty condition: write the value (or glob) it must have, or drop it", claim)
	}
	if boolClaims[claim] && pattern != "true" && pattern != "false" {
		return Invalid("claims", "claim %q is \"true\" or \"false\", not %q", claim, pattern)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return Invalid("claims", "claim %q: %q is not a valid glob pattern (path.Match syntax: *, ?, [a-z])", claim, pattern)
	}
	return nil
}

// ownerClaims are the claims that say whose a workload is: its project or
// repository and their namespace or owner, or (sub) all of that, or a
// Kubernetes service account's namespace.
var ownerClaims = []string{"sub", "project_path", "namespace_path", "repository", "repository_owner"}

// ValidateTrustPolicy checks that a policy's claim conditions name the
// workload's owner literally: a condition on one of sub, project_path,
// namespace_path, repository or repository_owner whose owner part (the
// text before the first '/': the namespace or repository owner; for a sub
// without '/', such as a Kubernetes service account's, the text before its
// last ':') has no glob. An issuer such as gitlab.com or GitHub Actions
// signs the jobs of anyone who creates a project there: a policy without
// such a condition would admit theirs. The error is KindInvalid and says
// what to write.
func ValidateTrustPolicy(claims map[string]string) error {
	for _, c := range ownerClaims {
		if v, ok := claims[c]; ok && literalOwner(c, v) {
			return nil
		}
	}
	return Invalid("claims", "the policy does not name whose jobs it admits: add a condition with a literal namespace or owner "+
		"(project_path: group/project or group/*, namespace_path, repository: owner/repo, repository_owner, or sub, "+
		"e.g. system:serviceaccount:namespace:name); a glob there would admit jobs of projects anyone can create")
}

// literalOwner reports whether a condition on claim names the owner
// without a glob (see ValidateTrustPolicy).
func literalOwner(claim, pattern string) bool {
	owner := pattern
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		owner = pattern[:i]
	} else if i := strings.LastIndexByte(pattern, ':'); claim == "sub" && i >= 0 {
		owner = pattern[:i]
	}
	return strings.TrimRight(owner, ":") != "" && !strings.ContainsAny(owner, `*?[\`)
}

// Match checks the token's claims (as decoded from JSON) against the
// policy's conditions, in name order, and returns nil if all hold, or a
// KindForbidden error naming the first condition that failed. A policy
// that does not name the workload's owner (ValidateTrustPolicy) admits
// nothing, whenever it was stored. Issuer, audience and lifetime are the
// verifier's concern.
func (p *TrustPolicy) Match(claims map[string]any) error {
	if err := ValidateTrustPolicy(p.Claims); err != nil {
		return Errorf(KindForbidden, "%s", MessageOf(err))
	}
	names := make([]string, 0, len(p.Claims))
	for n := range p.Claims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := p.Claims[n]
		got, ok := ClaimString(claims, n)
		if !ok {
			return Errorf(KindForbidden, "claim %s is missing, the policy requires %q", n, want)
		}
		if got != want {
			if m, _ := path.Match(want, got); !m {
				return Errorf(KindForbidden, "claim %s is %q, the policy requires %q", n, got, want)
			}
		}
	}
	return nil
}

// ClaimString returns a claim as text: strings as they are, booleans as
// "true"/"false", numbers in decimal. ok is false for a missing claim or a
// list or object.
func ClaimString(claims map[string]any, name string) (string, bool) {
	switch v := claims[name].(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case fmt.Stringer:
		return v.String(), true
	}
	return "", false
}

// String renders the policy on one line, claims in name order, e.g.
// "issuer https://gitlab.example.com, audience botgate, max_ttl 15m0s,
// ref=main, ref_protected=true".
func (p *TrustPolicy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "issuer %s, audience %s, max_ttl %s", p.Issuer, p.Audience, shortDuration(p.MaxTTL))
	names := make([]string, 0, len(p.Claims))
	for n := range p.Claims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, ", %s=%s", n, p.Claims[n])
	}
	return b.String()
}

// shortDuration writes whole hours and minutes as "1h" and "15m".
func shortDuration(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d > 0 && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
