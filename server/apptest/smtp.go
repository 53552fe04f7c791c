package apptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP is a real SMTP server for tests (github.com/emersion/go-smtp) on a
// loopback port: it offers STARTTLS with a certificate of its own (which
// RootCAs trusts), wants AUTH PLAIN over TLS with User and Pass, and keeps
// every message it accepts.
type SMTP struct {
	// URL is the --smtp-url that reaches it.
	URL     string
	RootCAs *x509.CertPool
	User    string
	Pass    string

	addr string
	tls  *tls.Config

	mu      sync.Mutex
	srv     *smtp.Server
	mails   []*Received
	changed chan struct{}
	// refuse answers RCPT TO for these recipients with their code.
	refuse map[string]int
	// tlsLess counts sessions that sent a message without TLS.
	tlsLess int
}

// Received is one message the test server accepted, parsed.
type Received struct {
	From   string // the envelope sender
	To     []string
	Raw    []byte
	Header netmail.Header
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded parts of a multipart/alternative.
	Text, HTML string
	// TLS says the session was encrypted; User is who signed in.
	TLS  bool
	User string
}

// StartSMTP runs an SMTP server until the test ends.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &SMTP{RootCAs: pool, User: "cstar", Pass: "relay-pass-" + fmt.Sprint(time.Now().UnixNano()%100000),
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, changed: make(chan struct{}),
		refuse: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.URL = "smtp://" + s.User + ":" + s.Pass + "@" + s.addr
	s.serve(ln)
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *SMTP) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s, c: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = s.tls
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(ln)
}

// Stop takes the relay down: connections are refused until Start.
func (s *SMTP) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start brings a stopped relay back on the same port.
func (s *SMTP) Start(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("smtp: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// Refuse makes the relay answer RCPT TO rcpt with code (a 5xx is a refusal
// for good, a 4xx one for now); 0 accepts it again.
func (s *SMTP) Refuse(rcpt string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.refuse, rcpt)
		return
	}
	s.refuse[rcpt] = code
}

// Mails returns the messages accepted so far.
func (s *SMTP) Mails() []*Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Received(nil), s.mails...)
}

// To returns the messages accepted for rcpt.
func (s *SMTP) To(rcpt string) []*Received {
	var out []*Received
	for _, m := range s.Mails() {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				out = append(out, m)
			}
		}
	}
	return out
}

// WaitTo waits for the nth message (from 1) to rcpt and returns it.
func (s *SMTP) WaitTo(t testing.TB, rcpt string, n int) *Received {
	t.Helper()
	deadline := time.After(Wait)
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if got := s.To(rcpt); len(got) >= n {
			return got[n-1]
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("smtp: got %d messages to %s, want %d", len(s.To(rcpt)), rcpt, n)
			return nil
		}
	}
}

// Insecure counts the messages that arrived without TLS.
func (s *SMTP) Insecure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsLess
}

type smtpSession struct {
	s    *SMTP
	c    *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.s.User || pass != ss.s.Pass {
			return errors.New("invalid credentials")
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code := ss.s.refuse[to]
	ss.s.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "refused by the test relay"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := &Received{From: ss.from, To: ss.to, Raw: raw, User: ss.user}
	_, m.TLS = ss.c.TLSConnectionState()
	if msg, err := netmail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = msg.Header
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		m.Text, m.HTML = parts(msg)
	}
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, m)
	if !m.TLS {
		ss.s.tlsLess++
	}
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// parts decodes the text and HTML of a multipart/alternative message.
func parts(msg *netmail.Message) (text, html string) {
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", ""
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return text, html
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(body)
		typ, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch typ {
		case "text/plain":
			text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			html = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtp: key: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "cstar test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtp: certificate: %v", err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Link returns the first link in m's text that starts with prefix.
func (m *Received) Link(t testing.TB, prefix string) string {
	t.Helper()
	for _, f := range strings.Fields(m.Text) {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	t.Fatalf("mail %q: no link starting with %s in\n%s", m.Subject, prefix, m.Text)
	return ""
}
