package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig says how to send email. Host and From are required.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 (submission).
	Port int
	// From is the sender's address.
	From string
	// Username and Password authenticate (PLAIN, only over TLS or to
	// localhost); no Username, no authentication. Password comes from a
	// file or the environment, never from the configuration file itself.
	Username string
	Password string
	// RequireTLS refuses to send unless the server offers STARTTLS; without
	// it, STARTTLS is still used whenever the server offers it.
	RequireTLS bool
	// RootCAs verifies the server's certificate (default the system's).
	RootCAs *x509.CertPool
	// Timeout bounds one message's delivery (default 30s).
	Timeout time.Duration
}

// Mailer sends plain-text email through one SMTP server.
type Mailer struct{ cfg SMTPConfig }

// NewMailer checks cfg and returns a Mailer.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, errors.New("notify: the SMTP host and from address are required")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("notify: the SMTP from address %q is not an email address", cfg.From)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Mailer{cfg: cfg}, nil
}

// Send delivers one plain-text message to every address of to. Its errors
// name the step that failed and the server's answer, never the password.
func (m *Mailer) Send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return errors.New("no recipient")
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting to the SMTP server %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("SMTP STARTTLS with %s: %w", addr, err)
		}
	} else if m.cfg.RequireTLS {
		return fmt.Errorf("the SMTP server %s does not offer STARTTLS, and smtp.require_starttls is set: nothing was sent", addr)
	}
	if m.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return fmt.Errorf("SMTP authentication as %s: %w", m.cfg.Username, err)
		}
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("SMTP RCPT TO %s: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(m.message(to, subject, body, time.Now())); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	return c.Quit()
}

// message is the RFC 5322 message: headers and a body with CRLF line
// ends. Header values lose any line break, so that no value can add a
// header.
func (m *Mailer) message(to []string, subject, body string, now time.Time) []byte {
	oneLine := strings.NewReplacer("\r", " ", "\n", " ")
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + oneLine.Replace(v) + "\r\n") }
	header("From", m.cfg.From)
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	for line := range strings.SplitSeq(body, "\n") {
		b.WriteString(line + "\r\n")
	}
	return []byte(b.String())
}
