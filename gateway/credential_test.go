package gateway_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/gateway"
)

func TestConfigCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("file-secret-value\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"UPSTREAM": "env-secret-value"}
	c := &gateway.ConfigCredentials{Getenv: func(k string) string { return env[k] }}
	tests := []struct {
		name       string
		ref        string
		wantHeader string
		wantValue  string
		wantKind   botgate.Kind
		wantIs     error
	}{
		{name: "none", ref: ""},
		{name: "env", ref: "env:UPSTREAM", wantHeader: "Private-Token", wantValue: "Bearer env-secret-value"},
		{name: "file, newline trimmed", ref: "file:" + file, wantHeader: "Private-Token", wantValue: "Bearer file-secret-value"},
		{name: "empty env", ref: "env:UNSET", wantKind: botgate.KindNotFound},
		{name: "missing file", ref: "file:" + filepath.Join(dir, "absent"), wantKind: botgate.KindInternal, wantIs: fs.ErrNotExist},
		{name: "unknown scheme", ref: "vault:team/x", wantKind: botgate.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := gateway.Route{Name: "gitlab", Credential: tt.ref, Header: "Private-Token", Prefix: "Bearer "}
			h, v, err := c.Credential(context.Background(), rt, nil)
			if tt.wantKind != 0 {
				if !botgate.IsKind(err, tt.wantKind) {
					t.Fatalf("Credential(%q) error %v, want kind %v", tt.ref, err, tt.wantKind)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Credential(%q) error %v does not wrap %v", tt.ref, err, tt.wantIs)
				}
				if strings.Contains(err.Error(), "secret-value") {
					t.Errorf("error %q shows a credential", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Credential(%q): %v", tt.ref, err)
			}
			if h != tt.wantHeader || v != tt.wantValue {
				t.Errorf("Credential(%q) = %q: %q, want %q: %q", tt.ref, h, v, tt.wantHeader, tt.wantValue)
			}
		})
	}
}
