package authority

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/tokenfmt"
)

// ActionTokenLeaked is the audit action recorded when a token of this
// instance is reported leaked. Its details hold where the token was found,
// never the token.
const ActionTokenLeaked = "token.leaked"

// LeakStatus is what reporting a leaked token did.
type LeakStatus string

// The leak statuses.
const (
	// LeakRevoked: the token was active and is now revoked.
	LeakRevoked LeakStatus = "revoked"
	// LeakInactive: the token was already revoked or expired.
	LeakInactive LeakStatus = "already_inactive"
	// LeakUnknown: the string is not a token of this instance.
	LeakUnknown LeakStatus = "unknown"
)

// LeakReport is a token reported as leaked by a secret scanner.
type LeakReport struct {
	Secret string
	// Location says where it was found (a URL such as
	// "https://host/group/project/-/blob/sha/file#L3"); it is recorded in
	// the audit event with any copy of the secret removed.
	Location string
}

// LeakResult is the outcome of a report. Token and User are set unless the
// status is LeakUnknown.
type LeakResult struct {
	Status LeakStatus
	Token  *botgate.Token
	User   *botgate.User
	// Location is the reported location as recorded: safe to pass on.
	Location string
}

// MaxLeakLocation bounds the location recorded for a leak.
const MaxLeakLocation = 2048

// MayReportLeaks reports whether the actor may report leaked tokens: an
// administrator, or any caller whose token holds the revoke_leaked scope.
func MayReportLeaks(a Actor) bool {
	return a.isAdmin() || (a.Token != nil && a.Token.Scopes.Has(botgate.ScopeRevokeLeaked))
}

// ReportLeak handles one token reported leaked: if it is an active token of
// this instance it is revoked (a project or group token's bot is
// deactivated with it); a rotated-out token still accepted within the
// rotation grace window loses its grace (LeakRevoked: it is refused from
// now on); whenever it is a token of this instance, known
// active or not, a token.leaked event records where it was found. Reporting
// the same token again is harmless: it is LeakInactive. A string that is
// not a well-formed token of this instance's prefix is LeakUnknown without
// any store access. Errors: KindForbidden unless MayReportLeaks, KindInternal
// from the store. The secret never reaches a log, an error or the audit.
func (s *Service) ReportLeak(ctx context.Context, a Actor, r LeakReport) (LeakResult, error) {
	const op = "authority.ReportLeak"
	if !MayReportLeaks(a) {
		return LeakResult{}, botgate.E(op, botgate.KindForbidden)
	}
	if tokenfmt.Check(r.Secret, s.prefix) != nil {
		return LeakResult{Status: LeakUnknown}, nil
	}
	loc := cleanLocation(r.Location, r.Secret, s.prefix)
	d := s.digester.Digest(r.Secret)
	var res LeakResult
	var err error
	// A concurrent report may revoke the token between the read and the
	// write; the second attempt then sees it inactive.
	for attempt := 0; attempt < 2; attempt++ {
		err = s.store.Update(ctx, func(tx botgate.Tx) error {
			res = LeakResult{Status: LeakUnknown, Location: loc}
			t, err := tx.TokenByDigest(ctx, d[:])
			if botgate.IsKind(err, botgate.KindNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			u, err := tx.User(ctx, t.UserID)
			if err != nil {
				return err
			}
			res.Token, res.User = t, u
			// A rotated-out token still accepted within the grace window
			// is as usable as an active one: this report ends its grace.
			graced, err := s.endGrace(ctx, tx, a, t, "reported leaked")
			if err != nil {
				return err
			}
			active := t.Active(s.clock.Now()) || graced
			e := s.event(a, ActionTokenLeaked, "token", t.ID, t.Name)
			e.Details = details("location", loc, "kind", string(t.Kind), "automation", t.Automation, "was_active", boolStr(active))
			if err := s.record(ctx, tx, e); err != nil {
				return err
			}
			if graced {
				res.Status = LeakRevoked
				return nil
			}
			if !active {
				res.Status = LeakInactive
				return nil
			}
			if err := s.revoke(ctx, tx, a, t, "reported leaked"); err != nil {
				return err
			}
			res.Status = LeakRevoked
			return nil
		})
		if !botgate.IsKind(err, botgate.KindConflict) {
			break
		}
	}
	if err != nil {
		return LeakResult{}, botgate.E(op, err)
	}
	if res.Status == LeakRevoked {
		s.log.Warn("leaked token revoked", "token_id", res.Token.ID, "automation", res.Token.Automation)
		s.changed([]int64{res.Token.ID})
	}
	return res, nil
}

// cleanLocation makes a reported location safe to record: decoded (see
// decodeLocation), every copy of the secret and anything else shaped like
// a token of this instance removed whatever its case, control characters
// dropped, length bounded.
func cleanLocation(loc, secret, prefix string) string {
	loc, ok := decodeLocation(loc)
	if !ok {
		return "[REDACTED: the location is encoded more deeply than botgate decodes]"
	}
	loc = redactTokens(loc, secret, prefix)
	loc = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(loc))
	if len(loc) > MaxLeakLocation {
		cut := MaxLeakLocation
		for cut > 0 && !utf8.RuneStart(loc[cut]) {
			cut--
		}
		loc = loc[:cut]
	}
	return loc
}

// maxLocationDecodes bounds how many layers of %-encoding a location may
// carry: a URL holds one, a URL inside a query parameter two, a scanner's
// report of that three.
const maxLocationDecodes = 4

// decodeLocation %-decodes loc until it no longer changes, so that a copy
// of a token hidden under any number of layers of encoding up to the bound
// is seen, and recorded, as itself. A location still changing after
// maxLocationDecodes rounds is refused (ok false): it cannot be shown to
// hold no token. Malformed escapes are kept as they are.
func decodeLocation(loc string) (string, bool) {
	for range maxLocationDecodes {
		next := percentDecode(loc)
		if next == loc {
			return loc, true
		}
		loc = next
	}
	return loc, percentDecode(loc) == loc
}

// percentDecode decodes every well-formed %XX escape (and '+' as a space,
// as query strings write it) and keeps anything else as it is, where
// url.PathUnescape would give up on the whole string.
func percentDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case c == '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// redactTokens replaces, ignoring case, every copy of secret and every
// run of token characters that follows the instance's token prefix.
func redactTokens(loc, secret, prefix string) string {
	const mark = "[REDACTED]"
	lower := strings.ToLower(loc)
	var spans [][2]int
	if secret != "" {
		ls := strings.ToLower(secret)
		for i := 0; ; {
			j := strings.Index(lower[i:], ls)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(ls)})
			i += j + len(ls)
		}
	}
	if prefix != "" {
		lp := strings.ToLower(prefix)
		for i := 0; ; {
			j := strings.Index(lower[i:], lp)
			if j < 0 {
				break
			}
			start := i + j
			end := start + len(lp)
			for end < len(loc) && isTokenByte(loc[end]) {
				end++
			}
			spans = append(spans, [2]int{start, end})
			i = end
		}
	}
	if len(spans) == 0 {
		return loc
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	at := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		// Merge the spans this one overlaps.
		for i++; i < len(spans) && spans[i][0] <= end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(loc[at:start])
		b.WriteString(mark)
		at = end
	}
	b.WriteString(loc[at:])
	return b.String()
}

// isTokenByte reports whether c can appear in a token after its prefix
// (base64url and the layout's dots).
func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}
