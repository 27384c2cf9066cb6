package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate/config"
)

func TestParseReportsProblemsWithLines(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each a problem line, in order
	}{
		{"UnknownKey", "listen: 127.0.0.1:8080\nlisten_adress: x\n",
			[]string{`botgate.yaml:2: listen_adress: unknown key "listen_adress"`}},
		{"UnknownNestedKey", "api:\n  rate_limt: 10/min\n",
			[]string{`botgate.yaml:2: api.rate_limt: unknown key "rate_limt"`}},
		{"WrongType", "api:\n  rate_burst: lots\n",
			[]string{`botgate.yaml:2: api.rate_burst: "lots" is not a whole number`}},
		{"GatewayDuration", "gateway:\n  loop:\n    window: soon\n",
			[]string{`botgate.yaml:3: gateway.loop.window: "soon" is not a duration such as 30s, 5m or 1h`}},
		{"GatewayListWanted", "gateway:\n  routes: {name: x}\n",
			[]string{`botgate.yaml:2: gateway.routes: a mapping is not a list`}},
		{"BadValues", "listen: localhost\nlog_level: loud\nstore: mysql://x\nredis:\n  fail: maybe\n",
			[]string{
				`botgate.yaml:1:9: listen: "localhost" is not an address: write host:port`,
				`botgate.yaml:2:12: log_level: "loud" is not a log level`,
				`botgate.yaml:3:8: store: store must be sqlite or a postgres:// URL`,
				`botgate.yaml:5:9: redis.fail: "maybe": write open`,
			}},
		{"TrustedProxiesAtTheTop", "gateway:\n  trusted_proxies: [10.0.0.1]\n",
			[]string{`botgate.yaml:2:20: gateway.trusted_proxies: put trusted_proxies at the top level`}},
		{"GatewayRule", "gateway:\n  routes:\n    - {name: a, upstream: 'ftp://x'}\n",
			[]string{`botgate.yaml:`, `routes[0]`}},
		{"TLSHalf", "tls:\n  cert_file: /nonexistent/cert.pem\n",
			[]string{`botgate.yaml:2:3: tls: tls needs both cert_file and key_file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("botgate.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse accepted the file")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("problems:\n%s\nwant one containing %q", msg, w)
				}
			}
			for _, goName := range []string{"time.Duration", "config.", "gateway.", "[]string", "int64", "!!"} {
				if strings.Contains(strings.ReplaceAll(msg, "gateway.loop", ""), goName) && !strings.Contains(tc.yaml, goName) {
					// "gateway." is the section's own name in a path.
					if goName == "gateway." && !strings.Contains(msg, "type gateway") {
						continue
					}
					t.Errorf("problems speak of Go types (%q):\n%s", goName, msg)
				}
			}
		})
	}
}

func TestSettingsAndGateway(t *testing.T) {
	f, err := config.Parse("botgate.yaml", []byte(`
listen: 127.0.0.1:9000
trusted_proxies: [10.0.0.0/8]
proxy: {listen: 127.0.0.1:9001}
gateway:
  routes: [{name: gitlab, upstream: "https://gitlab.example.com", gitlab: true}]
notifications:
  webhooks: {"*": "https://hooks.example.com/x"}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range f.Settings() {
		got[s.Flag] = s.Value
	}
	for flag, want := range map[string]string{"listen": "127.0.0.1:9000", "proxy-listen": "127.0.0.1:9001", "trusted-proxy": "10.0.0.0/8"} {
		if got[flag] != want {
			t.Errorf("setting %s = %q, want %q", flag, got[flag], want)
		}
	}
	if _, ok := got["store"]; ok {
		t.Error("an absent key became a setting")
	}
	g := f.GatewayConfig()
	if g == nil || len(g.Routes) != 1 || g.TrustedProxies[0] != "10.0.0.0/8" || g.Webhooks["*"] == "" {
		t.Fatalf("gateway configuration %+v: want the route, the top-level trusted proxies and the webhooks", g)
	}
}

func TestExampleIsValid(t *testing.T) {
	path := filepath.Join("..", "examples", "botgate.yaml")
	if _, err := config.Load(path); err != nil {
		t.Fatalf("examples/botgate.yaml: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Each top-level key of the file is documented in docs/configuration.md.
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && k != "" && !strings.HasPrefix(k, " ") && !strings.HasPrefix(k, "#") {
			if !strings.Contains(string(doc), "`"+k+"`") {
				t.Errorf("docs/configuration.md does not describe %q", k)
			}
		}
	}
}

func TestExpiryNotices(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pwFile, []byte("file-secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("botgate.yaml", []byte(`
notifications:
  expiry: {thresholds: [14, 3], interval: 30m}
  smtp:
    host: smtp.example.com
    port: 587
    from: botgate@example.com
    username: botgate
    password_file: `+pwFile+`
    require_starttls: true
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.ExpiryNotices(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Thresholds) != 2 || s.Interval != 30*time.Minute || s.SMTP == nil || s.SMTP.Password != "file-secret-1" ||
		!s.SMTP.RequireTLS || s.SMTP.Port != 587 || s.SMTP.From != "botgate@example.com" {
		t.Errorf("ExpiryNotices = %+v (smtp %+v)", s, s.SMTP)
	}

	f, err = config.Parse("botgate.yaml", []byte(`
notifications:
  smtp: {host: smtp.example.com, from: botgate@example.com, username: botgate, password_env: SMTP_PW}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.ExpiryNotices(func(k string) string { return map[string]string{"SMTP_PW": "env-secret-2"}[k] }); err != nil || s.SMTP.Password != "env-secret-2" {
		t.Errorf("password from the environment: %+v, %v", s.SMTP, err)
	}
	if _, err := f.ExpiryNotices(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "SMTP_PW") {
		t.Errorf("an unset password variable: %v, want an error naming it", err)
	}

	_, err = config.Parse("botgate.yaml", []byte(`
notifications:
  expiry: {thresholds: [0], interval: soon}
  smtp: {from: "not an address", password: inline-secret-3}
`))
	if err == nil {
		t.Fatal("bad notification settings were accepted")
	}
	for _, want := range []string{"notifications.expiry.thresholds[0]", "notifications.expiry.interval", "notifications.smtp.password",
		"notifications.smtp.from", "smtp needs a host"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems do not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "inline-secret-3") {
		t.Errorf("the problems echo the inline password:\n%v", err)
	}
}
