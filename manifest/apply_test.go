package manifest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

func TestApply(t *testing.T) {
	m := example(t)
	c := Plan(m, State{}, t0)
	var s State
	ap := newStateApplier(&s, t0, 7)
	var progress bytes.Buffer
	res, err := Apply(context.Background(), c, ap, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != len(c.Actions) {
		t.Errorf("%d steps done, want %d", len(res.Steps), len(c.Actions))
	}
	issued := res.Issued()
	if len(issued) != len(m.Automations) {
		t.Fatalf("%d tokens issued, want %d", len(issued), len(m.Automations))
	}
	for _, is := range issued {
		t.Run(is.Automation, func(t *testing.T) {
			if m.Automation(is.Automation) == nil || is.TokenID == 0 || !strings.HasPrefix(is.Secret, "glpat-") {
				t.Errorf("issued = %v", is)
			}
			for _, leak := range []string{progress.String(), is.String(), c.Text()} {
				if strings.Contains(leak, is.Secret) {
					t.Error("secret appears in output")
				}
			}
		})
	}
	if lines := strings.Count(progress.String(), "\n"); lines != len(c.Actions) {
		t.Errorf("%d progress lines, want %d", lines, len(c.Actions))
	}
}

func TestApplyFailureResumes(t *testing.T) {
	m := example(t)
	tests := []struct {
		name   string
		failOn string
		err    error
		// issuedOnFailure is how many tokens the failed apply hands back.
		issuedOnFailure int
	}{
		{"project creation refused", "CreateProject", botgate.Errorf(botgate.KindForbidden, "You are not allowed to create projects"), 0},
		{"token creation refused", "CreateToken", botgate.Errorf(botgate.KindInvalid, "Access level of the token contains permissions not held by the creating user"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			ap := newStateApplier(&s, t0, 1)
			ap.failOn[tt.failOn] = tt.err
			var progress bytes.Buffer
			res, err := Apply(context.Background(), Plan(m, State{}, t0), ap, &progress)
			if err == nil {
				t.Fatal("apply succeeded")
			}
			if botgate.KindOf(err) != botgate.KindOf(tt.err) || !strings.Contains(botgate.MessageOf(err), botgate.MessageOf(tt.err)) {
				t.Errorf("err = %v", err)
			}
			if !strings.Contains(progress.String(), "failed: "+botgate.MessageOf(tt.err)) {
				t.Errorf("progress does not report the failure:\n%s", progress.String())
			}
			if got := len(res.Issued()); got != tt.issuedOnFailure {
				t.Errorf("%d issued on failure, want %d", got, tt.issuedOnFailure)
			}
			// Plan again against what exists now and finish.
			c2 := Plan(m, s, t0)
			if c2.Empty() {
				t.Fatal("nothing left to do after a failure")
			}
			if _, err := Apply(context.Background(), c2, ap, nil); err != nil {
				t.Fatal(err)
			}
			if again := Plan(m, s, t0); !again.Empty() {
				t.Errorf("not converged:\n%s", again.Text())
			}
		})
	}
}

// TestApplyReplaceKeepsNewSecret: when the old token cannot be revoked
// after the new one was issued, the new secret is still handed back, and
// the next plan revokes the leftover.
func TestApplyReplaceKeepsNewSecret(t *testing.T) {
	m := example(t)
	s, err := Simulate(Plan(m, State{}, t0), State{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	m.Automation("pipeline-poller").Scopes = []string{"read_api", "read_repository"}
	c := Plan(m, s, t0)
	if got := ops(c); len(got) != 1 || got[0] != OpReplaceToken {
		t.Fatalf("ops = %v", got)
	}
	ap := newStateApplier(&s, t0, 2)
	ap.failOn["RevokeToken"] = botgate.Errorf(botgate.KindInternal, "database is locked")
	res, err := Apply(context.Background(), c, ap, nil)
	if err == nil {
		t.Fatal("apply succeeded")
	}
	if is := res.Issued(); len(is) != 1 || is[0].Secret == "" || is[0].Automation != "pipeline-poller" {
		t.Fatalf("issued = %v", is)
	}
	c2 := Plan(m, s, t0)
	if got := ops(c2); len(got) != 1 || got[0] != OpRevokeToken || c2.Actions[0].Prune {
		t.Fatalf("want one non-prune revoke of the leftover, got:\n%s", c2.Text())
	}
	if c2.Actions[0].Old.ID != c.Actions[0].Old.ID {
		t.Errorf("revokes #%d, want the old #%d", c2.Actions[0].Old.ID, c.Actions[0].Old.ID)
	}
}

func TestApplyStopsWhenCancelled(t *testing.T) {
	m := example(t)
	var s State
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Apply(ctx, Plan(m, State{}, t0), newStateApplier(&s, t0, 3), nil)
	if err == nil || len(res.Steps) != 0 || len(s.Groups) != 0 {
		t.Errorf("apply ran on a cancelled context: err=%v steps=%d", err, len(res.Steps))
	}
}

func TestApplyTreatsAlreadyDoneAsDone(t *testing.T) {
	m := example(t)
	s, err := Simulate(Plan(m, State{}, t0), State{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	s.Tokens = append(s.Tokens, LiveToken{ID: 9100, Name: "stray", Kind: botgate.GroupAccessToken,
		Resource: Ref{botgate.GroupResource, "gitlab-org"}, Scopes: botgate.Scopes{botgate.ScopeAPI}, CreatedAt: t0})
	c := Plan(m, s, t0)
	// Someone revokes the stray token between plan and apply.
	ap := newStateApplier(&s, t0, 4)
	if err := ap.RevokeToken(context.Background(), 9100); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), c, ap, nil); err != nil {
		t.Errorf("apply failed on an already revoked token: %v", err)
	}
}

func TestIssuedNeverLogsSecret(t *testing.T) {
	is := Issued{Automation: "danger-review", TokenID: 12, Secret: "glpat-very-secret-value"}
	var b bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("issued", "token", is)
	log.Info("issued", slog.Any("token", is))
	text := slog.New(slog.NewTextHandler(&b, nil))
	text.Info("issued", "token", is)
	out := b.String() + is.String() + fmt.Sprint(is) + fmt.Sprintf("%+v", is) + fmt.Sprintf("%#v", is) + fmt.Sprintf("%#v", []Issued{is})
	if strings.Contains(out, is.Secret) {
		t.Errorf("secret leaked: %s", out)
	}
	if !strings.Contains(b.String(), `"token_id":12`) {
		t.Errorf("log lacks the token id: %s", b.String())
	}
}
