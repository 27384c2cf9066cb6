package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
)

// AutomationLimits supplies per-automation rate limits kept outside the
// configuration file: botgate's automation records, which `botgate apply`
// writes from the manifest (governance.Limits). Implementations answer
// from memory on the hot path and are safe for concurrent use.
type AutomationLimits interface {
	// AutomationLimit returns the automation's own limit; ok is false when
	// it declares none (or is unknown), and the default applies.
	AutomationLimit(ctx context.Context, automation string) (l botgate.Limit, ok bool)
}

// limitOf returns the limit of a token: an override for the token (its
// rotation family, see resolveTokenLimits) in the configuration file wins
// over one for its automation there, which wins over the automation's
// record (Options.AutomationLimits), which wins over the default. A
// record's limit without a burst gets a burst of its rate, as the
// configuration's limits do.
func (g *Gateway) limitOf(ctx context.Context, t *botgate.Token) botgate.Limit {
	if l, ok := g.familyLimits[familyOf(t)]; ok {
		return l
	}
	if t.Automation == "" {
		return g.cfg.defaultLimit
	}
	if l, ok := g.cfg.autoLimits[t.Automation]; ok {
		return l
	}
	if g.autoLimits != nil {
		if l, ok := g.autoLimits.AutomationLimit(ctx, t.Automation); ok && l.Rate > 0 && l.Period > 0 {
			if l.Burst <= 0 {
				l.Burst = l.Rate
			}
			return l
		}
	}
	return g.cfg.defaultLimit
}

// resolveTokenLimits keys the configuration's per-token limits by the
// tokens' rotation families, as the limiter's buckets are (limitKey): a
// limit set for a token then follows it through rotations, whichever token
// of the chain the configuration names. A configured id the store does not
// know (yet) keys its own family, as the first token of a chain does. When
// two tokens of one family are configured, the newer token's limit wins.
func resolveTokenLimits(ctx context.Context, s botgate.Store, byToken map[int64]botgate.Limit) (map[int64]botgate.Limit, error) {
	out := make(map[int64]botgate.Limit, len(byToken))
	if len(byToken) == 0 {
		return out, nil
	}
	newest := make(map[int64]int64, len(byToken))
	err := s.View(ctx, func(tx botgate.Tx) error {
		for id, l := range byToken {
			fam := id
			t, err := tx.Token(ctx, id)
			switch {
			case err == nil:
				fam = familyOf(t)
			case !botgate.IsKind(err, botgate.KindNotFound):
				return fmt.Errorf("limits.tokens.%d: reading the token's rotation family: %w", id, err)
			}
			if prev, ok := newest[fam]; ok && prev > id {
				continue
			}
			newest[fam], out[fam] = id, l
		}
		return nil
	})
	return out, err
}

// familyOf returns the ID of the token's rotation family.
func familyOf(t *botgate.Token) int64 {
	if t.FamilyID != 0 {
		return t.FamilyID
	}
	return t.ID
}

// AutomationRoutes is implemented by an AutomationLimits that also knows
// automations' route allowlists (the manifest's routes: "METHOD
// /path/pattern"). When an automation declares routes, the gateway refuses
// (403) its calls that match none of them.
type AutomationRoutes interface {
	// AutomationRoutes returns the automation's allowed routes; ok is
	// false when it declares none (every route the policy allows is open).
	// An error means the allowlist could not be read; the gateway then
	// refuses the call.
	AutomationRoutes(ctx context.Context, automation string) (routes []string, ok bool, err error)
}

// checkAutomationRoutes refuses a call outside the token's automation's
// declared routes. A pattern's "*" matches one path segment (an id or a
// URL-encoded full path); its method may be "*" for any.
//
// An allowlist that cannot be read fails closed, as a membership that
// cannot be read does: the call is refused (500, the cause logged) rather
// than let through on every route or served from an answer of unknown age.
// The allowlist is the automation's blast radius; a store outage must not
// widen it, and the cache (governance.Limits) already serves recent answers
// without touching the store.
func (g *Gateway) checkAutomationRoutes(ctx context.Context, t *botgate.Token, method string, segs []string) error {
	ar, ok := g.autoLimits.(AutomationRoutes)
	if !ok || t.Automation == "" {
		return nil
	}
	routes, ok, err := ar.AutomationRoutes(ctx, t.Automation)
	if err != nil {
		return botgate.E("gateway.checkAutomationRoutes", botgate.KindInternal, err)
	}
	if !ok || len(routes) == 0 {
		return nil
	}
	for _, r := range routes {
		if automationRouteMatches(r, method, segs) {
			return nil
		}
	}
	return botgate.Errorf(botgate.KindForbidden,
		"automation %s may call only the routes it declares, and %s on this path is not one of them", t.Automation, method)
}

// automationRouteMatches reports whether "METHOD /path/pattern" matches.
func automationRouteMatches(route, method string, segs []string) bool {
	m, pattern, ok := strings.Cut(strings.TrimSpace(route), " ")
	if !ok || (m != "*" && !strings.EqualFold(m, method)) {
		return false
	}
	pattern = strings.TrimSpace(pattern)
	if !strings.HasPrefix(pattern, "/") {
		return false
	}
	// Walk the pattern's segments in place, as strings.Split would cut
	// them: this runs for every declared route on every request.
	rest := pattern[1:]
	if strings.Count(rest, "/")+1 != len(segs) {
		return false
	}
	for _, seg := range segs {
		var p string
		p, rest, _ = strings.Cut(rest, "/")
		if p == "*" {
			if seg == "" {
				return false
			}
			continue
		}
		if !edge.Word(seg, p) {
			return false
		}
	}
	return true
}
