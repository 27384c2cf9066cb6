package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/notify"
)

// manifestWith declares team platform (told by webhook and email) owning
// automation triage, and team silent (no destination) owning quiet-bot;
// both tokens expire after the given lifetimes.
func manifestWith(hook string, triageLife, quietLife string) string {
	return fmt.Sprintf(`version: 1
policy: {rotate_before: 1d}
teams:
  - path: platform
    notify:
      webhook: %s
      email: [platform@example.com, oncall@example.com]
  - path: silent
projects:
  - {path: app, group: platform}
  - {path: other, group: silent}
automations:
  - name: triage
    purpose: Labels new issues.
    owner: platform
    projects: [platform/app]
    scopes: [read_api]
    access_level: reporter
    expires_in: %s
  - name: quiet-bot
    purpose: Reads pipelines.
    owner: silent
    projects: [silent/other]
    scopes: [read_api]
    access_level: reporter
    expires_in: %s
`, hook, triageLife, quietLife)
}

// startNotified starts an instance, the webhook and the mail server (TLS,
// botgate's login) that tell team platform, and applies manifestWith with
// the lifetimes.
func startNotified(t *testing.T, triageLife, quietLife string) (*instance, *webhook, *mailServer) {
	t.Helper()
	in := newInstance(t)
	hook := startWebhook(t)
	ms := startMailServer(t, true, "botgate", "smtp-pass-123")
	in.apply(t, manifestWith(hook.url(), triageLife, quietLife))
	return in, hook, ms
}

// job builds the expiry job of a node named holder.
func job(t *testing.T, in *instance, ms *mailServer, holder string, log *slog.Logger, reg prometheus.Registerer) *notify.Expiry {
	t.Helper()
	mailer, err := notify.NewMailer(notify.SMTPConfig{Host: "127.0.0.1", Port: ms.port(), From: "botgate@example.com",
		Username: "botgate", Password: "smtp-pass-123", RequireTLS: true, RootCAs: ms.roots})
	if err != nil {
		t.Fatal(err)
	}
	j, err := notify.NewExpiry(notify.ExpiryConfig{Store: in.store, Authority: in.auth, Clock: in.clock, Holder: holder,
		Mailer: mailer, Logger: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func runOnce(t *testing.T, j *notify.Expiry) notify.ExpiryReport {
	t.Helper()
	rep, err := j.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if rep.Skipped {
		t.Fatal("RunOnce skipped: another holder has the lease")
	}
	return rep
}

// counter reads botgate_expiry_notices_total{channel,result} from reg.
func counter(t *testing.T, reg *prometheus.Registry, channel, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "botgate_expiry_notices_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == channel && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestExpiryNoticesOncePerThreshold(t *testing.T) {
	in, hook, ms := startNotified(t, "40d", "40d")
	tok := in.token(t, "triage")
	exp := *tok.ExpiresAt

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	j := job(t, in, ms, "node-a", log, reg)
	counts := func(step string, posts, mails int) {
		t.Helper()
		if got := len(hook.posts()); got != posts {
			t.Errorf("%s: %d webhook posts, want %d", step, got, posts)
		}
		if got := len(ms.messages()); got != mails {
			t.Errorf("%s: %d emails, want %d", step, got, mails)
		}
	}

	runOnce(t, j)
	counts("40 days before", 0, 0)

	// Each threshold: one notice per channel, however often the job runs.
	for i, days := range []int{30, 7} {
		in.clock.Set(exp.Add(-time.Duration(days)*24*time.Hour + time.Hour))
		rep := runOnce(t, j)
		if rep.Sent != 2 || rep.Undeliverable != 1 {
			t.Errorf("%dd: report %+v, want 2 sent and quiet-bot undeliverable", days, rep)
		}
		runOnce(t, j)
		counts(fmt.Sprintf("%d days before, run twice", days), i+1, i+1)
	}

	// A restart: the old node stops (giving its lease up), a new node on
	// the same database runs, and sends nothing again.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { j.Run(ctx); close(done) }()
	cancel()
	<-done
	in.open(t)
	j2 := job(t, in, ms, "node-b", log, prometheus.NewRegistry())
	if rep := runOnce(t, j2); rep.Sent != 0 {
		t.Errorf("after the restart: %+v, want nothing sent", rep)
	}
	counts("after the restart", 2, 2)

	// The webhook fails at the 1-day threshold: the email goes once, the
	// webhook is retried at each run until it works, and then goes once.
	hook.failing.Store(true)
	in.clock.Set(exp.Add(-24*time.Hour + time.Hour))
	if rep := runOnce(t, j2); rep.Sent != 1 || rep.Failed != 1 {
		t.Errorf("webhook down: %+v, want the email sent and the webhook failed", rep)
	}
	runOnce(t, j2)
	counts("webhook down, run twice", 2, 3)
	hook.failing.Store(false)
	if rep := runOnce(t, j2); rep.Sent != 1 || rep.Failed != 0 {
		t.Errorf("webhook back: %+v, want the webhook sent", rep)
	}
	runOnce(t, j2)
	counts("webhook back, run twice", 3, 3)

	var thresholds []string
	for _, p := range hook.posts() {
		thresholds = append(thresholds, fmt.Sprint(p["threshold_days"]))
		if p["event"] != notify.EventTokenExpiring || p["automation"] != "triage" || p["team"] != "platform" ||
			p["token_id"] != float64(tok.ID) || !strings.Contains(fmt.Sprint(p["text"]), "triage") {
			t.Errorf("webhook body %v", p)
		}
	}
	if got := strings.Join(thresholds, ","); got != "30,7,1" {
		t.Errorf("webhook thresholds %s, want 30,7,1", got)
	}
	for _, m := range ms.messages() {
		if !m.tls || m.user != "botgate" || m.from != "botgate@example.com" || len(m.to) != 2 ||
			!strings.Contains(m.data, "Subject: [botgate] triage expires in") {
			t.Errorf("email from %s to %v (tls %v, user %q):\n%s", m.from, m.to, m.tls, m.user, m.data)
		}
	}

	events := in.audit(t, botgate.ActionExpiryNotice)
	if len(events) != 6 {
		t.Errorf("%d %s audit events, want 6 (3 thresholds x 2 channels)", len(events), botgate.ActionExpiryNotice)
	}
	for _, e := range events {
		if e.TargetID != tok.ID || e.Details["team"] != "platform" {
			t.Errorf("audit event %+v", e)
		}
		if strings.Contains(fmt.Sprint(e.Details), "hooksecretvalue") {
			t.Errorf("audit event holds the webhook secret: %v", e.Details)
		}
	}
	stored := in.audit(t, botgate.ActionTeamNotifyUpdate)
	if len(stored) != 1 || stored[0].Details["webhook"] != "http://"+hook.srv.Listener.Addr().String()+"/…" {
		t.Errorf("notify_update audit %v, want one event with the webhook redacted", stored)
	}
	if strings.Contains(logs.String(), "hooksecretvalue") || strings.Contains(logs.String(), "smtp-pass-123") {
		t.Errorf("the log holds a secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "HTTP 500") {
		t.Errorf("the failed webhook was not logged with its cause:\n%s", logs.String())
	}
	if got := counter(t, reg, "webhook", "sent"); got != 2 {
		t.Errorf("node-a's webhook sent counter %v, want 2", got)
	}
}

func TestExpiryNoticeCoversLargerThresholds(t *testing.T) {
	// The token starts 5 days from its expiry: the 30-day notice is moot.
	in, hook, ms := startNotified(t, "5d", "90d")
	exp := *in.token(t, "triage").ExpiresAt
	reg := prometheus.NewRegistry()
	j := job(t, in, ms, "node-a", nil, reg)
	runOnce(t, j)
	runOnce(t, j)
	if p := hook.posts(); len(p) != 1 || p[0]["threshold_days"] != float64(7) {
		t.Fatalf("webhook posts %v, want one 7-day notice", p)
	}
	if e := in.audit(t, botgate.ActionExpiryNotice); len(e) != 2 || e[0].Details["covers_threshold_days"] != "30" {
		t.Errorf("audit %v, want two events covering the 30-day threshold", e)
	}
	in.clock.Set(exp.Add(-12 * time.Hour))
	runOnce(t, j)
	if p := hook.posts(); len(p) != 2 || p[1]["threshold_days"] != float64(1) {
		t.Errorf("webhook posts %v, want the 1-day notice next", p)
	}
	if got := counter(t, reg, "email", "sent"); got != 2 {
		t.Errorf("email sent counter %v, want 2", got)
	}
}

func TestExpiryOneNodeAtATime(t *testing.T) {
	in, hook, ms := startNotified(t, "3d", "90d")
	a := job(t, in, ms, "node-a", nil, nil)
	b := job(t, in, ms, "node-b", nil, nil)
	runOnce(t, a)
	rep, err := b.RunOnce(t.Context())
	if err != nil || !rep.Skipped {
		t.Errorf("second node: %+v, %v; want skipped while the first holds the lease", rep, err)
	}
	if len(hook.posts()) != 1 || len(ms.messages()) != 1 {
		t.Errorf("%d posts and %d emails, want one each", len(hook.posts()), len(ms.messages()))
	}
}

func TestMailerTLS(t *testing.T) {
	plain := startMailServer(t, false, "", "")
	secured := startMailServer(t, true, "botgate", "smtp-pass-123")
	tests := []struct {
		name    string
		srv     *mailServer
		cfg     notify.SMTPConfig
		wantErr string
		wantTLS bool
	}{
		{"STARTTLS when offered", secured, notify.SMTPConfig{Username: "botgate", Password: "smtp-pass-123"}, "", true},
		{"plain when not offered and not required", plain, notify.SMTPConfig{}, "", false},
		{"refused when required and not offered", plain, notify.SMTPConfig{RequireTLS: true}, "does not offer STARTTLS", false},
		{"wrong password", secured, notify.SMTPConfig{Username: "botgate", Password: "wrong-pass-456"}, "authentication", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.srv.messages())
			cfg := tt.cfg
			cfg.Host, cfg.Port, cfg.From, cfg.RootCAs = "127.0.0.1", tt.srv.port(), "botgate@example.com", tt.srv.roots
			m, err := notify.NewMailer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Send(t.Context(), []string{"team@example.com"}, "Subject with\r\nBcc: injected@example.com", "body")
			got := tt.srv.messages()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send: %v, want an error about %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), cfg.Password) && cfg.Password != "" {
					t.Errorf("the error holds the password: %v", err)
				}
				if len(got) != before {
					t.Errorf("a message was delivered despite the error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(got) != before+1 {
				t.Fatalf("%d messages, want %d", len(got), before+1)
			}
			last := got[len(got)-1]
			if last.tls != tt.wantTLS {
				t.Errorf("delivered over TLS = %v, want %v", last.tls, tt.wantTLS)
			}
			if strings.Contains(last.data, "\r\nBcc:") {
				t.Errorf("a header was injected through the subject:\n%s", last.data)
			}
		})
	}
}
