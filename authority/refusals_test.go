package authority_test

import (
	"regexp"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
)

// statusLine matches a message that starts with an HTTP status, which only
// the HTTP edge may render.
var statusLine = regexp.MustCompile(`^[1-5][0-9][0-9]\b`)

// TestRefusalsArePlain checks that refusals carry a kind, a reason where
// their wording differs, and a plain message without any HTTP status.
func TestRefusalsArePlain(t *testing.T) {
	e := newEnv(t)
	w := e.world()
	tests := []struct {
		name   string
		call   func() error
		kind   botgate.Kind
		reason botgate.Reason
		msg    string
	}{
		{"a non-administrator creates a user", func() error {
			_, err := e.svc.CreateUser(e.ctx, w.owner, authority.NewUser{Username: "frank", Email: "frank@example.com"})
			return err
		}, botgate.KindForbidden, "", "only administrators may create users"},
		{"a maintainer grants Owner", func() error {
			_, err := e.svc.AddMember(e.ctx, w.maint, w.projectRes(), w.outsider.User.ID, botgate.OwnerAccess, nil)
			return err
		}, botgate.KindForbidden, "", "you cannot grant a role above your own (Maintainer)"},
		{"a developer adds a member", func() error {
			_, err := e.svc.AddMember(e.ctx, w.dev, w.projectRes(), w.outsider.User.ID, botgate.GuestAccess, nil)
			return err
		}, botgate.KindForbidden, "", "requires the Maintainer role on this project; you have Developer"},
		{"a non-administrator reads the audit log", func() error {
			_, err := e.svc.AuditEvents(e.ctx, w.owner, botgate.AuditFilter{})
			return err
		}, botgate.KindForbidden, "", ""},
		{"deleting a group with a project", func() error {
			return e.svc.DeleteGroup(e.ctx, w.owner, w.group.ID)
		}, botgate.KindConflict, botgate.ReasonNotEmpty, "the group still has 1 projects; delete them first"},
		{"a malformed token", func() error {
			_, err := e.auth("not-a-token", authority.PurposeAPI)
			return err
		}, botgate.KindUnauthenticated, botgate.ReasonTokenMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantKind(t, err, tt.kind)
			if r := botgate.ReasonOf(err); r != tt.reason {
				t.Errorf("reason = %q, want %q", r, tt.reason)
			}
			if m := botgate.MessageOf(err); m != tt.msg {
				t.Errorf("message = %q, want %q", m, tt.msg)
			}
			if m := botgate.MessageOf(err); statusLine.MatchString(m) {
				t.Errorf("message %q carries an HTTP status; the HTTP edge renders it", m)
			}
		})
	}
}
