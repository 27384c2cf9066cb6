package console

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// The charts are SVG drawn on the server: bars for tokens by expiry
// month, lines for refusals per automation per hour. The page embeds them
// as images from the console's own origin, which the CSP allows.

// chartsOf reads the charts of the request's team (?team=, 0 for every
// team the person may see).
func (c *Console) chartsOf(r *http.Request, s *session) (int64, *authority.Charts, error) {
	team, err := intParam(r, "team", 0)
	if err != nil {
		return 0, nil, err
	}
	ch, err := c.auth.Charts(r.Context(), s.actor(), team)
	return team, ch, err
}

func (c *Console) charts(w http.ResponseWriter, r *http.Request, s *session) error {
	team, ch, err := c.chartsOf(r, s)
	if err != nil {
		return err
	}
	c.render(w, http.StatusOK, "charts", s.view("Charts", "charts", map[string]any{"Team": team, "Charts": ch}))
	return nil
}

// svgPalette colours the automations' lines.
var svgPalette = []string{"#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a"}

func writeSVG(w http.ResponseWriter, body string, width, height int) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+
		`<rect width="100%%" height="100%%" fill="#ffffff"/>%s</svg>`, width, height, width, height, body)
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func (c *Console) expirySVG(w http.ResponseWriter, r *http.Request, s *session) error {
	_, ch, err := c.chartsOf(r, s)
	if err != nil {
		return err
	}
	writeSVG(w, expiryBars(ch), 720, 260)
	return nil
}

// expiryBars draws one bar per month (and one for tokens without expiry),
// labelled with its count.
func expiryBars(ch *authority.Charts) string {
	const left, top, plotH, barW, gap = 40, 20, 180, 40, 12
	most := max(1, ch.NoExpiry)
	for _, m := range ch.ExpiryMonths {
		most = max(most, m.Count)
	}
	var b strings.Builder
	bar := func(i, n int, label, colour string) {
		h := n * plotH / most
		x := left + i*(barW+gap)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d</title></rect>`,
			x, top+plotH-h, barW, h, colour, esc(label), n)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%d</text>`, x+barW/2, top+plotH-h-4, n)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, x+barW/2, top+plotH+16, esc(label))
	}
	for i, m := range ch.ExpiryMonths {
		colour := "#1f6feb"
		if i == 0 {
			colour = "#d1242f" // expiring this month
		}
		bar(i, m.Count, m.Month.Format("Jan 06"), colour)
	}
	bar(len(ch.ExpiryMonths), ch.NoExpiry, "never", "#57606a")
	axis(&b, left-4, left+13*(barW+gap), top+plotH)
	return b.String()
}

// axis draws the horizontal axis from x1 to x2 at height y.
func axis(b *strings.Builder, x1, x2, y int) {
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a"/>`, x1, y, x2, y)
}

// hourlySVG serves one of the hourly charts: requests or refusals.
func (c *Console) hourlySVG(series func(*authority.Charts) map[string][]int, what string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		_, ch, err := c.chartsOf(r, s)
		if err != nil {
			return err
		}
		writeSVG(w, hourlyLines(series(ch), ch.Hours, what), 720, 300)
		return nil
	}
}

// hourlyLines draws one line per automation over the hours, with a
// legend.
func hourlyLines(series map[string][]int, hours []time.Time, what string) string {
	const left, top, plotW, plotH = 40, 20, 520, 220
	names := make([]string, 0, len(series))
	most := 1
	for name, counts := range series {
		names = append(names, name)
		most = max(most, slices.Max(counts))
	}
	slices.Sort(names)
	var b strings.Builder
	axis(&b, left, left+plotW, top+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text>`, left-4, top+8, most)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">0</text>`, left-4, top+plotH)
	n := len(hours)
	x := func(i int) int { return left + i*plotW/max(1, n-1) }
	for i, h := range hours {
		if i%6 == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, x(i), top+plotH+16, h.UTC().Format("15:04"))
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">no %s in the last %s</text>`,
			left+plotW/2, top+plotH/2, esc(what), authority.RecentWindow)
	}
	for k, name := range names {
		colour := svgPalette[k%len(svgPalette)]
		pts := make([]string, len(series[name]))
		for i, v := range series[name] {
			pts[i] = fmt.Sprintf("%d,%d", x(i), top+plotH-v*plotH/most)
		}
		label := name
		if label == "" {
			label = "(not declared)"
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
			colour, strings.Join(pts, " "), esc(label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`,
			left+plotW+20, top+k*16, colour, left+plotW+34, top+k*16+9, esc(label))
	}
	return b.String()
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"date": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02")
	},
	"when": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	// expiry classes a token's expiry: "expired", "soon" (7 days), "month"
	// (30 days) or "".
	"expiry": func(t *botgate.Token, now time.Time) string {
		if t.ExpiresAt == nil {
			return ""
		}
		switch left := t.ExpiresAt.Sub(now); {
		case left <= 0:
			return "expired"
		case left <= 7*24*time.Hour:
			return "soon"
		case left <= 30*24*time.Hour:
			return "month"
		}
		return ""
	},
	"scopes": func(s botgate.Scopes) string {
		if len(s) == 0 {
			return "none"
		}
		return s.String()
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"unused": func(granted, used botgate.Scopes) botgate.Scopes {
		var out botgate.Scopes
		for _, s := range granted {
			if !used.Has(s) {
				out = append(out, s)
			}
		}
		return out
	},
	"limit": func(l botgate.Limit) string {
		if l.IsZero() {
			return "default"
		}
		return fmt.Sprintf("%d per %s", l.Rate, l.Period)
	},
}
