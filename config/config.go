// Package config reads botgate.yaml, the one configuration file of a
// botgate installation: listen addresses, TLS, the data directory and the
// store, Redis, the trusted proxies (one list for the API and the
// gateway), the API's limits, the gateway's routes and limits, and
// notifications. serve and every offline command read it (--config or
// BOTGATE_CONFIG); a flag or an environment variable overrides the file.
package config

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/gateway"
	"github.com/botgate/botgate/internal/yamlfile"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/notify"
)

// EnvFile is the environment variable naming the configuration file.
const EnvFile = "BOTGATE_CONFIG"

// MaxSize is the largest configuration file Load reads.
const MaxSize = 4 << 20

// File is botgate.yaml. Every key is optional; an absent one leaves the
// flag's default.
type File struct {
	// Listen is the API's address (--listen).
	Listen string `yaml:"listen"`
	// DataDir is the data directory (--data-dir).
	DataDir string `yaml:"data_dir"`
	// Store is sqlite or a postgres:// URL (--store).
	Store string `yaml:"store"`
	// LogLevel is debug, info, warn or error (--log-level).
	LogLevel string `yaml:"log_level"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// -Proto and -Host are believed, by the API and the gateway alike.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// TLS serves the API and the proxy over HTTPS.
	TLS TLS `yaml:"tls"`
	// API configures the management API's limits and timeouts.
	API API `yaml:"api"`
	// Redis shares limits, the loop breaker and revocations between nodes.
	Redis Redis `yaml:"redis"`
	// Proxy is botgate's own reverse proxy.
	Proxy Proxy `yaml:"proxy"`
	// Gateway holds the gateway's routes, limits and loop breaker, as
	// docs/gateway.md describes them (trusted_proxies is the top level's).
	Gateway *gateway.FileConfig `yaml:"gateway"`
	// Notifications says whom botgate tells about events.
	Notifications Notifications `yaml:"notifications"`

	file string
	pos  yamlfile.Positions
}

// TLS names the certificate and key files (PEM). Both or neither; they are
// read again on SIGHUP.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// API configures the management API.
type API struct {
	RateLimit         string `yaml:"rate_limit"`
	RateBurst         int    `yaml:"rate_burst"`
	ReadHeaderTimeout string `yaml:"read_header_timeout"`
	BodyReadTimeout   string `yaml:"body_read_timeout"`
	AuthCacheTTL      string `yaml:"auth_cache_ttl"`
}

// Redis configures the shared Redis.
type Redis struct {
	URL    string `yaml:"url"`
	Prefix string `yaml:"prefix"`
	// Fail is open or closed: what happens while Redis is unreachable.
	Fail string `yaml:"fail"`
}

// Proxy configures botgate's reverse proxy.
type Proxy struct {
	Listen        string `yaml:"listen"`
	MetricsPublic bool   `yaml:"metrics_public"`
}

// Notifications says whom botgate tells about events. Webhooks maps a
// team (a group's full path, or "*" for the rest) to the URL told when one
// of its tokens trips the loop breaker. Expiry tunes the expiry notices,
// which go to the destinations each team declares in the manifest
// (teams[].notify); SMTP is the mail server they are sent through.
type Notifications struct {
	Webhooks map[string]string `yaml:"webhooks"`
	Expiry   Expiry            `yaml:"expiry"`
	SMTP     SMTP              `yaml:"smtp"`
}

// Expiry tunes the expiry notices.
type Expiry struct {
	// Thresholds are the days before a token's expiry at which its team is
	// told (default 30, 7 and 1).
	Thresholds []int `yaml:"thresholds"`
	// Interval is how often tokens are checked (default 1h).
	Interval string `yaml:"interval"`
}

// SMTP is the mail server expiry notices are sent through. The password
// is read from PasswordFile or the environment variable PasswordEnv, never
// written in this file.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	From         string `yaml:"from"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// Password is refused: it is here so that the refusal can say where
	// the password goes instead.
	Password string `yaml:"password"`
	// RequireSTARTTLS refuses to send over a connection the server does
	// not offer to encrypt (STARTTLS is used whenever offered).
	RequireSTARTTLS bool `yaml:"require_starttls"`
}

// Load reads and checks the configuration file at path. Problems are
// reported as a *yamlfile.Errors, each as file:line:column: key: what to
// do.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInvalid, "reading the configuration file: %v", err)
	}
	return Parse(path, data)
}

// Parse reads and checks a configuration file's content; file names it in
// problems.
func Parse(file string, data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, &yamlfile.Errors{Problems: []yamlfile.Problem{{File: file, Line: 1, Message: fmt.Sprintf("the file is larger than %d bytes", MaxSize)}}}
	}
	f := &File{file: file}
	pos, err := yamlfile.Decode(file, data, f)
	if err != nil {
		return nil, err
	}
	f.pos = pos
	if ps := f.check(); len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool {
			if ps[i].Line != ps[j].Line {
				return ps[i].Line < ps[j].Line
			}
			return ps[i].Column < ps[j].Column
		})
		return nil, &yamlfile.Errors{Problems: ps}
	}
	return f, nil
}

// Name is the file's name as given to Load.
func (f *File) Name() string { return f.file }

// check validates every value, returning every problem at once.
func (f *File) check() []yamlfile.Problem {
	var ps []yamlfile.Problem
	bad := func(path, format string, args ...any) {
		ps = append(ps, f.pos.At(f.file, path, fmt.Sprintf(format, args...)))
	}
	addr := func(path, v string) {
		if v == "" {
			return
		}
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			bad(path, "%q is not an address: write host:port, such as 127.0.0.1:8080 or :8443", v)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(path, "port %q is not a number from 0 to 65535", port)
		}
	}
	duration := func(path, v string) {
		if v == "" {
			return
		}
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err != nil || d <= 0 {
			bad(path, "%q is not a positive duration such as 30s, 5m or 1h", v)
		}
	}
	addr("listen", f.Listen)
	addr("proxy.listen", f.Proxy.Listen)
	if f.Store != "" && f.Store != "sqlite" && !strings.HasPrefix(f.Store, "postgres://") && !strings.HasPrefix(f.Store, "postgresql://") {
		// Never echo the value: a URL can hold a password.
		bad("store", "store must be sqlite or a postgres:// URL")
	}
	switch strings.ToLower(f.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not a log level: write debug, info, warn or error", f.LogLevel)
	}
	if _, err := edge.ParseTrust(f.TrustedProxies); err != nil {
		bad("trusted_proxies", "%s", botgate.MessageOf(err))
	}
	switch {
	case (f.TLS.CertFile == "") != (f.TLS.KeyFile == ""):
		bad("tls", "tls needs both cert_file and key_file")
	case f.TLS.CertFile != "":
		for path, v := range map[string]string{"tls.cert_file": f.TLS.CertFile, "tls.key_file": f.TLS.KeyFile} {
			if _, err := os.Stat(v); err != nil {
				bad(path, "cannot read %s: %v", v, unwrapPath(err))
			}
		}
	}
	if f.API.RateLimit != "" {
		if _, err := manifest.ParseRateLimit(f.API.RateLimit); err != nil {
			bad("api.rate_limit", "%s", botgate.MessageOf(err))
		}
	}
	if f.API.RateBurst < 0 {
		bad("api.rate_burst", "rate_burst must be at least 1")
	}
	duration("api.read_header_timeout", f.API.ReadHeaderTimeout)
	duration("api.body_read_timeout", f.API.BodyReadTimeout)
	duration("api.auth_cache_ttl", f.API.AuthCacheTTL)
	if f.Redis.URL != "" && !strings.HasPrefix(f.Redis.URL, "redis://") && !strings.HasPrefix(f.Redis.URL, "rediss://") {
		bad("redis.url", "redis.url must be a redis:// or rediss:// URL")
	}
	switch f.Redis.Fail {
	case "", "open", "closed":
	default:
		bad("redis.fail", "%q: write open (limit per node, stay ready) or closed (refuse, not ready)", f.Redis.Fail)
	}
	f.checkNotifications(bad, duration)
	if g := f.Gateway; g != nil {
		if len(g.TrustedProxies) > 0 {
			bad("gateway.trusted_proxies", "put trusted_proxies at the top level: one list serves the API and the gateway")
		}
		if len(g.Webhooks) > 0 {
			bad("gateway.webhooks", "put webhooks under notifications.webhooks")
		}
	}
	if gw := f.GatewayConfig(); gw != nil {
		if err := gw.Validate(); err != nil {
			path := "gateway"
			if field := botgate.FieldOf(err); field != "" {
				path = "gateway." + field
			}
			msg := botgate.MessageOf(err)
			if field := botgate.FieldOf(err); field != "" {
				msg = strings.TrimPrefix(msg, field+": ")
			}
			bad(path, "%s", msg)
		}
	}
	return ps
}

// GatewayConfig is the gateway's configuration the file describes, with
// the top level's trusted proxies and the notifications' webhooks; nil
// when the file says nothing of the gateway.
func (f *File) GatewayConfig() *gateway.FileConfig {
	if f.Gateway == nil && len(f.Notifications.Webhooks) == 0 {
		return nil
	}
	var g gateway.FileConfig
	if f.Gateway != nil {
		g = *f.Gateway
	}
	g.TrustedProxies = f.TrustedProxies
	g.Webhooks = f.Notifications.Webhooks
	return &g
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Setting is one value of the file that a command-line flag and an
// environment variable also set: the flag wins, then the variable, then
// the file.
type Setting struct {
	Flag, Env, Value string
}

// Settings are the file's values that flags also set, as the flags'
// text.
func (f *File) Settings() []Setting {
	all := []Setting{
		{"listen", "BOTGATE_LISTEN", f.Listen},
		{"data-dir", "BOTGATE_DATA_DIR", f.DataDir},
		{"store", "BOTGATE_STORE", f.Store},
		{"log-level", "BOTGATE_LOG_LEVEL", f.LogLevel},
		{"trusted-proxy", "BOTGATE_TRUSTED_PROXIES", strings.Join(f.TrustedProxies, ",")},
		{"tls-cert", "BOTGATE_TLS_CERT", f.TLS.CertFile},
		{"tls-key", "BOTGATE_TLS_KEY", f.TLS.KeyFile},
		{"api-rate-limit", "BOTGATE_API_RATE_LIMIT", f.API.RateLimit},
		{"read-header-timeout", "BOTGATE_READ_HEADER_TIMEOUT", f.API.ReadHeaderTimeout},
		{"body-read-timeout", "BOTGATE_BODY_READ_TIMEOUT", f.API.BodyReadTimeout},
		{"auth-cache-ttl", "BOTGATE_AUTH_CACHE_TTL", f.API.AuthCacheTTL},
		{"redis", "BOTGATE_REDIS", f.Redis.URL},
		{"redis-prefix", "BOTGATE_REDIS_PREFIX", f.Redis.Prefix},
		{"redis-fail", "BOTGATE_REDIS_FAIL", f.Redis.Fail},
		{"proxy-listen", "BOTGATE_PROXY_LISTEN", f.Proxy.Listen},
	}
	if f.API.RateBurst > 0 {
		all = append(all, Setting{"api-rate-burst", "", strconv.Itoa(f.API.RateBurst)})
	}
	if f.Proxy.MetricsPublic {
		all = append(all, Setting{"metrics-public", "BOTGATE_METRICS_PUBLIC", "true"})
	}
	var out []Setting
	for _, s := range all {
		if s.Value != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkNotifications checks the expiry and SMTP settings.
func (f *File) checkNotifications(bad func(path, format string, args ...any), duration func(path, v string)) {
	for i, d := range f.Notifications.Expiry.Thresholds {
		if d < 1 || d > 365 {
			bad(fmt.Sprintf("notifications.expiry.thresholds[%d]", i), "%d is not a number of days from 1 to 365", d)
		}
	}
	duration("notifications.expiry.interval", f.Notifications.Expiry.Interval)
	s := f.Notifications.SMTP
	if s.Password != "" {
		// Never echo it.
		bad("notifications.smtp.password", "do not write the SMTP password in this file: put it in a file named by password_file (mode 0600), or in the environment variable named by password_env")
	}
	if s == (SMTP{Password: s.Password}) {
		return
	}
	if s.Host == "" {
		bad("notifications.smtp", "smtp needs a host")
	}
	if s.Port < 0 || s.Port > 65535 {
		bad("notifications.smtp.port", "port %d is not a number from 1 to 65535", s.Port)
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Address != s.From {
		bad("notifications.smtp.from", "%q is not an email address: write it bare, such as botgate@example.com", s.From)
	}
	if s.PasswordFile != "" && s.PasswordEnv != "" {
		bad("notifications.smtp", "name the password once: password_file or password_env")
	}
	if (s.PasswordFile != "" || s.PasswordEnv != "") && s.Username == "" {
		bad("notifications.smtp.username", "a password needs a username")
	}
	if s.PasswordFile != "" {
		if _, err := os.Stat(s.PasswordFile); err != nil {
			bad("notifications.smtp.password_file", "cannot read %s: %v", s.PasswordFile, unwrapPath(err))
		}
	}
}

// ExpiryNotices is the expiry job's configuration the file describes, with
// the SMTP password read from its file (trailing newline trimmed) or
// environment variable. Errors never hold the password.
func (f *File) ExpiryNotices(getenv func(string) string) (notify.ExpirySettings, error) {
	out := notify.ExpirySettings{Thresholds: f.Notifications.Expiry.Thresholds}
	if v := f.Notifications.Expiry.Interval; v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return out, botgate.Invalid("notifications.expiry.interval", "%q is not a duration", v)
		}
		out.Interval = d
	}
	s := f.Notifications.SMTP
	if s.Host == "" {
		return out, nil
	}
	c := &notify.SMTPConfig{Host: s.Host, Port: s.Port, From: s.From, Username: s.Username, RequireTLS: s.RequireSTARTTLS}
	switch {
	case s.PasswordFile != "":
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return out, botgate.Invalid("notifications.smtp.password_file", "reading the SMTP password: %v", unwrapPath(err))
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	case s.PasswordEnv != "":
		c.Password = getenv(s.PasswordEnv)
		if c.Password == "" {
			return out, botgate.Invalid("notifications.smtp.password_env", "the environment variable %s named by password_env is not set", s.PasswordEnv)
		}
	}
	out.SMTP = c
	return out, nil
}
