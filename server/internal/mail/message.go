package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"sort"
	"strings"
	"time"
)

// Message is an email ready to send: a multipart/alternative of plain text
// and HTML (which loads nothing remote), UTF-8, quoted-printable.
type Message struct {
	// JobID is the outbox job the message was made for.
	JobID string
	Kind  Kind
	// TeamID is the team the message is from or about ("" for none).
	TeamID string
	// From is the header's sender: the team's name and address.
	From netmail.Address
	// EnvelopeFrom is where bounces go (the server's --smtp-from).
	EnvelopeFrom string
	To           string
	Subject      string
	Text         string
	HTML         string
	Date         time.Time
	// MessageID is the Message-ID header's value, with its angle brackets.
	MessageID string
	// Headers are extra header fields (List-Unsubscribe, Auto-Submitted…).
	Headers map[string]string
	// Secret holds the text of the tokens in the message's links, so that
	// a log line can leave them out.
	Secret []string
	// seq is the last message the mail carries, recorded once it is sent.
	seq int64
}

// Bytes renders the message in RFC 5322 form with CRLF line ends.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", m.From.String())
	hdr("To", (&netmail.Address{Address: m.To}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", m.Date.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", m.MessageID)
	hdr("MIME-Version", "1.0")
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hdr(k, m.Headers[k])
	}
	boundary := newBoundary()
	hdr("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString("Content-Type: " + part.typ + "; charset=utf-8\r\n")
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(&b)
		qp.Write([]byte(crlf(part.body)))
		qp.Close()
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// Redact returns s without the message's tokens, for logs.
func (m *Message) Redact(s string) string {
	for _, t := range m.Secret {
		s = strings.ReplaceAll(s, t, "[token]")
	}
	return s
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func newBoundary() string {
	var b [12]byte
	rand.Read(b[:])
	return "cstar-" + hex.EncodeToString(b[:])
}

// messageID is a Message-ID for job id from host: the same job keeps the
// same id on every attempt, so that a receiver can tell a repeat.
func messageID(jobID, host string) string {
	return fmt.Sprintf("<%s@%s>", jobID, host)
}
