package smtprelay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/mail"
)

// Relay delivers messages to one SMTP relay, a connection per message.
//
// It uses the standard library's net/smtp: it speaks STARTTLS and implicit
// TLS (over a tls.Conn), AUTH PLAIN (which it refuses to send in clear
// except to localhost), and reports the relay's reply codes as
// *textproto.Error, which is all a relay client needs. The package is
// frozen, not abandoned: it gets security fixes with Go, and the server
// takes no new dependency for mail.
type Relay struct {
	host     string // host:port
	name     string // the host's name, for TLS and AUTH
	implicit bool   // smtps://: TLS from the first byte
	loopback bool
	user     string
	pass     string
	helo     string
	tls      *tls.Config
	timeout  time.Duration
}

// Options change a Relay.
type Options struct {
	// RootCAs verifies the relay's certificate (tests trust their own);
	// nil uses the system's.
	RootCAs *x509.CertPool
	// Helo is the name the server greets with (the public URL's host).
	Helo string
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
}

// Parse checks an --smtp-url: smtp://[user:pass@]host[:587] (STARTTLS, which
// is required unless the host is a loopback address) or
// smtps://[user:pass@]host[:465] (implicit TLS).
func Parse(raw string, opt Options) (*Relay, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("smtprelay: --smtp-url is not a URL")
	}
	r := &Relay{helo: opt.Helo, timeout: opt.Timeout}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "587"
	case "smtps":
		port, r.implicit = "465", true
	default:
		return nil, errors.New("smtprelay: --smtp-url must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("smtprelay: --smtp-url must be smtp://user:pass@host:port with nothing after the port")
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("smtprelay: --smtp-url has a bad port")
		}
		port = u.Port()
	}
	r.name = u.Hostname()
	r.host = net.JoinHostPort(r.name, port)
	r.loopback = isLoopback(r.name)
	if u.User != nil {
		r.user = u.User.Username()
		r.pass, _ = u.User.Password()
	}
	if r.helo == "" {
		r.helo = "localhost"
	}
	if r.timeout <= 0 {
		r.timeout = 30 * time.Second
	}
	r.tls = &tls.Config{ServerName: r.name, RootCAs: opt.RootCAs, MinVersion: tls.VersionTLS12}
	return r, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String is the relay without its password, for logs.
func (r *Relay) String() string {
	scheme := "smtp"
	if r.implicit {
		scheme = "smtps"
	}
	user := ""
	if r.user != "" {
		user = r.user + "@"
	}
	return scheme + "://" + user + r.host
}

// stage names where a delivery failed: only a refusal of the message
// itself (its sender, recipient or content) is permanent. A refusal of the
// greeting, TLS or the login is the relay's or its configuration's, which
// may be fixed: those are tried again.
type stage int

const (
	stageConnect stage = iota
	stageMessage
)

// Send implements mail.Sender.
func (r *Relay) Send(ctx context.Context, m *mail.Message) error {
	err := r.send(ctx, m)
	if err == nil {
		return nil
	}
	var se *stageErr
	if errors.As(err, &se) && se.stage == stageMessage {
		var te *textproto.Error
		if errors.As(se.err, &te) && te.Code >= 500 && te.Code < 600 {
			return fmt.Errorf("%w: %s", mail.ErrPermanent, te.Error())
		}
	}
	return err
}

type stageErr struct {
	stage stage
	what  string
	err   error
}

func (e *stageErr) Error() string { return e.what + ": " + e.err.Error() }
func (e *stageErr) Unwrap() error { return e.err }

func (r *Relay) send(ctx context.Context, m *mail.Message) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	fail := func(st stage, what string, err error) error { return &stageErr{stage: st, what: what, err: err} }
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", r.host)
	if err != nil {
		return fail(stageConnect, "connect to "+r.host, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// The context may end before the deadline (a stop): close the
	// connection then, which ends whatever waits on it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if r.implicit {
		tc := tls.Client(conn, r.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fail(stageConnect, "TLS with "+r.host, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, r.name)
	if err != nil {
		conn.Close()
		return fail(stageConnect, "greeting from "+r.host, err)
	}
	defer c.Close()
	if err := c.Hello(r.helo); err != nil {
		return fail(stageConnect, "EHLO", err)
	}
	if !r.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(r.tls); err != nil {
				return fail(stageConnect, "STARTTLS", err)
			}
		} else if !r.loopback {
			return fail(stageConnect, "STARTTLS", errors.New("the relay does not offer STARTTLS, which is required except on loopback"))
		}
	}
	if r.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail(stageConnect, "AUTH", errors.New("the relay offers no AUTH, and --smtp-url has a user"))
		}
		if err := c.Auth(smtp.PlainAuth("", r.user, r.pass, r.name)); err != nil {
			return fail(stageConnect, "AUTH", err)
		}
	}
	if err := c.Mail(m.EnvelopeFrom); err != nil {
		return fail(stageMessage, "MAIL FROM", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fail(stageMessage, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail(stageMessage, "DATA", err)
	}
	if _, err := w.Write(m.Bytes()); err != nil {
		return fail(stageConnect, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail(stageMessage, "end of DATA", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	c.Quit()
	return nil
}

// Check reports whether raw is a usable --smtp-url (for config validation).
func Check(raw string) error {
	_, err := Parse(raw, Options{})
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "smtprelay: "))
	}
	return nil
}
