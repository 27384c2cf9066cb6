package governance

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// As returns a Governor that plans and applies as the actor a. Unlike
// Config.Actor it accepts any actor: PlanFor and ApplyFor ask the authority
// to judge every step for it (authority.JudgeManifestChange), so that a
// team's Maintainers, Owners and manage_automations tokens change only
// their team's part, and every change goes through the authority's rules
// as that actor.
func (g *Governor) As(a authority.Actor) *Governor {
	c := *g
	c.actor = a
	return &c
}

// Refusal is a step of a plan the actor may not take, with the reason.
type Refusal = apiwire.ManifestRefusal

// ScopedPlan is a plan split by what its actor may do.
type ScopedPlan struct {
	// Changes are the steps the actor may take.
	*manifest.Changes
	// Refused are the steps (not prune steps) outside the actor's reach:
	// apply refuses the whole plan while there are any.
	Refused []Refusal
	// Outside are the prune steps outside the actor's teams, left out.
	Outside []Refusal
	// All says the actor may apply every part of a manifest (an
	// administrator).
	All bool
}

// Wire is the plan as the API answers it; prune says whether prune steps
// count as changes.
func (p *ScopedPlan) Wire(prune bool) apiwire.ManifestPlan {
	return apiwire.ManifestPlan{Plan: p.Changes, Refused: p.Refused, OutsideScope: p.Outside, All: p.All, Changes: p.Pending(prune)}
}

// Pending reports whether the plan has steps to take or refused steps:
// the live state differs from the manifest in the actor's view.
func (p *ScopedPlan) Pending(prune bool) bool {
	ch := p.Changes
	if !prune {
		ch = ch.WithoutPrune()
	}
	return !ch.Empty() || len(p.Refused) > 0
}

// RefusedError is the KindForbidden error of a plan with refused steps,
// naming each object and why.
func (p *ScopedPlan) RefusedError() error {
	if len(p.Refused) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d step(s) of the plan are outside what you may change, so nothing was applied:", len(p.Refused))
	for _, r := range p.Refused {
		fmt.Fprintf(&b, " %s;", r.Reason)
	}
	return botgate.Errorf(botgate.KindForbidden, "%s", strings.TrimSuffix(b.String(), ";"))
}

// WriteText writes the plan as manifest.Changes.WriteText does, then the
// refused steps and the prune steps left out, each with its reason.
func (p *ScopedPlan) WriteText(w io.Writer) error {
	if err := p.Changes.WriteText(w); err != nil {
		return err
	}
	var b strings.Builder
	if len(p.Refused) > 0 {
		fmt.Fprintf(&b, "\nRefused: %d step(s) outside what you may change (apply refuses the plan while any remain):\n", len(p.Refused))
		for _, r := range p.Refused {
			fmt.Fprintf(&b, "  x %s\n      # %s\n", r.Object, r.Reason)
		}
	}
	if len(p.Outside) > 0 {
		fmt.Fprintf(&b, "\nLeft out: %d prune step(s) outside your teams:\n", len(p.Outside))
		for _, r := range p.Outside {
			fmt.Fprintf(&b, "  . %s\n      # %s\n", r.Object, r.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// PlanFor plans m as Plan does, then asks the authority to judge each
// step for the Governor's actor and splits the plan accordingly.
func (g *Governor) PlanFor(ctx context.Context, m *manifest.Manifest) (*ScopedPlan, error) {
	if err := authority.MayApplyManifest(g.actor); err != nil {
		return nil, err
	}
	ch, st, recs, err := g.plan(ctx, m)
	if err != nil {
		return nil, err
	}
	sp := &ScopedPlan{Changes: &manifest.Changes{At: ch.At, Warnings: ch.Warnings}, Refused: []Refusal{}, Outside: []Refusal{},
		All: authority.ManifestAll(g.actor)}
	if sp.All {
		sp.Changes = ch
		return sp, nil
	}
	// Other teams' undeclared records are none of the actor's business
	// either, and its prune leaves them alone.
	outside := map[string]bool{}
	for name, rec := range recs {
		if m.Automation(name) == nil && g.auth.JudgeManifestChange(ctx, g.actor, authority.ManifestChange{Object: "automation " + name, Team: ownerPath(st, rec)}) != nil {
			outside[undeclaredRecord(name)] = true
		}
	}
	sp.Warnings = nil
	for _, w := range ch.Warnings {
		if !outside[w] {
			sp.Warnings = append(sp.Warnings, w)
		}
	}
	for _, a := range ch.Actions {
		if a.Prune && a.Old != nil && g.actor.Token != nil && a.Old.ID == g.actor.Token.ID {
			// An apply never prunes the token it is made with.
			sp.Warnings = append(sp.Warnings, fmt.Sprintf("the token this plan is made with (#%d) is not declared by any automation; prune leaves it alone", a.Old.ID))
			continue
		}
		reason, err := g.judge(ctx, &a, m, st, recs)
		if err != nil {
			return nil, err
		}
		switch {
		case reason == "":
			sp.Changes.Actions = append(sp.Changes.Actions, a)
		case a.Prune:
			// Other teams' tokens are none of the actor's business: the
			// step is counted, not described.
			sp.Outside = append(sp.Outside, Refusal{Op: a.Op, Object: "a prune step outside your teams", Reason: "prune is limited to your teams", Prune: true})
		default:
			sp.Refused = append(sp.Refused, Refusal{Op: a.Op, Object: refusedObject(&a), Reason: reason})
		}
	}
	return sp, nil
}

// refusedObject names a refused step by what the manifest declares,
// without the live state's details (the old token's name and ID).
func refusedObject(a *manifest.Action) string {
	switch a.Op {
	case manifest.OpCreateToken, manifest.OpRotateToken, manifest.OpReplaceToken, manifest.OpRevokeToken:
		return "the token of automation " + a.Automation
	case manifest.OpSetMember:
		return fmt.Sprintf("member %s on %s as %s", a.Member.User, a.Member.Resource, manifest.LevelName(a.Member.AccessLevel))
	}
	return a.Title()
}

// judge returns why the actor may not take the step, "" if it may.
func (g *Governor) judge(ctx context.Context, a *manifest.Action, m *manifest.Manifest, st manifest.State, recs map[string]*botgate.Automation) (string, error) {
	for _, c := range manifestChanges(a, m, st, recs) {
		err := g.auth.JudgeManifestChange(ctx, g.actor, c)
		if botgate.IsKind(err, botgate.KindForbidden) {
			if msg := botgate.MessageOf(err); msg != "" {
				return msg, nil
			}
			return c.Object + ": forbidden", nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// manifestChanges describes what a step changes, for the authority.
func manifestChanges(a *manifest.Action, m *manifest.Manifest, st manifest.State, recs map[string]*botgate.Automation) []authority.ManifestChange {
	switch a.Op {
	case manifest.OpCreateGroup:
		return []authority.ManifestChange{{Object: "group " + a.Group.FullPath, Team: a.Group.Parent}}
	case manifest.OpCreateProject:
		return []authority.ManifestChange{{Object: "project " + a.Project.FullPath, Team: a.Project.Group}}
	case manifest.OpCreateServiceAccount:
		return []authority.ManifestChange{{Object: "service account " + a.ServiceAccount.Name, Team: a.ServiceAccount.Owner}}
	case manifest.OpSetMember, manifest.OpRemoveMember:
		r := a.Member.Resource
		return []authority.ManifestChange{{Object: fmt.Sprintf("membership of %s in %s", a.Member.User, r), Team: teamOf(r),
			Resource: r.Type, ResourcePath: r.Path, Level: a.Member.AccessLevel}}
	case manifest.OpPutAutomation:
		out := []authority.ManifestChange{{Object: "automation " + a.Spec.Name, Team: a.Spec.Owner}}
		if rec := recs[a.Spec.Name]; rec != nil {
			if owner := ownerPath(st, rec); owner != a.Spec.Owner {
				out = append(out, authority.ManifestChange{Object: "automation " + a.Spec.Name, Team: owner})
			}
		}
		return out
	case manifest.OpCreateToken, manifest.OpReplaceToken, manifest.OpRotateToken:
		var out []authority.ManifestChange
		obj := "the token of automation " + a.Automation
		owner := ""
		if d := m.Automation(a.Automation); d != nil {
			owner = d.Owner
		}
		if a.Token != nil && a.Op != manifest.OpRotateToken {
			c := authority.ManifestChange{Object: obj, Team: owner, Scopes: a.Token.Scopes, Level: a.Token.AccessLevel}
			if a.Token.Kind == botgate.ServiceAccountToken {
				c.Level = botgate.NoAccess
				out = append(out, authority.ManifestChange{Object: "service account " + a.Token.ServiceAccount, Team: saOwner(st, m, a.Token.ServiceAccount)})
			} else {
				c.Resource, c.ResourcePath = a.Token.Resource.Type, a.Token.Resource.Path
			}
			out = append(out, c)
		} else {
			out = append(out, authority.ManifestChange{Object: obj, Team: owner})
		}
		if a.Old != nil {
			out = append(out, oldTokenChange(a.Old, m, st, recs))
		}
		return out
	case manifest.OpRevokeToken:
		return []authority.ManifestChange{oldTokenChange(a.Old, m, st, recs)}
	}
	return []authority.ManifestChange{{Object: string(a.Op)}}
}

// oldTokenChange is the change of revoking (or replacing) a live token: it
// belongs to its automation's owner team, else to the team of its project,
// group or service account.
func oldTokenChange(t *manifest.LiveToken, m *manifest.Manifest, st manifest.State, recs map[string]*botgate.Automation) authority.ManifestChange {
	c := authority.ManifestChange{Object: fmt.Sprintf("token %s #%d", t.Name, t.ID)}
	switch {
	case t.Automation != "" && recs[t.Automation] != nil:
		c.Team = ownerPath(st, recs[t.Automation])
	case t.Kind == botgate.ServiceAccountToken:
		c.Team = saOwner(st, nil, t.User)
	case t.Resource.Path != "":
		c.Team = teamOf(t.Resource)
	}
	if t.Resource.Path != "" {
		c.Resource, c.ResourcePath, c.Level = t.Resource.Type, t.Resource.Path, t.AccessLevel
	}
	return c
}

// teamOf is the group a project or group belongs to: the group itself, or
// the project's namespace.
func teamOf(r manifest.Ref) string {
	if r.Type == botgate.ProjectResource {
		if i := strings.LastIndex(r.Path, "/"); i > 0 {
			return r.Path[:i]
		}
	}
	return r.Path
}

// ownerPath is the full path of an automation record's owner team.
func ownerPath(st manifest.State, rec *botgate.Automation) string {
	for _, la := range st.Automations {
		if la.Name == rec.Name {
			return la.Owner
		}
	}
	return ""
}

// saOwner is the owner team of a service account: the live one, else the
// one m declares.
func saOwner(st manifest.State, m *manifest.Manifest, name string) string {
	for _, sa := range st.ServiceAccounts {
		if strings.EqualFold(sa.Username, name) {
			return sa.Owner
		}
	}
	if m != nil {
		if d := m.ServiceAccountByName(name); d != nil {
			return d.Owner
		}
	}
	return ""
}

// ApplyFor plans m for the Governor's actor under the apply lease and, if
// no step is refused, applies the steps the actor may take (prune steps
// only with opts.Prune, and only inside the actor's teams). With
// opts.ShowSecrets the new secrets are handed back, but only to an actor
// that may read the vault of each automation's owner team
// (authority.Vault.MayReveal); the check comes before anything changes.
//
// It returns the scoped plan it applied and what was done. KindForbidden,
// naming every refused object and why, when the plan holds a step the
// actor may not take; nothing is applied then.
func (g *Governor) ApplyFor(ctx context.Context, m *manifest.Manifest, opts ApplyOptions) (*ScopedPlan, *ApplyResult, error) {
	const op = "governance.ApplyFor"
	if err := authority.MayApplyManifest(g.actor); err != nil {
		return nil, nil, botgate.E(op, err)
	}
	unlock, err := g.Lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	sp, err := g.PlanFor(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	if err := sp.RefusedError(); err != nil {
		return sp, nil, botgate.E(op, err)
	}
	if opts.ShowSecrets {
		if err := g.mayReveal(ctx, sp.Changes, m); err != nil {
			return sp, nil, botgate.E(op, err)
		}
	}
	opts.Manifest = m
	res, err := g.Apply(ctx, sp.Changes, opts)
	return sp, res, err
}

// mayReveal checks that the actor may read the vault of the owner team of
// every automation the plan issues a token for.
func (g *Governor) mayReveal(ctx context.Context, ch *manifest.Changes, m *manifest.Manifest) error {
	if authority.ManifestAll(g.actor) {
		return nil
	}
	seen := map[string]bool{}
	for _, a := range ch.Actions {
		switch a.Op {
		case manifest.OpCreateToken, manifest.OpRotateToken, manifest.OpReplaceToken:
		default:
			continue
		}
		d := m.Automation(a.Automation)
		if d == nil || seen[d.Owner] {
			continue
		}
		seen[d.Owner] = true
		owner, err := g.groupID(ctx, d.Owner)
		if err != nil {
			return err
		}
		if err := g.auth.Vault(nil).MayReveal(ctx, g.actor, owner); err != nil {
			return botgate.Errorf(botgate.KindForbidden,
				"reveal_secrets: you may not read the vault of team %s, which keeps the token of automation %s (%s); apply without revealing and let a Maintainer of the team read it with 'botgate secret get'",
				d.Owner, a.Automation, botgate.MessageOf(err))
		}
	}
	return nil
}

// groupID finds a group by full path; 0 for one a plan creates.
func (g *Governor) groupID(ctx context.Context, path string) (int64, error) {
	var id int64
	err := g.store.View(ctx, func(tx botgate.Tx) error {
		gr, err := tx.GroupByPath(ctx, path)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		id = gr.ID
		return nil
	})
	return id, err
}

// API is the Governor as the API serves it (httpapi.Governance): every
// call works as the actor given.
type API struct{ Governor *Governor }

// Plan is PlanFor as actor a, as the API answers it; prune counts prune
// steps as changes.
func (x API) Plan(ctx context.Context, a authority.Actor, m *manifest.Manifest, prune bool) (apiwire.ManifestPlan, error) {
	sp, err := x.Governor.As(a).PlanFor(ctx, m)
	if err != nil {
		return apiwire.ManifestPlan{}, err
	}
	return sp.Wire(prune), nil
}

// Apply is ApplyFor as actor a. The answer describes what was done even
// with an error; ok says whether there is an answer to show (false when
// the apply stopped before planning).
func (x API) Apply(ctx context.Context, a authority.Actor, m *manifest.Manifest, prune, reveal bool) (out apiwire.ManifestApply, ok bool, err error) {
	sp, res, err := x.Governor.As(a).ApplyFor(ctx, m, ApplyOptions{Prune: prune, ShowSecrets: reveal})
	if sp == nil {
		return out, false, err
	}
	return NewScopedApplyJSON(sp, prune, res, err), true, err
}

// Lint is LintFor as actor a.
func (x API) Lint(ctx context.Context, a authority.Actor, m *manifest.Manifest, cfg lint.Config) (*lint.Report, error) {
	return x.Governor.As(a).LintFor(ctx, m, SnapshotOptions{}, cfg)
}
