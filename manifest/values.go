package manifest

import (
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// DefaultRotateBefore is the rotation lead time when the policy sets none.
const DefaultRotateBefore = 14

// MaxLifetimeDays is the longest token lifetime, as GitLab's.
const MaxLifetimeDays = 365

func itoa(i int) string { return strconv.Itoa(i) }

// ParseDays reads a lifetime written as days ("90d") or weeks ("4w") and
// returns it in days. It returns a KindInvalid error for anything else.
func ParseDays(s string) (int, error) {
	t := strings.TrimSpace(s)
	if len(t) < 2 {
		return 0, botgate.Invalid("expires_in", "%q is not a duration: write a whole number of days or weeks, such as 90d or 4w", s)
	}
	unit := t[len(t)-1]
	n, err := strconv.Atoi(t[:len(t)-1])
	if err != nil || n <= 0 || (unit != 'd' && unit != 'w') {
		return 0, botgate.Invalid("expires_in", "%q is not a duration: write a whole number of days or weeks, such as 90d or 4w", s)
	}
	if unit == 'w' {
		n *= 7
	}
	return n, nil
}

// FormatDays writes a day count as ParseDays reads it.
func FormatDays(days int) string { return strconv.Itoa(days) + "d" }

var ratePeriods = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
}

// ParseRateLimit reads a rate such as "600/min", "10/s" or "7200/hour".
// The burst is left 0: the limiter's default applies.
func ParseRateLimit(s string) (botgate.Limit, error) {
	bad := func() (botgate.Limit, error) {
		return botgate.Limit{}, botgate.Invalid("rate_limit", "%q is not a rate: write COUNT/PERIOD with PERIOD one of s, min, hour, such as 600/min", s)
	}
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return bad()
	}
	rate, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || rate <= 0 {
		return bad()
	}
	d, ok := ratePeriods[strings.ToLower(strings.TrimSpace(per))]
	if !ok {
		return bad()
	}
	return botgate.Limit{Rate: rate, Period: d}, nil
}

// FormatRateLimit writes l as ParseRateLimit reads it.
func FormatRateLimit(l botgate.Limit) string {
	switch l.Period {
	case time.Second:
		return strconv.Itoa(l.Rate) + "/s"
	case time.Hour:
		return strconv.Itoa(l.Rate) + "/hour"
	default:
		return strconv.Itoa(l.Rate) + "/min"
	}
}

// PerMinute returns l's rate per minute, for comparisons.
func PerMinute(l botgate.Limit) float64 {
	if l.Period <= 0 {
		return 0
	}
	return float64(l.Rate) * float64(time.Minute) / float64(l.Period)
}

var levelNames = map[string]botgate.AccessLevel{
	"guest":      botgate.GuestAccess,
	"planner":    botgate.PlannerAccess,
	"reporter":   botgate.ReporterAccess,
	"developer":  botgate.DeveloperAccess,
	"maintainer": botgate.MaintainerAccess,
	"owner":      botgate.OwnerAccess,
}

// ParseAccessLevel reads a GitLab role name (case-insensitive) or number.
// Only the levels a token or member may have are accepted.
func ParseAccessLevel(s string) (botgate.AccessLevel, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if l, ok := levelNames[t]; ok {
		return l, nil
	}
	if n, err := strconv.Atoi(t); err == nil && botgate.AccessLevel(n).ValidTokenLevel() {
		return botgate.AccessLevel(n), nil
	}
	return 0, botgate.Invalid("access_level", "%q is not an access level: use guest, planner, reporter, developer, maintainer or owner (or 10, 15, 20, 30, 40, 50)", s)
}

// LevelName returns the lower-case role name of l, as the manifest writes it.
func LevelName(l botgate.AccessLevel) string {
	for n, v := range levelNames {
		if v == l {
			return n
		}
	}
	return strconv.Itoa(int(l))
}
