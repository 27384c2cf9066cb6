package cliout

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, format string
		allowed      []string
		wantMsg      string
	}{
		{name: "text by default", format: "text"},
		{name: "json by default", format: "json"},
		{name: "sarif not by default", format: "sarif", wantMsg: `--output must be text or json, not "sarif"`},
		{name: "sarif when offered", format: "sarif", allowed: []string{Text, JSON, SARIF}},
		{name: "three named", format: "yaml", allowed: []string{Text, JSON, SARIF}, wantMsg: `--output must be text, json or sarif, not "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.format, tt.allowed...)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if !botgate.IsKind(err, botgate.KindInvalid) || botgate.MessageOf(err) != tt.wantMsg {
				t.Fatalf("Check = %v (kind %v), want %q", err, botgate.KindOf(err), tt.wantMsg)
			}
		})
	}
}

func TestShow(t *testing.T) {
	tests := []struct {
		name, format string
		v            any
		want         string
	}{
		{name: "nil list is an empty JSON array", format: JSON, v: []apiclient.User(nil), want: "[]\n"},
		{name: "empty list is a header", format: Text, v: []apiclient.Group{}, want: "ID  PATH  NAME  VISIBILITY\n"},
		{name: "object details", format: Text, v: apiclient.ServiceAccount{ID: 3, Username: "bot", Name: "Bot"},
			want: "ID:       3\nUsername: bot\nName:     Bot\nEmail:    -\n"},
		{name: "token kind and role", format: Text, v: apiclient.Token{ID: 1, Name: "ci", Kind: "project", AccessLevel: 30, Active: true},
			want: "ID:          1\nName:        ci\nDescription: -\nKind:        project\nScopes:      \nUser:        0\nRole:        developer (30)\nState:       active\nCreated:     -\nLast used:   -\nExpires:     never\n"},
		{name: "secrets table", format: Text, v: []apiwire.Secret{{ID: 2, Name: "k", KeyID: "m1", UpdatedAt: "2027-01-01"}},
			want: "ID  NAME  BOUND TO  KEY  UPDATED     LAST READ  DESCRIPTION\n2   k     -         m1   2027-01-01  -          \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Show(&b, tt.format, tt.v, nil); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("Show =\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
	if err := Detail(&bytes.Buffer{}, 42); err == nil {
		t.Error("Detail of a type with no text form succeeded")
	}
}

func TestSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.token")
	s, err := CreateSecretFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateSecretFile(path); !botgate.IsKind(err, botgate.KindInvalid) || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second CreateSecretFile = %v", err)
	}
	v := apiclient.Token{ID: 7, Token: "glpat-secret"}
	if err := s.Finish(&v, nil, "no secret for %d", ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "glpat-secret\n" || fi.Mode().Perm() != 0o600 || v.Token != "" || v.TokenFile != path {
		t.Errorf("file %q mode %v, view %+v", b, fi.Mode().Perm(), v)
	}
	var out bytes.Buffer
	if err := NewSecret(v, "Created.")(&out); err != nil || strings.Contains(out.String(), "glpat-") ||
		!strings.HasSuffix(out.String(), "Token written to "+path+" (mode 0600).\n") {
		t.Errorf("NewSecret = %q, %v", out.String(), err)
	}

	// A token without a secret is refused, and the unused file removed.
	path2 := filepath.Join(t.TempDir(), "other.token")
	s2, _ := CreateSecretFile(path2)
	if err := s2.Finish(&apiclient.Token{ID: 9}, nil, "no secret for %d", ""); !botgate.IsKind(err, botgate.KindInternal) || botgate.MessageOf(err) != "no secret for 9" {
		t.Errorf("Finish without a secret = %v", err)
	}
	if _, err := os.Stat(path2); !os.IsNotExist(err) {
		t.Errorf("the unused file is still there: %v", err)
	}
}

func TestReissue(t *testing.T) {
	newExp := "2027-03-01"
	rep := &apiwire.ReissueReport{ExpiringWithin: "30d", Tokens: []apiwire.ReissueItem{
		{TokenID: 7, Token: "triage", Automation: "triage", Team: "platform", OldExpiresAt: "2026-12-10", NewTokenID: 9,
			NewExpiresAt: &newExp, VaultPath: "vault:platform/triage.token"},
		{TokenID: 8, Token: "loader", Automation: "loader", Team: "data", OldExpiresAt: "2026-12-04", Error: "Token not found"},
	}}
	var b strings.Builder
	if err := Reissue(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VAULT PATH", "vault:platform/triage.token", "2027-03-01", "error: Token not found", "1 of 2 token(s) reissued; 1 failed."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("reissue table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := Reissue(&b, &apiwire.ReissueReport{ExpiringWithin: "7d"}); err != nil || !strings.Contains(b.String(), "No manifest-managed token expires within 7d.") {
		t.Errorf("empty report: %q, %v", b.String(), err)
	}
}
