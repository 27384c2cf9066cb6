package manifest

import (
	"bytes"
	"strings"
	"testing"
)

const notifyManifest = `version: 1
teams:
  - path: platform
    notify:
      webhook: https://hooks.slack.com/services/T000/B000/hooksecretpart
      email: [platform@example.com, oncall@example.com]
  - path: quiet
`

func TestPlanTeamNotify(t *testing.T) {
	m, err := ParseNamed("notify.yaml", strings.NewReader(notifyManifest))
	if err != nil {
		t.Fatal(err)
	}
	live := State{Groups: []LiveGroup{{ID: 1, FullPath: "platform"}, {ID: 2, FullPath: "quiet"}},
		TeamNotify: []LiveTeamNotify{{Team: "quiet", Email: []string{"old@example.com"}}}}
	ch := Plan(m, live, t0)
	if got := count(ch, OpSetTeamNotify); got != 2 {
		t.Fatalf("plan has %d set_team_notify steps, want 2 (platform declares, quiet removes): %v", got, ops(ch))
	}
	var set, clear *NotifySpec
	for _, a := range ch.Actions {
		if a.Op == OpSetTeamNotify && a.Notify.Team == "platform" {
			set = a.Notify
		} else if a.Op == OpSetTeamNotify {
			clear = a.Notify
		}
	}
	if set.Webhook != "https://hooks.slack.com/services/T000/B000/hooksecretpart" || len(set.Email) != 2 {
		t.Errorf("platform's step %+v: want the URL for Apply and both addresses", set)
	}
	if clear.Team != "quiet" || clear.Webhook != "" || len(clear.Email) != 0 {
		t.Errorf("quiet's step %+v: want an empty spec (remove)", clear)
	}
	var js bytes.Buffer
	if err := ch.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": ch.Text(), "json": js.String()} {
		if strings.Contains(out, "hooksecretpart") || strings.Contains(out, "/services/") {
			t.Errorf("plan %s shows the webhook URL:\n%s", name, out)
		}
		if !strings.Contains(out, "https://hooks.slack.com/…") {
			t.Errorf("plan %s does not show the webhook's redacted form:\n%s", name, out)
		}
	}

	// Once stored, the plan is empty: the digest matches.
	live.TeamNotify = []LiveTeamNotify{{Team: "platform", WebhookDigest: WebhookDigest(set.Webhook),
		WebhookShown: set.WebhookShown, Email: set.Email}}
	if ch := Plan(m, live, t0); count(ch, OpSetTeamNotify) != 0 {
		t.Errorf("plan after storing: %v, want no set_team_notify", ops(ch))
	}
}

func TestTeamNotifyValidation(t *testing.T) {
	src := `version: 1
teams:
  - path: platform
    notify:
      webhook: "ftp://user:topsecret@example.com/x"
      email: ["Ops <ops@example.com>", "not-an-address"]
`
	_, err := ParseNamed("bad.yaml", strings.NewReader(src))
	if err == nil {
		t.Fatal("a bad webhook and bad addresses were accepted")
	}
	msg := err.Error()
	for _, want := range []string{"teams[0].notify.webhook", "teams[0].notify.email[0]", "teams[0].notify.email[1]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "topsecret") {
		t.Errorf("error echoes the webhook URL:\n%s", msg)
	}
}
