package manifest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/botgate/botgate"
)

// Applier carries out plan steps against a live instance: the CLI wires it
// to the authority (in-process) or to botgate's HTTP API. Each method is
// one atomic change. Methods return *botgate.Error values: KindConflict if
// the thing already exists (or the token was already revoked), KindNotFound
// if a referenced group, project, user or token is missing, KindForbidden
// if the caller may not do it, KindInvalid for a rule the instance enforces
// (such as an access level above the creator's).
type Applier interface {
	// CreateGroup creates the group under its parent (which exists).
	CreateGroup(ctx context.Context, g GroupSpec) error
	// CreateProject creates the project in its group.
	CreateProject(ctx context.Context, p ProjectSpec) error
	// CreateServiceAccount creates the service account owned by its team.
	CreateServiceAccount(ctx context.Context, s ServiceAccountSpec) error
	// SetMember adds the user to the resource at the level, or changes the
	// level of an existing membership.
	SetMember(ctx context.Context, m MemberSpec) error
	// RemoveMember takes the user off the resource (KindNotFound if not a
	// member).
	RemoveMember(ctx context.Context, m MemberSpec) error
	// PutAutomation creates or replaces the automation record (owner,
	// purpose, kind, rate limit, upstream, routes).
	PutAutomation(ctx context.Context, a Automation) error
	// CreateToken issues a token as specified and returns its secret once.
	CreateToken(ctx context.Context, t TokenSpec) (Issued, error)
	// RotateToken rotates the token (new secret, the old revoked) with the
	// new expiry (nil: the instance's default) and returns the new secret.
	RotateToken(ctx context.Context, tokenID int64, expiresAt *time.Time) (Issued, error)
	// RevokeToken revokes the token.
	RevokeToken(ctx context.Context, tokenID int64) error
}

// TeamNotifier is an Applier that also stores teams' notice destinations
// (OpSetTeamNotify). It is separate so that an Applier without it still
// applies every other step.
type TeamNotifier interface {
	// SetTeamNotify stores the team's webhook and email addresses,
	// replacing any; an empty spec removes them.
	SetTeamNotify(ctx context.Context, n NotifySpec) error
}

// Issued is a token Apply created or rotated. Secret is the plaintext,
// shown once: store it (in the vault) or print it on request, never log it.
type Issued struct {
	Automation string     `json:"automation"`
	TokenID    int64      `json:"token_id"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Secret     string     `json:"-"`
}

// String describes the token without its secret.
func (i Issued) String() string {
	return fmt.Sprintf("token #%d for %s (expires %s)", i.TokenID, i.Automation, fmtDate(i.ExpiresAt))
}

// GoString keeps the secret out of %#v as String does out of %v.
func (i Issued) GoString() string {
	return fmt.Sprintf("manifest.Issued{Automation:%q, TokenID:%d, ExpiresAt:%s}", i.Automation, i.TokenID, fmtDate(i.ExpiresAt))
}

// LogValue keeps the secret out of structured logs.
func (i Issued) LogValue() slog.Value {
	return slog.GroupValue(slog.String("automation", i.Automation), slog.Int64("token_id", i.TokenID))
}

// Step is the outcome of one applied action.
type Step struct {
	Action Action `json:"action"`
	// Issued is the token created or rotated, if any.
	Issued *Issued `json:"issued,omitempty"`
}

// Result is what Apply did, in order.
type Result struct {
	Steps []Step `json:"steps"`
}

// Issued returns the tokens the apply created or rotated, with secrets.
func (r *Result) Issued() []Issued {
	var out []Issued
	for _, s := range r.Steps {
		if s.Issued != nil {
			out = append(out, *s.Issued)
		}
	}
	return out
}

// Apply carries out the plan's steps in order through the applier, writing
// one progress line per step to progress (never a secret). It stops at the
// first failure and returns what it did so far with the error, which names
// the step; each step is atomic, so planning again and re-applying resumes.
// A replacement issues the new token before revoking the old, so a failure
// between the two leaves the automation working (the next plan revokes the
// extra token).
//
// Apply runs every step it is given, Prune steps included: pass
// c.WithoutPrune() unless pruning was asked for.
func Apply(ctx context.Context, c *Changes, ap Applier, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	res := &Result{}
	for i := range c.Actions {
		a := c.Actions[i]
		if err := ctx.Err(); err != nil {
			return res, botgate.E("manifest.Apply", botgate.KindInternal, err)
		}
		issued, err := applyOne(ctx, &a, ap)
		if err != nil {
			if issued != nil {
				// The new token exists even though a later part failed:
				// hand its secret back rather than lose it.
				issued.Automation = a.Automation
				res.Steps = append(res.Steps, Step{Action: a, Issued: issued})
			}
			fmt.Fprintf(progress, "  ! %s %s: failed: %s\n", a.symbol(), a.Title(), safeMessage(err))
			return res, &botgate.Error{Op: "manifest.Apply", Kind: botgate.KindOf(err),
				Message: fmt.Sprintf("step %d of %d (%s %s) failed: %s", i+1, len(c.Actions), a.symbol(), a.Title(), safeMessage(err)), Err: err}
		}
		step := Step{Action: a}
		line := fmt.Sprintf("  %s %s: done", a.symbol(), a.Title())
		if issued != nil {
			issued.Automation = a.Automation
			step.Issued = issued
			line += fmt.Sprintf(" (token #%d)", issued.TokenID)
		}
		fmt.Fprintln(progress, line)
		res.Steps = append(res.Steps, step)
	}
	return res, nil
}

func safeMessage(err error) string {
	if m := botgate.MessageOf(err); m != "" {
		return m
	}
	return botgate.KindOf(err).String()
}

func applyOne(ctx context.Context, a *Action, ap Applier) (*Issued, error) {
	switch a.Op {
	case OpCreateGroup:
		return nil, ap.CreateGroup(ctx, *a.Group)
	case OpCreateProject:
		return nil, ap.CreateProject(ctx, *a.Project)
	case OpCreateServiceAccount:
		return nil, ap.CreateServiceAccount(ctx, *a.ServiceAccount)
	case OpSetMember:
		return nil, ap.SetMember(ctx, *a.Member)
	case OpRemoveMember:
		err := ap.RemoveMember(ctx, *a.Member)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return nil, nil // already gone: the goal holds
		}
		return nil, err
	case OpPutAutomation:
		return nil, ap.PutAutomation(ctx, *a.Spec)
	case OpCreateToken:
		is, err := ap.CreateToken(ctx, *a.Token)
		if err != nil {
			return nil, err
		}
		return &is, nil
	case OpRotateToken:
		is, err := ap.RotateToken(ctx, a.Old.ID, a.Token.ExpiresAt)
		if err != nil {
			return nil, err
		}
		return &is, nil
	case OpReplaceToken:
		is, err := ap.CreateToken(ctx, *a.Token)
		if err != nil {
			return nil, err
		}
		if err := ap.RevokeToken(ctx, a.Old.ID); err != nil && !botgate.IsKind(err, botgate.KindConflict) {
			return &is, err
		}
		return &is, nil
	case OpSetTeamNotify:
		tn, ok := ap.(TeamNotifier)
		if !ok {
			return nil, botgate.Errorf(botgate.KindInvalid, "this applier cannot store a team's notice destinations")
		}
		return nil, tn.SetTeamNotify(ctx, *a.Notify)
	case OpRevokeToken:
		err := ap.RevokeToken(ctx, a.Old.ID)
		if botgate.IsKind(err, botgate.KindConflict) {
			return nil, nil // already revoked: the goal holds
		}
		return nil, err
	}
	return nil, botgate.Errorf(botgate.KindInvalid, "unknown plan step %q", a.Op)
}
