package mail

import (
	"bytes"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"
)

func TestLocale(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", ""},
		{"de", "de"},
		{"de-CH, de;q=0.9, en;q=0.5", "de"},
		{"fr-FR, fr;q=0.9, es;q=0.8, en;q=0.7", "es"},
		{"en;q=0.2, de;q=0.8", "de"},
		{"es;q=0, en", "en"},
		{"zh-CN", ""},
		{"de;q=nonsense, en", "en"},
	} {
		t.Run(c.header, func(t *testing.T) {
			if got := Locale(c.header); got != c.want {
				t.Errorf("Locale(%q): got %q, want %q", c.header, got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		n        int
		min, max time.Duration
	}{{1, 30 * time.Second, 36 * time.Second}, {2, time.Minute, 72 * time.Second}, {4, 4 * time.Minute, 288 * time.Second},
		{8, time.Hour, 72 * time.Minute}, {50, time.Hour, 72 * time.Minute}} {
		for range 20 {
			if d := Backoff(c.n); d < c.min || d > c.max {
				t.Fatalf("Backoff(%d): got %v, want %v to %v", c.n, d, c.min, c.max)
			}
		}
	}
}

func TestTokens(t *testing.T) {
	for _, p := range []Purpose{PurposeCustomerReset, PurposeVerifyEmail, PurposeAgentReset, PurposeInvitation, PurposeUnsubscribe} {
		tok, err := newToken(p)
		if err != nil {
			t.Fatal(err)
		}
		hash, ok := ParseToken(p, tok)
		if !ok || !bytes.Equal(hash, HashToken(tok)) || len(hash) != 32 {
			t.Errorf("%s: token %q does not parse to its hash", p, tok)
		}
		for _, other := range []Purpose{PurposeCustomerReset, PurposeAgentReset} {
			if other != p && prefixes[other] != prefixes[p] {
				if _, ok := ParseToken(other, tok); ok {
					t.Errorf("a %s token parses as %s", p, other)
				}
			}
		}
		if _, ok := ParseToken(p, tok[:len(tok)-1]+"!"); ok {
			t.Errorf("%s: a token with a bad character parses", p)
		}
	}
	if a, b := mustToken(t), mustToken(t); a == b {
		t.Error("two tokens alike")
	}
}

func mustToken(t *testing.T) string {
	tok, err := newToken(PurposeCustomerReset)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestMessage: a message renders as RFC 5322 with a multipart/alternative
// body whose parts decode to the text and the HTML; the subject and the
// sender's name are encoded, and a team name cannot add a header.
func TestMessage(t *testing.T) {
	text, html, err := render(content{Lang: "de", Subject: "Passwort für Acme", Greeting: "Hallo <Ann>,",
		Paras:  []string{"Ein Absatz mit einer sehr langen Zeile" + strings.Repeat(" und noch mehr", 10)},
		Button: &link{Label: "Neues Passwort", URL: "https://shop.example/reset?a=1&b=2#cstar_reset=cpr_x"},
		Quotes: []quote{{Who: "Sam", When: "2026-11-28 10:00 UTC", Body: "line one\nline <two>"}}, Footer: []string{"Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{From: netmail.Address{Name: "Acme\r\nBcc: evil@example.com", Address: "help@acme.example"}, To: "ann@example.com",
		Subject: "Passwort für Acme\r\nBcc: evil@example.com", Text: text, HTML: html, Date: time.Unix(1795840186, 0),
		MessageID: messageID("01a2", "chat.example.com"), Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
	raw := m.Bytes()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, raw)
	}
	if got := msg.Header.Get("Bcc"); got != "" {
		t.Fatalf("a header was injected: Bcc %q", got)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(subject, "Passwort für Acme") || msg.Header.Get("Message-Id") != "<01a2@chat.example.com>" {
		t.Errorf("headers: subject %q, Message-ID %q", subject, msg.Header.Get("Message-Id"))
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		// NextPart undoes the quoted-printable itself.
		b := new(bytes.Buffer)
		b.ReadFrom(p)
		parts = append(parts, strings.ReplaceAll(b.String(), "\r\n", "\n"))
	}
	if len(parts) != 2 || parts[0] != text || parts[1] != html {
		for i, want := range []string{text, html} {
			if i < len(parts) && parts[i] != want {
				for j := range min(len(want), len(parts[i])) {
					if want[j] != parts[i][j] {
						t.Fatalf("part %d differs at %d: got %q, want %q", i, j, parts[i][j:min(j+40, len(parts[i]))], want[j:min(j+40, len(want))])
					}
				}
				t.Fatalf("part %d: got %d bytes, want %d", i, len(parts[i]), len(want))
			}
		}
		t.Fatalf("parts: got %d, want the text and the HTML back", len(parts))
	}
	for _, want := range []string{"Hallo &lt;Ann&gt;,", "line &lt;two&gt;", `href="https://shop.example/reset?a=1&amp;b=2#cstar_reset=cpr_x"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML: no %q", want)
		}
	}
	if !strings.Contains(text, "Neues Passwort:\nhttps://shop.example/reset?a=1&b=2#cstar_reset=cpr_x") || !strings.Contains(text, "  line <two>") {
		t.Errorf("text:\n%s", text)
	}
	for _, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	m.Secret = []string{"cpr_x"}
	if got := m.Redact("failed for https://shop.example/#cstar_reset=cpr_x"); strings.Contains(got, "cpr_x") {
		t.Errorf("Redact: %q", got)
	}
}

func TestWithFragment(t *testing.T) {
	if got := withFragment("https://shop.example/reset?x=1#old", "cstar_reset", "cpr_t"); got != "https://shop.example/reset?x=1#cstar_reset=cpr_t" {
		t.Errorf("got %q", got)
	}
}
