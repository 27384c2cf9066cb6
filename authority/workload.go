package authority

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// WorkloadGrant asks for a token of an automation for a workload (a CI job,
// a pod) whose identity token the caller has verified against one of the
// automation's trust policies.
type WorkloadGrant struct {
	// Automation names the automation record.
	Automation string
	// ExpiresAt is when the token ends: after now, within
	// botgate.MaxWorkloadTTL.
	ExpiresAt time.Time
	// Subject is the identity token's "sub"; Issuer its "iss".
	Subject, Issuer string
	// Identity is what the audit event records of the workload (project,
	// pipeline, job, ref, ...): claim names and values, never a token.
	Identity map[string]string
	// JTI is the identity token's ID: it is recorded (tx.UseTokenID) in
	// the same transaction as the token is minted, until JTIExpiresAt, so
	// the identity token buys exactly one token, on every node.
	JTI          string
	JTIExpiresAt time.Time
	// IP and UserAgent are the exchanging client's.
	IP, UserAgent string
}

// MintWorkloadToken issues a token of the automation for a verified
// workload identity: the automation's bot (the bot user of its newest
// project or group token, or its service account) gets a token with the
// automation's scopes, labelled with the automation (so the gateway applies
// its routes and rate limit), that ends at g.ExpiresAt. The jti, the token
// and its ActionTokenExchange audit event (the token's creation, naming the
// workload) are written in one transaction. Errors: KindNotFound if the automation or its bot does not
// exist (apply creates them), KindForbidden if the bot is inactive,
// KindInvalid for an expiry outside the workload limits or a missing JTI,
// KindConflict if the JTI was used before (a replay).
func (s *Service) MintWorkloadToken(ctx context.Context, g WorkloadGrant) (*Created, error) {
	const op = "authority.MintWorkloadToken"
	now := s.clock.Now()
	if !g.ExpiresAt.After(now) || g.ExpiresAt.Sub(now) > botgate.MaxWorkloadTTL {
		return nil, botgate.E(op, botgate.Invalid("expires_at", "a workload token lives at most %s", botgate.MaxWorkloadTTL))
	}
	if g.JTI == "" || g.Issuer == "" {
		return nil, botgate.E(op, botgate.Invalid("jti", "a workload grant names the identity token's issuer and jti"))
	}
	actor := Actor{System: true, IP: g.IP, UserAgent: g.UserAgent}
	var out Created
	// The jti is used once (a conditional insert) and the token is new:
	// exchanges run beside other shared updates.
	err := s.update(ctx, func(tx botgate.Tx, _ bool) error {
		if err := tx.UseTokenID(ctx, g.Issuer, g.JTI, g.JTIExpiresAt, now); err != nil {
			if botgate.IsKind(err, botgate.KindConflict) {
				return botgate.Errorf(botgate.KindConflict, "the identity token was already exchanged (jti %q): identity tokens are single-use", g.JTI)
			}
			return err
		}
		rec, err := tx.AutomationByName(ctx, g.Automation)
		if err != nil {
			return err
		}
		bot, t, err := s.workloadBot(ctx, tx, rec)
		if err != nil {
			return err
		}
		if !bot.Active() {
			return forbidden("the bot of automation %s (%s) is not active", rec.Name, bot.Username)
		}
		exp := g.ExpiresAt
		t.Name, t.Description, t.Scopes, t.ExpiresAt, t.Automation =
			rec.Name, "workload identity "+g.Subject, rec.Scopes, &exp, rec.Name
		if err := s.checkMint(ctx, tx, actor, bot, t, false); err != nil {
			return err
		}
		out.User = bot
		// One audit event, the token's creation recorded as the exchange,
		// naming the workload.
		out.Token, out.Secret, err = s.insertToken(ctx, tx, actor, bot, t, func(e *botgate.AuditEvent) {
			e.Action, e.ActorName = botgate.ActionTokenExchange, "workload:"+g.Subject
			e.Details["issuer"], e.Details["subject"] = g.Issuer, g.Subject
			e.Details["expires_at"] = exp.UTC().Format(time.RFC3339)
			for k, v := range g.Identity {
				if v != "" {
					e.Details["job."+k] = v
				}
			}
		})
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return &out, nil
}

// workloadBot returns the user a workload token of rec is issued to, and
// the token's kind, resource and access level.
func (s *Service) workloadBot(ctx context.Context, tx botgate.Tx, rec *botgate.Automation) (*botgate.User, *botgate.Token, error) {
	if rec.Kind == botgate.AutomationServiceAccount {
		u, err := tx.UserByUsername(ctx, rec.ServiceAccount)
		if botgate.IsKind(err, botgate.KindNotFound) || err == nil && u.Kind != botgate.ServiceAccount {
			return nil, nil, botgate.Errorf(botgate.KindNotFound, "service account %s of automation %s does not exist: run `botgate apply`", rec.ServiceAccount, rec.Name)
		}
		if err != nil {
			return nil, nil, err
		}
		return u, &botgate.Token{Kind: botgate.ServiceAccountToken}, nil
	}
	targets, kind, err := automationTargets(ctx, tx, rec)
	if err != nil {
		return nil, nil, err
	}
	// The standing token (issued by apply) never expires or outlives
	// every workload token, so looking only at those keeps this lookup
	// small however many jobs ran (index tokens_automation). Only a bot on
	// a target the automation declares counts: the label alone is anyone's
	// to set on a token they manage.
	after := s.clock.Now().Add(botgate.MaxWorkloadTTL + time.Minute)
	var newest *botgate.Token
	for _, r := range targets {
		for _, f := range []botgate.TokenFilter{{ExpiresAfter: &after}, {NeverExpires: true}} {
			f.Automation, f.Kinds, f.Resource, f.Sort, f.Page = rec.Name, []botgate.TokenKind{kind}, &r, "created_desc", botgate.Page{Limit: 1}
			ts, _, err := tx.FindTokens(ctx, f)
			if err != nil {
				return nil, nil, err
			}
			if len(ts) > 0 && (newest == nil || ts[0].CreatedAt.After(newest.CreatedAt)) {
				newest = ts[0]
			}
		}
	}
	if newest == nil {
		return nil, nil, botgate.Errorf(botgate.KindNotFound, "automation %s has no bot yet on %s: `botgate apply` creates it", rec.Name, strings.Join(append(slices.Clone(rec.Projects), rec.Groups...), ", "))
	}
	ts := []*botgate.Token{newest}
	u, err := tx.User(ctx, ts[0].UserID)
	if err != nil {
		return nil, nil, err
	}
	return u, &botgate.Token{Kind: kind, Resource: ts[0].Resource, AccessLevel: ts[0].AccessLevel}, nil
}

// automationTargets resolves the projects (or groups) a project (or group)
// token automation declares, and the kind of its tokens. A declared target
// that does not exist is skipped: apply creates none.
func automationTargets(ctx context.Context, tx botgate.Tx, rec *botgate.Automation) ([]botgate.Resource, botgate.TokenKind, error) {
	var out []botgate.Resource
	if rec.Kind == botgate.AutomationGroupToken {
		for _, path := range rec.Groups {
			g, err := tx.GroupByPath(ctx, path)
			if botgate.IsKind(err, botgate.KindNotFound) {
				continue
			}
			if err != nil {
				return nil, "", err
			}
			out = append(out, botgate.Resource{Type: botgate.GroupResource, ID: g.ID})
		}
		return out, botgate.GroupAccessToken, nil
	}
	for _, path := range rec.Projects {
		p, err := tx.ProjectByPath(ctx, path)
		if botgate.IsKind(err, botgate.KindNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID})
	}
	return out, botgate.ProjectAccessToken, nil
}
