// Package governance wires botgate's pure governance core (manifest, lint,
// migrate) to a live instance: it reads the instance's state for the
// planner, carries plans out through the authority as a manifest.Applier,
// keeps the automation records, stores new token secrets in the vault,
// builds lint snapshots from live state and the gateway's usage records,
// supplies the gateway with per-automation rate limits and route
// allowlists, and bootstraps the demo instance from the embedded example
// manifest.
//
// The Governor acts as one actor: botgate itself (authority.SystemActor) for
// the local CLI and the demo, or an administrator. Every change it makes goes
// through the authority (or, for automation records, through a store
// transaction with its audit event), so the domain rules and the audit
// trail apply as they do to the API.
package governance

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/manifest"
)

// Config is what a Governor is built from. Authority and Store are
// required.
type Config struct {
	Authority *authority.Service
	Store     botgate.Store
	// Vault, if set with a keyring, keeps every token secret apply issues,
	// under the automation's owner team, named SecretName(automation).
	// Without it, secrets are handed back once to the caller.
	Vault *authority.Vault
	// Actor is who makes the changes (default authority.SystemActor()).
	// It must be an administrator or botgate itself.
	Actor  *authority.Actor
	Logger *slog.Logger
	// Rand names apply leases (default crypto/rand.Reader).
	Rand io.Reader
}

// Governor plans, applies and lints automations on one instance. It is safe
// for concurrent use, but applies should not run concurrently with each
// other: the second would plan against a state the first is changing.
type Governor struct {
	auth  *authority.Service
	store botgate.Store
	vault *authority.Vault
	actor authority.Actor
	log   *slog.Logger
	rand  io.Reader
}

// New returns a Governor. KindInvalid without an authority or a store, or
// with an actor that is neither botgate itself nor an active administrator.
func New(cfg Config) (*Governor, error) {
	const op = "governance.New"
	if cfg.Authority == nil || cfg.Store == nil {
		return nil, botgate.E(op, botgate.Invalid("config", "governance needs an authority and a store"))
	}
	g := &Governor{auth: cfg.Authority, store: cfg.Store, vault: cfg.Vault, actor: authority.SystemActor(), log: cfg.Logger, rand: cfg.Rand}
	if g.rand == nil {
		g.rand = rand.Reader
	}
	if cfg.Actor != nil {
		a := *cfg.Actor
		if !a.System && (a.User == nil || !a.User.Admin || !a.User.Active()) {
			return nil, botgate.E(op, botgate.Invalid("actor", "governance acts as botgate itself or as an active administrator"))
		}
		g.actor = a
	}
	if g.vault != nil && g.vault.Keyring() == nil {
		g.vault = nil
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// VaultEnabled reports whether new token secrets are kept in the vault.
func (g *Governor) VaultEnabled() bool { return g.vault != nil }

// SecretName is the name of the vault secret that holds an automation's
// current token, in its owner team's vault: "<automation>.token".
func SecretName(automation string) string { return automation + ".token" }

// Plan reads the live state and returns the steps that make it match m,
// with every difference between the automation records and the manifest
// (including scopes, targets and lifetime, which manifest.Plan leaves to
// the tokens) folded into the automation record steps.
func (g *Governor) Plan(ctx context.Context, m *manifest.Manifest) (*manifest.Changes, error) {
	ch, _, _, err := g.plan(ctx, m)
	return ch, err
}

// plan is Plan that also returns the state it read.
func (g *Governor) plan(ctx context.Context, m *manifest.Manifest) (*manifest.Changes, manifest.State, map[string]*botgate.Automation, error) {
	st, recs, err := g.readState(ctx)
	if err != nil {
		return nil, st, nil, err
	}
	sameSpelling(m, &st)
	ch := manifest.Plan(m, st, g.auth.Now())
	addRecordDiffs(ch, m, recs)
	for _, name := range sortedNames(recs) {
		if m.Automation(name) == nil {
			ch.Warnings = append(ch.Warnings, undeclaredRecord(name))
		}
	}
	return ch, st, recs, nil
}

// undeclaredRecord is the plan's warning about an automation record the
// manifest does not declare.
func undeclaredRecord(name string) string {
	return fmt.Sprintf("automation record %s is not declared in the manifest: apply --prune removes it once it has no active token", name)
}

func sortedNames(recs map[string]*botgate.Automation) []string {
	names := make([]string, 0, len(recs))
	for n := range recs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Prune runs the plan's prune steps (revocations of tokens no declared
	// automation claims); without it they are left out.
	Prune bool
	// ShowSecrets asks for new token secrets to be handed back even when
	// the vault keeps them. Without a vault, Apply refuses to issue tokens
	// unless ShowSecrets is set, since their secrets would be lost.
	ShowSecrets bool
	// Progress receives one line per step (never a secret); nil for none.
	Progress io.Writer
	// Manifest is the manifest the plan was made from. With Prune, the
	// records of automations it does not declare are removed once they
	// have no active token (after the plan's own steps ran).
	Manifest *manifest.Manifest
}

// Issued is a token apply created or rotated.
type Issued struct {
	manifest.Issued
	// SecretRef is where the vault keeps the secret
	// ("vault:<owner>/<automation>.token"), "" when it does not.
	SecretRef string `json:"secret_ref,omitempty"`
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	*manifest.Result
	// Tokens are the tokens issued, in order. Their Secret is set only
	// when ShowSecrets was asked for or there is no vault.
	Tokens []Issued `json:"tokens,omitempty"`
	// RemovedRecords are the automation records pruned, by name.
	RemovedRecords []string `json:"removed_records,omitempty"`
}

// Apply carries out the plan (without its prune steps unless opts.Prune)
// and returns what it did. Each step is one atomic change, and a token
// issued together with its vault secret is one unit: if the vault write
// fails, the new token is revoked again (nobody holds its secret) and
// Apply stops. After any failure, planning and applying again resumes
// where it stopped.
func (g *Governor) Apply(ctx context.Context, ch *manifest.Changes, opts ApplyOptions) (*ApplyResult, error) {
	const op = "governance.Apply"
	if !opts.Prune {
		ch = ch.WithoutPrune()
	}
	if g.vault == nil && !opts.ShowSecrets {
		if n := issuing(ch); n > 0 {
			return nil, botgate.E(op, botgate.Invalid("show_secrets",
				"this plan issues %d token(s) and no vault master key is configured, so their secrets would be lost: "+
					"configure the vault (BOTGATE_MASTER_KEY or the data directory's master.key) or pass --show-secrets to print them once", n))
		}
	}
	ap := &applier{g: g, refs: map[int64]string{}}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	res, err := manifest.Apply(ctx, ch, ap, progress)
	out := &ApplyResult{Result: res}
	if res != nil {
		for i := range res.Steps {
			is := res.Steps[i].Issued
			if is == nil {
				continue
			}
			it := Issued{Issued: *is, SecretRef: ap.refs[is.TokenID]}
			if it.SecretRef != "" && !opts.ShowSecrets {
				// The vault keeps it; nothing else holds it from here on.
				it.Secret, is.Secret = "", ""
			}
			out.Tokens = append(out.Tokens, it)
		}
	}
	if err != nil {
		return out, err
	}
	if opts.Prune && opts.Manifest != nil {
		out.RemovedRecords, err = g.pruneRecords(ctx, opts.Manifest, progress)
	}
	return out, err
}

// pruneRecords removes the records of automations m does not declare and
// that have no active token left, each in one transaction with its audit
// event, and returns their names.
func (g *Governor) pruneRecords(ctx context.Context, m *manifest.Manifest, progress io.Writer) ([]string, error) {
	const op = "governance.pruneRecords"
	var recs []*botgate.Automation
	if err := g.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		recs, _, err = tx.FindAutomations(ctx, botgate.AutomationFilter{})
		return err
	}); err != nil {
		return nil, botgate.E(op, err)
	}
	var removed []string
	all := authority.ManifestAll(g.actor)
	for _, rec := range recs {
		if m.Automation(rec.Name) != nil {
			continue
		}
		if !all {
			// Prune is limited to the actor's teams.
			owner, err := g.groupPathOf(ctx, rec.OwnerGroupID)
			if err != nil {
				return removed, botgate.E(op, err)
			}
			if g.auth.JudgeManifestChange(ctx, g.actor, authority.ManifestChange{Object: "automation " + rec.Name, Team: owner}) != nil {
				continue
			}
		}
		done := false
		err := g.store.Update(ctx, func(tx botgate.Tx) error {
			ts, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Automation: rec.Name, Revoked: new(bool)})
			if err != nil {
				return err
			}
			now := g.auth.Now()
			for _, t := range ts {
				if t.Active(now) {
					return nil // still in use: kept until its token goes
				}
			}
			if err := tx.DeleteAutomation(ctx, rec.ID); err != nil {
				return err
			}
			done = true
			return g.auth.Vault(nil).Audit(ctx, tx, g.actor, botgate.ActionAutomationDelete, "automation", rec.ID, rec.Name, nil)
		})
		if err != nil {
			return removed, botgate.E(op, err)
		}
		if done {
			removed = append(removed, rec.Name)
			fmt.Fprintf(progress, "  - automation record %s: removed\n", rec.Name)
		}
	}
	return removed, nil
}

// groupPathOf returns the full path of group id, "" if it is gone.
func (g *Governor) groupPathOf(ctx context.Context, id int64) (string, error) {
	var path string
	err := g.store.View(ctx, func(tx botgate.Tx) error {
		gr, err := tx.Group(ctx, id)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		path = gr.FullPath
		return nil
	})
	return path, err
}

// issuing counts the steps of ch that hand out a new secret.
func issuing(ch *manifest.Changes) int {
	n := 0
	for _, a := range ch.Actions {
		switch a.Op {
		case manifest.OpCreateToken, manifest.OpRotateToken, manifest.OpReplaceToken:
			n++
		}
	}
	return n
}

// sameSpelling writes the live automation records' rate limits the way the
// manifest spells them when they are the same rate ("60/min" and "1/s"),
// so that spelling alone never shows up as a change.
func sameSpelling(m *manifest.Manifest, st *manifest.State) {
	for i := range st.Automations {
		la := &st.Automations[i]
		a := m.Automation(la.Name)
		if a == nil || a.RateLimit == "" || la.RateLimit == "" {
			continue
		}
		want, err1 := manifest.ParseRateLimit(a.RateLimit)
		have, err2 := manifest.ParseRateLimit(la.RateLimit)
		if err1 == nil && err2 == nil && manifest.PerMinute(want) == manifest.PerMinute(have) && want.Burst == have.Burst {
			la.RateLimit = a.RateLimit
		}
	}
}

// addRecordDiffs adds to ch the differences between the stored automation
// records and the manifest in the fields manifest.Plan does not compare
// (they shape the token, which the plan replaces when they change), so
// that the record always says what the token was issued for.
func addRecordDiffs(ch *manifest.Changes, m *manifest.Manifest, recs map[string]*botgate.Automation) {
	put := map[string]int{}
	firstToken := len(ch.Actions)
	for i, a := range ch.Actions {
		if a.Op == manifest.OpPutAutomation {
			put[a.Automation] = i
		}
		if firstToken == len(ch.Actions) && a.Op != manifest.OpCreateGroup && a.Op != manifest.OpCreateProject &&
			a.Op != manifest.OpCreateServiceAccount && a.Op != manifest.OpSetMember && a.Op != manifest.OpPutAutomation {
			firstToken = i
		}
	}
	var extra []manifest.Action
	for i := range m.Automations {
		a := m.Automations[i]
		rec := recs[a.Name]
		if rec == nil {
			continue // a create step is planned already
		}
		diffs := recordDiffs(rec, &a)
		if len(diffs) == 0 {
			continue
		}
		if j, ok := put[a.Name]; ok {
			ch.Actions[j].Diffs = append(ch.Actions[j].Diffs, diffs...)
			continue
		}
		a.Kind = a.EffectiveKind()
		extra = append(extra, manifest.Action{Op: manifest.OpPutAutomation, Automation: a.Name,
			Reason: "automation record differs from the manifest", Spec: &a, Diffs: diffs})
	}
	if len(extra) == 0 {
		return
	}
	acts := make([]manifest.Action, 0, len(ch.Actions)+len(extra))
	acts = append(acts, ch.Actions[:firstToken]...)
	acts = append(acts, extra...)
	acts = append(acts, ch.Actions[firstToken:]...)
	ch.Actions = acts
}

// recordDiffs lists the token-shaping fields in which rec differs from a.
func recordDiffs(rec *botgate.Automation, a *manifest.Automation) []manifest.Diff {
	var d []manifest.Diff
	diff := func(field, from, to string) {
		if from != to {
			d = append(d, manifest.Diff{Field: field, From: from, To: to})
		}
	}
	diff("service_account", rec.ServiceAccount, a.ServiceAccount)
	diff("projects", strings.Join(rec.Projects, ", "), strings.Join(a.Projects, ", "))
	diff("groups", strings.Join(rec.Groups, ", "), strings.Join(a.Groups, ", "))
	diff("scopes", rec.Scopes.String(), a.ScopeSet().String())
	diff("access_level", manifest.LevelName(rec.AccessLevel), manifest.LevelName(a.Level()))
	diff("expires_in", lifetime(rec.ExpiresInDays), lifetime(a.Lifetime()))
	return d
}

func lifetime(days int) string {
	if days == 0 {
		return "never"
	}
	return manifest.FormatDays(days)
}
