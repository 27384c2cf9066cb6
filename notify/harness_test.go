package notify_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/manifest"
	"github.com/botgate/botgate/ratelimit"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/vault"
)

// mail is one message the test SMTP server accepted.
type mail struct {
	from string
	to   []string
	data string
	tls  bool
	user string
}

// mailServer is a real SMTP server (go-smtp) on loopback, offering
// STARTTLS when it has a certificate and requiring AUTH PLAIN when it has
// a username.
type mailServer struct {
	addr       string
	roots      *x509.CertPool
	user, pass string
	mu         sync.Mutex
	got        []mail
}

func (m *mailServer) messages() []mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail(nil), m.got...)
}

func (m *mailServer) port() int {
	_, p, _ := net.SplitHostPort(m.addr)
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

// startMailServer starts the server; withTLS gives it a certificate for
// 127.0.0.1 (so it offers STARTTLS), user/pass make authentication
// required.
func startMailServer(t *testing.T, withTLS bool, user, pass string) *mailServer {
	t.Helper()
	m := &mailServer{user: user, pass: pass}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{m: m, c: c}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		ts := httptest.NewTLSServer(http.NotFoundHandler())
		t.Cleanup(ts.Close)
		s.TLSConfig = &tls.Config{Certificates: ts.TLS.Certificates}
		m.roots = x509.NewCertPool()
		m.roots.AddCert(ts.Certificate())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return m
}

type session struct {
	m    *mailServer
	c    *smtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.m.user == "" || user != s.m.user || pass != s.m.pass {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.m.mu.Lock()
	s.m.got = append(s.m.got, mail{from: s.from, to: s.to, data: string(b), tls: isTLS, user: s.user})
	s.m.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// hookSecret is the part of the webhook URL that is a credential.
const hookSecret = "T0001/B0002/hooksecretvalue"

// webhook is an httptest receiver of Slack-compatible webhooks at
// /services/<hookSecret>; while failing it answers 500.
type webhook struct {
	srv     *httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	got     []map[string]any
}

func startWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/"+hookSecret || r.Header.Get("Content-Type") != "application/json" {
			http.NotFound(rw, r)
			return
		}
		if w.failing.Load() {
			http.Error(rw, "down", http.StatusInternalServerError)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(rw, "bad json", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, body)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) url() string { return w.srv.URL + "/services/" + hookSecret }

func (w *webhook) posts() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.got...)
}

// instance is a real botgate instance on a SQLite file: the authority and
// governance as botgate itself, on a manual clock.
type instance struct {
	path  string
	store botgate.Store
	auth  *authority.Service
	gov   *governance.Governor
	clock *ratelimit.ManualClock
	kr    *vault.Keyring
	vault *authority.Vault
}

var start = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func newInstance(t *testing.T) *instance {
	in := &instance{path: filepath.Join(t.TempDir(), "botgate.db"), clock: ratelimit.NewManualClock(start)}
	in.open(t)
	return in
}

// open opens (or reopens, as a restarted server does) the store and the
// authority on the same database.
func (in *instance) open(t *testing.T) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), in.path)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authority.New(authority.Config{Store: st, Pepper: bytes.Repeat([]byte("k"), 32), Clock: in.clock, UsageFlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if in.kr == nil {
		raw := make([]byte, vault.KeySize)
		rand.Read(raw)
		key, err := vault.NewMasterKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if in.kr, err = vault.NewKeyring(rand.Reader, key); err != nil {
			t.Fatal(err)
		}
	}
	in.vault = auth.Vault(in.kr)
	gov, err := governance.New(governance.Config{Authority: auth, Store: st, Vault: in.vault})
	if err != nil {
		t.Fatal(err)
	}
	in.store, in.auth, in.gov = st, auth, gov
	t.Cleanup(func() {
		auth.Close()
		st.Close()
	})
}

// apply plans and applies the manifest src.
func (in *instance) apply(t *testing.T, src string) {
	t.Helper()
	m, err := manifest.ParseNamed("test.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := in.gov.Plan(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.gov.Apply(t.Context(), ch, governance.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// token returns the unrevoked token of the automation.
func (in *instance) token(t *testing.T, automation string) *botgate.Token {
	t.Helper()
	var out *botgate.Token
	err := in.store.View(t.Context(), func(tx botgate.Tx) error {
		ts, _, err := tx.FindTokens(t.Context(), botgate.TokenFilter{Automation: automation, Revoked: new(bool)})
		if err == nil && len(ts) == 1 {
			out = ts[0]
		}
		return err
	})
	if err != nil || out == nil {
		t.Fatalf("the token of %s: %v", automation, err)
	}
	return out
}

// audit returns the events of the action.
func (in *instance) audit(t *testing.T, action string) []*botgate.AuditEvent {
	t.Helper()
	if err := in.auth.SyncAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
	var out []*botgate.AuditEvent
	err := in.store.View(t.Context(), func(tx botgate.Tx) error {
		var err error
		out, err = tx.FindAudit(t.Context(), botgate.AuditFilter{Action: action})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
