package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/botgate/botgate"
)

// symbol is the plan mark of the action: + create, ~ change, - revoke.
func (a *Action) symbol() string {
	switch a.Op {
	case OpRevokeToken, OpRemoveMember:
		return "-"
	case OpRotateToken, OpReplaceToken:
		return "~"
	case OpSetMember:
		if a.Member != nil && a.Member.From != 0 {
			return "~"
		}
		return "+"
	case OpPutAutomation:
		if len(a.Diffs) > 0 {
			return "~"
		}
		return "+"
	case OpSetTeamNotify:
		return "~"
	}
	return "+"
}

// Title is the action's one-line description, without its mark.
func (a *Action) Title() string {
	switch a.Op {
	case OpCreateGroup:
		return "group " + a.Group.FullPath
	case OpCreateProject:
		return "project " + a.Project.FullPath
	case OpCreateServiceAccount:
		return fmt.Sprintf("service account %s (owner %s)", a.ServiceAccount.Name, a.ServiceAccount.Owner)
	case OpSetMember:
		return fmt.Sprintf("member %s on %s as %s", a.Member.User, a.Member.Resource, LevelName(a.Member.AccessLevel))
	case OpRemoveMember:
		return fmt.Sprintf("member %s on %s (%s): remove", a.Member.User, a.Member.Resource, LevelName(a.Member.AccessLevel))
	case OpPutAutomation:
		return fmt.Sprintf("automation %s (owner %s)", a.Spec.Name, a.Spec.Owner)
	case OpCreateToken:
		return "token " + a.Token.Name + ": " + tokenLine(a.Token)
	case OpRotateToken:
		return fmt.Sprintf("token %s #%d: rotate", a.Old.Name, a.Old.ID)
	case OpReplaceToken:
		return fmt.Sprintf("token %s #%d: replace with %s", a.Old.Name, a.Old.ID, tokenLine(a.Token))
	case OpRevokeToken:
		return fmt.Sprintf("token %s #%d (%s on %s): revoke", a.Old.Name, a.Old.ID, a.Old.Kind, a.Old.target())
	case OpSetTeamNotify:
		return "team " + a.Notify.Team + ": notify"
	}
	return string(a.Op)
}

func tokenLine(s *TokenSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s, scopes %s", s.Kind, s.target(), s.Scopes)
	if s.AccessLevel != 0 {
		fmt.Fprintf(&b, ", %s", LevelName(s.AccessLevel))
	}
	fmt.Fprintf(&b, ", expires %s", fmtDate(s.ExpiresAt))
	return b.String()
}

// WriteText renders the plan for people, like `terraform plan`: one line
// per step marked + (create), ~ (change) or - (revoke), with the reason and
// any field changes below it, and a summary.
func (c *Changes) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, warn := range c.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", warn)
	}
	if len(c.Warnings) > 0 {
		b.WriteString("\n")
	}
	if c.Empty() {
		b.WriteString("No changes. The live state matches the manifest.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("botgate will make these changes:\n\n")
	for i := range c.Actions {
		a := &c.Actions[i]
		fmt.Fprintf(&b, "  %s %s", a.symbol(), a.Title())
		if a.Prune {
			b.WriteString("  [only with --prune]")
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "      # %s\n", a.Reason)
		for _, d := range a.Diffs {
			fmt.Fprintf(&b, "      %s: %s -> %s\n", d.Field, orNone(d.From), orNone(d.To))
		}
		if a.Op == OpPutAutomation && len(a.Diffs) == 0 {
			if a.Spec.Mode().Shadow() {
				b.WriteString("      enforcement: shadow (rate limit and loop breaker counted and audited, not enforced)\n")
			}
			for _, tp := range a.Spec.TrustPolicies() {
				fmt.Fprintf(&b, "      trust: %s\n", tp.String())
			}
		}
	}
	s := c.Summary()
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to change, %d to revoke.\n", s.Create, s.Change, s.Revoke)
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Text returns WriteText's output.
func (c *Changes) Text() string {
	var b strings.Builder
	_ = c.WriteText(&b)
	return b.String()
}

// planJSON is the JSON shape of a plan.
type planJSON struct {
	At       string       `json:"at"`
	Summary  Summary      `json:"summary"`
	Warnings []string     `json:"warnings,omitempty"`
	Actions  []actionJSON `json:"actions"`
}

type actionJSON struct {
	Symbol string `json:"symbol"`
	Title  string `json:"title"`
	Action
}

// MarshalJSON renders the plan with a summary and, on every action, its
// mark and title.
func (c *Changes) MarshalJSON() ([]byte, error) {
	out := planJSON{At: c.At.UTC().Format("2006-01-02T15:04:05Z07:00"), Summary: c.Summary(), Warnings: c.Warnings, Actions: []actionJSON{}}
	for i := range c.Actions {
		a := &c.Actions[i]
		out.Actions = append(out.Actions, actionJSON{Symbol: a.symbol(), Title: a.Title(), Action: *a})
	}
	return json.Marshal(out)
}

// WriteJSON writes the plan as indented JSON.
func (c *Changes) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return botgate.E("manifest.WriteJSON", botgate.KindInternal, err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Symbol is the step's mark: + create, ~ change, - revoke.
func (a *Action) Symbol() string { return a.symbol() }
