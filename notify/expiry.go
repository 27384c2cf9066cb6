package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// DefaultThresholds are the days before a token's expiry at which its team
// is told, when the configuration names none.
var DefaultThresholds = []int{30, 7, 1}

// ExpiryLease is the store lease one node at a time runs the expiry job
// under.
const ExpiryLease = "notify.expiry"

// EventTokenExpiring is the webhook event (X-Botgate-Event) of an expiry
// notice.
const EventTokenExpiring = "token_expiring"

// ExpiryConfig configures the expiry job. Store, Authority and Holder are
// required.
type ExpiryConfig struct {
	Store     botgate.Store
	Authority *authority.Service
	// Clock tells the time (default the system clock).
	Clock botgate.Clock
	// Thresholds are the days before expiry at which a team is told
	// (default DefaultThresholds).
	Thresholds []int
	// Interval is the time between runs (default 1 hour). The lease is
	// held for three intervals.
	Interval time.Duration
	// Holder names this node in the lease; it must differ between nodes.
	Holder string
	// HTTPClient posts webhooks (default a client with a 10s timeout).
	HTTPClient *http.Client
	// Mailer sends email; nil sends none (webhooks only).
	Mailer *Mailer
	Logger *slog.Logger
	// Registerer, if set, gets the job's counter
	// botgate_expiry_notices_total{channel,result}.
	Registerer prometheus.Registerer
}

// Expiry tells each token's owning team, by webhook and by email, when the
// token crosses each threshold before its expiry. Each (token, threshold,
// channel) is recorded in the store after it is sent and never sent again:
// delivery is at least once. One node at a time runs it (a store lease),
// so several nodes do not send the same notice; a node that dies between
// sending and recording makes the next run send that one notice again,
// which is preferred to a team never told. A failed channel is retried at
// the next run; the channels that succeeded are not sent again.
type Expiry struct {
	cfg     ExpiryConfig
	log     *slog.Logger
	hc      *http.Client
	notices *prometheus.CounterVec
}

// NewExpiry checks cfg and returns the job; Run starts it.
func NewExpiry(cfg ExpiryConfig) (*Expiry, error) {
	if cfg.Store == nil || cfg.Authority == nil || cfg.Holder == "" {
		return nil, errors.New("notify: ExpiryConfig.Store, Authority and Holder are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = botgate.SystemClock{}
	}
	if len(cfg.Thresholds) == 0 {
		cfg.Thresholds = DefaultThresholds
	}
	cfg.Thresholds = slices.Clone(cfg.Thresholds)
	for _, d := range cfg.Thresholds {
		if d <= 0 {
			return nil, fmt.Errorf("notify: expiry thresholds are days, at least 1: got %d", d)
		}
	}
	slices.Sort(cfg.Thresholds)
	cfg.Thresholds = slices.Compact(cfg.Thresholds)
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	e := &Expiry{cfg: cfg, log: cfg.Logger, hc: cfg.HTTPClient}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.hc == nil {
		e.hc = &http.Client{Timeout: 10 * time.Second}
	}
	e.notices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "botgate_expiry_notices_total",
		Help: "Expiry notices to owning teams, by channel (webhook, email) and result (sent, failed, duplicate).",
	}, []string{"channel", "result"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(e.notices); err != nil {
			return nil, fmt.Errorf("notify: registering the expiry metrics: %w", err)
		}
	}
	return e, nil
}

// ExpiryReport says what one run did.
type ExpiryReport struct {
	// Skipped is true when another node holds the lease.
	Skipped bool
	// Sent and Failed count notices by outcome, one per (token, channel).
	Sent, Failed int
	// Undeliverable counts due tokens whose team declares no destination.
	Undeliverable int
}

// Run runs the job every interval until ctx ends, then gives the lease up.
func (e *Expiry) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	defer func() {
		// Given up so that another node (or this one restarted) takes
		// over at once rather than after three intervals.
		rctx := context.WithoutCancel(ctx)
		_ = e.cfg.Store.Update(rctx, func(tx botgate.Tx) error {
			return tx.ReleaseLease(rctx, ExpiryLease, e.cfg.Holder)
		})
	}()
	for {
		rep, err := e.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Error("expiry notices run failed", "err", err)
		case rep.Sent+rep.Failed+rep.Undeliverable > 0:
			e.log.Info("expiry notices run", "sent", rep.Sent, "failed", rep.Failed, "undeliverable", rep.Undeliverable)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// due is one token that has crossed a threshold, with where its notice
// goes.
type due struct {
	tok       *botgate.Token
	threshold int   // the smallest threshold crossed
	covered   []int // the larger ones crossed
	team      *botgate.Group
	dest      *botgate.TeamNotify
	sent      map[botgate.NoticeChannel]bool // channels already told at threshold
}

// RunOnce runs the job once, if this node gets the lease.
func (e *Expiry) RunOnce(ctx context.Context) (ExpiryReport, error) {
	const op = "notify.Expiry.RunOnce"
	now := e.cfg.Clock.Now()
	err := e.cfg.Store.Update(ctx, func(tx botgate.Tx) error {
		_, err := tx.AcquireLease(ctx, ExpiryLease, e.cfg.Holder, now, 3*e.cfg.Interval)
		return err
	})
	if botgate.IsKind(err, botgate.KindConflict) {
		return ExpiryReport{Skipped: true}, nil
	}
	if err != nil {
		return ExpiryReport{}, botgate.E(op, err)
	}
	work, err := e.find(ctx, now)
	if err != nil {
		return ExpiryReport{}, botgate.E(op, err)
	}
	var rep ExpiryReport
	for _, d := range work {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if d.dest.Empty() {
			rep.Undeliverable++
			e.log.Warn("a token is about to expire and its team declares no notify destination", "token_id", d.tok.ID,
				"team", teamPath(d.team), "threshold_days", d.threshold)
			continue
		}
		for _, ch := range []botgate.NoticeChannel{botgate.NoticeWebhook, botgate.NoticeEmail} {
			if d.sent[ch] || !e.offers(d.dest, ch) {
				continue
			}
			if err := e.send(ctx, d, ch, now); err != nil {
				rep.Failed++
				e.notices.WithLabelValues(string(ch), "failed").Inc()
				// The error never holds the webhook URL (PostJSON) or the
				// SMTP password (Mailer).
				e.log.Warn("expiry notice not delivered; retried at the next run", "token_id", d.tok.ID, "team", teamPath(d.team),
					"channel", ch, "threshold_days", d.threshold, "err", err)
				continue
			}
			n := &botgate.ExpiryNotice{TokenID: d.tok.ID, ThresholdDays: d.threshold, Channel: ch, GroupID: d.team.ID,
				ExpiresAt: *d.tok.ExpiresAt, SentAt: now}
			err := e.cfg.Authority.RecordExpiryNotice(ctx, d.tok, teamPath(d.team), n, d.covered)
			switch {
			case botgate.IsKind(err, botgate.KindConflict):
				e.notices.WithLabelValues(string(ch), "duplicate").Inc()
				e.log.Warn("expiry notice was sent by another node too", "token_id", d.tok.ID, "channel", ch, "threshold_days", d.threshold)
			case err != nil:
				// Sent but not recorded: the next run sends it again
				// (at least once).
				return rep, botgate.E(op, err)
			default:
				rep.Sent++
				e.notices.WithLabelValues(string(ch), "sent").Inc()
			}
		}
	}
	return rep, nil
}

// offers reports whether the team has, and this node can use, channel ch.
func (e *Expiry) offers(dest *botgate.TeamNotify, ch botgate.NoticeChannel) bool {
	switch ch {
	case botgate.NoticeWebhook:
		return dest.WebhookURL != ""
	case botgate.NoticeEmail:
		return len(dest.Emails) > 0 && e.cfg.Mailer != nil
	}
	return false
}

// find reads, in one snapshot, the unrevoked, unexpired tokens that have
// crossed a threshold, with their team, its destinations (the nearest
// group up from the team that declares some) and the notices recorded.
func (e *Expiry) find(ctx context.Context, now time.Time) ([]*due, error) {
	largest := e.cfg.Thresholds[len(e.cfg.Thresholds)-1]
	horizon := now.Add(time.Duration(largest) * 24 * time.Hour).Add(time.Microsecond)
	var out []*due
	err := e.cfg.Store.View(ctx, func(tx botgate.Tx) error {
		ts, _, err := tx.FindTokens(ctx, botgate.TokenFilter{Revoked: new(bool), ExpiresAfter: &now, ExpiresBefore: &horizon, Sort: "expires_asc"})
		if err != nil {
			return err
		}
		var ids []int64
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
		recorded, err := tx.FindExpiryNotices(ctx, ids)
		if err != nil {
			return err
		}
		done := map[int64]map[int]map[botgate.NoticeChannel]bool{}
		for _, n := range recorded {
			if done[n.TokenID] == nil {
				done[n.TokenID] = map[int]map[botgate.NoticeChannel]bool{}
			}
			if done[n.TokenID][n.ThresholdDays] == nil {
				done[n.TokenID][n.ThresholdDays] = map[botgate.NoticeChannel]bool{}
			}
			done[n.TokenID][n.ThresholdDays][n.Channel] = true
		}
		groups := map[int64]*botgate.Group{}
		dests := map[int64]*botgate.TeamNotify{}
		for _, t := range ts {
			if t.ExpiresAt == nil || !t.ExpiresAt.After(now) {
				continue
			}
			crossed := e.crossed(*t.ExpiresAt, now)
			if len(crossed) == 0 {
				continue
			}
			d := &due{tok: t, threshold: crossed[0], covered: crossed[1:], sent: done[t.ID][crossed[0]]}
			if d.sent[botgate.NoticeWebhook] && d.sent[botgate.NoticeEmail] {
				continue
			}
			teamID, err := authority.TokenTeam(ctx, tx, t)
			if err != nil {
				return err
			}
			if teamID == 0 {
				continue // a person's own token: no team to tell
			}
			if d.team, err = group(ctx, tx, groups, teamID); err != nil {
				return err
			}
			if d.dest, err = destination(ctx, tx, groups, dests, d.team); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// crossed returns the thresholds a token expiring at exp has crossed at
// now, smallest first: threshold d is crossed once exp is d days away or
// less.
func (e *Expiry) crossed(exp, now time.Time) []int {
	left := exp.Sub(now)
	var out []int
	for _, d := range e.cfg.Thresholds {
		if left <= time.Duration(d)*24*time.Hour {
			out = append(out, d)
		}
	}
	return out
}

func group(ctx context.Context, tx botgate.Tx, cache map[int64]*botgate.Group, id int64) (*botgate.Group, error) {
	if g, ok := cache[id]; ok {
		return g, nil
	}
	g, err := tx.Group(ctx, id)
	if err != nil {
		return nil, err
	}
	cache[id] = g
	return g, nil
}

// destination returns the notify destinations of team, or of the nearest
// group above it that declares some; nil when none does.
func destination(ctx context.Context, tx botgate.Tx, groups map[int64]*botgate.Group, cache map[int64]*botgate.TeamNotify, team *botgate.Group) (*botgate.TeamNotify, error) {
	g := team
	for depth := 0; g != nil && depth < 32; depth++ {
		n, ok := cache[g.ID]
		if !ok {
			var err error
			n, err = tx.TeamNotify(ctx, g.ID)
			if botgate.IsKind(err, botgate.KindNotFound) {
				n, err = nil, nil
			}
			if err != nil {
				return nil, err
			}
			cache[g.ID] = n
		}
		if !n.Empty() {
			return n, nil
		}
		if g.ParentID == 0 {
			break
		}
		var err error
		if g, err = group(ctx, tx, groups, g.ParentID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func teamPath(g *botgate.Group) string {
	if g == nil {
		return ""
	}
	return g.FullPath
}

// ExpiryWebhook is the JSON body of an expiry notice's webhook: Text makes
// it a Slack (and Mattermost, Rocket.Chat) incoming-webhook message; the
// other fields are for machines.
type ExpiryWebhook struct {
	Text          string `json:"text"`
	Event         string `json:"event"`
	TokenID       int64  `json:"token_id"`
	TokenName     string `json:"token_name"`
	TokenKind     string `json:"token_kind"`
	Automation    string `json:"automation,omitempty"`
	Team          string `json:"team"`
	ExpiresAt     string `json:"expires_at"`
	DaysLeft      int    `json:"days_left"`
	ThresholdDays int    `json:"threshold_days"`
	Reissue       string `json:"reissue"`
}

// notice builds the notice about d at now.
func notice(d *due, now time.Time) ExpiryWebhook {
	exp := *d.tok.ExpiresAt
	left := int(math.Ceil(exp.Sub(now).Hours() / 24))
	what := fmt.Sprintf("token %q (#%d)", d.tok.Name, d.tok.ID)
	if d.tok.Automation != "" {
		what = fmt.Sprintf("token of automation %s (#%d)", d.tok.Automation, d.tok.ID)
	}
	reissue := "botgate token reissue --team " + teamPath(d.team) + " --expiring-within " + fmt.Sprintf("%dd", d.threshold)
	return ExpiryWebhook{
		Text: fmt.Sprintf("botgate: the %s of team %s expires on %s (in %s). Reissue it: %s",
			what, teamPath(d.team), exp.Format(botgate.DateFormat), plural(left, "day"), reissue),
		Event: EventTokenExpiring, TokenID: d.tok.ID, TokenName: d.tok.Name, TokenKind: string(d.tok.Kind), Automation: d.tok.Automation,
		Team: teamPath(d.team), ExpiresAt: exp.Format(botgate.DateFormat), DaysLeft: left, ThresholdDays: d.threshold, Reissue: reissue,
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// send delivers d's notice on ch.
func (e *Expiry) send(ctx context.Context, d *due, ch botgate.NoticeChannel, now time.Time) error {
	n := notice(d, now)
	switch ch {
	case botgate.NoticeWebhook:
		_, err := PostJSON(ctx, e.hc, Webhook{URL: d.dest.WebhookURL, Event: EventTokenExpiring}, n)
		return err
	case botgate.NoticeEmail:
		subject := fmt.Sprintf("[botgate] %s expires in %s", n.TokenName, plural(n.DaysLeft, "day"))
		body := n.Text + "\n\n" + fmt.Sprintf("Token:      %s (#%d, %s)\nAutomation: %s\nTeam:       %s\nExpires:    %s\n",
			n.TokenName, n.TokenID, n.TokenKind, orDash(n.Automation), n.Team, n.ExpiresAt) +
			"\nThis notice is sent once per token at each of the thresholds botgate is configured with.\n"
		return e.cfg.Mailer.Send(ctx, d.dest.Emails, subject, body)
	}
	return fmt.Errorf("unknown channel %s", ch)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ExpirySettings are the expiry job's settings from the configuration
// file (config.File.ExpiryNotices): the thresholds in days and the
// interval (zero values take the defaults), and the SMTP server, nil for
// webhooks only.
type ExpirySettings struct {
	Thresholds []int
	Interval   time.Duration
	SMTP       *SMTPConfig
}
