package governance

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/manifest"
)

// IssuedJSON is a token apply issued, as 'botgate apply --output json'
// shows it. The secret is there only with --show-secrets.
type IssuedJSON = apiwire.IssuedToken

// ApplyJSON is 'botgate apply --output json' and the answer of the API's
// apply: the plan, what was applied of it, and the error that stopped it,
// if one did.
type ApplyJSON = apiwire.ManifestApply

// NewApplyJSON describes the apply of ch, made by an actor who may apply
// all of it, that returned res (nil when nothing was done) and err.
func NewApplyJSON(ch *manifest.Changes, res *ApplyResult, err error) ApplyJSON {
	return NewScopedApplyJSON(&ScopedPlan{Changes: ch, Refused: []Refusal{}, Outside: []Refusal{}, All: true}, false, res, err)
}

// NewScopedApplyJSON describes the apply of sp (with prune steps if
// prune) that returned res (nil when nothing was done) and err.
func NewScopedApplyJSON(sp *ScopedPlan, prune bool, res *ApplyResult, err error) ApplyJSON {
	out := ApplyJSON{ManifestPlan: sp.Wire(prune), Tokens: []IssuedJSON{}}
	if res != nil && res.Result != nil {
		out.Steps = len(res.Steps)
	}
	if res != nil {
		out.RemovedRecords = res.RemovedRecords
		for _, t := range res.Tokens {
			j := IssuedJSON{Automation: t.Automation, TokenID: t.TokenID, SecretRef: t.SecretRef, Secret: t.Secret}
			if t.ExpiresAt != nil {
				d := dateOf(t.ExpiresAt)
				j.ExpiresAt = &d
			}
			out.Tokens = append(out.Tokens, j)
		}
	}
	if err != nil {
		out.Error = botgate.MessageOf(err)
	}
	return out
}

// WriteIssued lists the tokens apply issued and where their secrets are,
// with each secret that was asked for.
func (r *ApplyResult) WriteIssued(w io.Writer) error {
	if r == nil {
		return nil
	}
	var b strings.Builder
	for _, t := range r.Tokens {
		fmt.Fprintf(&b, "token #%d for %s (expires %s)", t.TokenID, t.Automation, dateOf(t.ExpiresAt))
		if t.SecretRef != "" {
			fmt.Fprintf(&b, ": secret in %s", t.SecretRef)
		}
		b.WriteString("\n")
		if t.Secret != "" {
			fmt.Fprintf(&b, "  %s\n", t.Secret)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes how many steps were applied and records removed, or
// that there was nothing to change.
func (r *ApplyResult) WriteSummary(w io.Writer) error {
	if r == nil || (len(r.Steps) == 0 && len(r.RemovedRecords) == 0) {
		_, err := fmt.Fprintln(w, "No changes: the instance matches the manifest.")
		return err
	}
	var b strings.Builder
	if len(r.Steps) > 0 {
		fmt.Fprintf(&b, "Applied %d step(s).\n", len(r.Steps))
	}
	if n := len(r.RemovedRecords); n > 0 {
		fmt.Fprintf(&b, "Removed %d automation record(s) no longer declared.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteDemo tells a newcomer what 'botgate serve --demo' set up (res) and
// how to look at it on the server at addr with the data directory dataDir.
func WriteDemo(w io.Writer, res *ApplyResult, addr, dataDir string) error {
	var b strings.Builder
	base := "http://" + addr
	fmt.Fprintf(&b, "\nbotgate demo: %s applied (teams, projects, service accounts, one token per automation).\n", ExampleManifestName)
	if len(res.Steps) == 0 {
		fmt.Fprintln(&b, "It was applied on an earlier start already; the automations' tokens are in the vault.")
	} else {
		fmt.Fprintf(&b, "%d steps applied. The automations' tokens (shown once; each is also kept in its team's vault):\n", len(res.Steps))
		for _, t := range res.Tokens {
			fmt.Fprintf(&b, "  %-22s #%-3d %s  (%s)\n", t.Automation, t.TokenID, t.Secret, t.SecretRef)
		}
	}
	fmt.Fprintf(&b, `
Explore it (ADMIN is the admin token printed when the data directory was initialised):
  export BOTGATE_URL=%[1]s BOTGATE_TOKEN=$ADMIN
  curl -s -H "PRIVATE-TOKEN: $ADMIN" %[1]s/api/v4/groups | jq '.[].full_path'
  curl -s -H "PRIVATE-TOKEN: $ADMIN" '%[1]s/api/v4/groups/gitlab-org/access_tokens' | jq '.[] | {id, name, scopes}'
  curl -s -H "PRIVATE-TOKEN: $ADMIN" %[1]s/api/botgate/v1/lint | jq '.counts'
  botgate lint --data-dir %[2]s      # the same report, as text
  botgate plan -f examples/automations.yaml --data-dir %[2]s   # no changes
  botgate secret get gitlab-org/engineering-productivity danger-review.token   # an automation's token, from its team's vault

Ask the gateway as an automation would (forward-auth, as nginx auth_request does):
  curl -si -H "PRIVATE-TOKEN: $DANGER_REVIEW_TOKEN" -H 'X-Original-Method: POST' \
    -H 'X-Original-URI: /api/v4/projects/gitlab-org%%2Fgitlab/merge_requests/1/notes' %[1]s/-/auth
`, base, dataDir)
	_, err := io.WriteString(w, b.String())
	return err
}

// dateOf formats an optional date.
func dateOf(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(botgate.DateFormat)
}

// PlanOf is the scoped plan an API answer describes, for WriteText.
func PlanOf(p apiwire.ManifestPlan) *ScopedPlan {
	ch := p.Plan
	if ch == nil {
		ch = &manifest.Changes{}
	}
	return &ScopedPlan{Changes: ch, Refused: p.Refused, Outside: p.OutsideScope, All: p.All}
}

// WriteApplyAnswer writes an apply the server made (the API's answer) as
// 'botgate apply' writes one made offline: the steps done, the tokens
// issued and where their secrets are, and the summary. prune says whether
// the apply ran the prune steps.
func WriteApplyAnswer(w io.Writer, a *ApplyJSON, prune bool) error {
	var b strings.Builder
	if a.Plan != nil {
		ran := a.Plan
		if !prune {
			ran = ran.WithoutPrune()
		}
		for i := 0; i < a.Steps && i < len(ran.Actions); i++ {
			fmt.Fprintf(&b, "  %s %s: done\n", ran.Actions[i].Symbol(), ran.Actions[i].Title())
		}
	}
	for _, t := range a.Tokens {
		exp := "never"
		if t.ExpiresAt != nil {
			exp = *t.ExpiresAt
		}
		fmt.Fprintf(&b, "token #%d for %s (expires %s)", t.TokenID, t.Automation, exp)
		if t.SecretRef != "" {
			fmt.Fprintf(&b, ": secret in %s", t.SecretRef)
		}
		b.WriteString("\n")
		if t.Secret != "" {
			fmt.Fprintf(&b, "  %s\n", t.Secret)
		}
	}
	switch {
	case a.Steps == 0 && len(a.RemovedRecords) == 0 && a.Error == "":
		b.WriteString("No changes: the instance matches the manifest.\n")
	case a.Error == "":
		if a.Steps > 0 {
			fmt.Fprintf(&b, "Applied %d step(s).\n", a.Steps)
		}
		if n := len(a.RemovedRecords); n > 0 {
			fmt.Fprintf(&b, "Removed %d automation record(s) no longer declared.\n", n)
		}
	}
	if n := len(a.OutsideScope); n > 0 {
		fmt.Fprintf(&b, "Left out %d prune step(s) outside your teams.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
