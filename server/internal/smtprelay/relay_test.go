package smtprelay_test

import (
	"context"
	"errors"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/smtprelay"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		url, want, err string
	}{
		{"smtp://relay.example.com", "smtp://relay.example.com:587", ""},
		{"smtp://user:secret@relay.example.com:2525", "smtp://user@relay.example.com:2525", ""},
		{"smtps://user:secret@relay.example.com", "smtps://user@relay.example.com:465", ""},
		{"smtp://[::1]:25", "smtp://[::1]:25", ""},
		{"http://relay.example.com", "", "smtp:// (STARTTLS) or smtps://"},
		{"smtp://relay.example.com/path", "", "nothing after the port"},
		{"smtp://relay.example.com?tls=no", "", "nothing after the port"},
		{"smtp://relay.example.com:99999", "", "bad port"},
		{"smtp://", "", "nothing after the port"},
	} {
		t.Run(c.url, func(t *testing.T) {
			r, err := smtprelay.Parse(c.url, smtprelay.Options{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error saying %q", err, c.err)
				}
				return
			}
			if err != nil || r.String() != c.want {
				t.Fatalf("got %v, %v; want %s (no password)", r, err, c.want)
			}
		})
	}
}

func message(to string) *mail.Message {
	return &mail.Message{JobID: "j1", From: netmail.Address{Name: "Acme", Address: "help@acme.example"},
		EnvelopeFrom: "bounces@cstar.test", To: to, Subject: "Hello", Text: "Hi", HTML: "<p>Hi</p>", Date: time.Now(),
		MessageID: "<j1@cstar.test>"}
}

// TestSend: a message goes over STARTTLS with AUTH; a 5xx for the
// recipient is permanent, a 4xx, a wrong password, an untrusted certificate
// and a relay that is down are not.
func TestSend(t *testing.T) {
	relay := apptest.StartSMTP(t)
	ctx := context.Background()
	r, err := smtprelay.Parse(relay.URL, smtprelay.Options{RootCAs: relay.RootCAs, Helo: "chat.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(ctx, message("ann@example.com")); err != nil {
		t.Fatalf("send: %v", err)
	}
	m := relay.WaitTo(t, "ann@example.com", 1)
	if !m.TLS || m.User != relay.User || m.From != "bounces@cstar.test" || m.Subject != "Hello" {
		t.Errorf("received: TLS %v, user %q, from %q, subject %q", m.TLS, m.User, m.From, m.Subject)
	}

	relay.Refuse("gone@example.com", 550)
	if err := r.Send(ctx, message("gone@example.com")); !errors.Is(err, mail.ErrPermanent) || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: got %v, want a permanent refusal", err)
	}
	relay.Refuse("busy@example.com", 451)
	if err := r.Send(ctx, message("busy@example.com")); err == nil || errors.Is(err, mail.ErrPermanent) {
		t.Errorf("451: got %v, want a refusal for now", err)
	}

	wrong := strings.Replace(relay.URL, relay.Pass, "wrong-pass", 1)
	w, _ := smtprelay.Parse(wrong, smtprelay.Options{RootCAs: relay.RootCAs})
	if err := w.Send(ctx, message("ann@example.com")); err == nil || errors.Is(err, mail.ErrPermanent) || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("wrong password: got %v, want an AUTH error that is tried again (the configuration can be fixed)", err)
	}
	untrusted, _ := smtprelay.Parse(relay.URL, smtprelay.Options{})
	if err := untrusted.Send(ctx, message("ann@example.com")); err == nil || errors.Is(err, mail.ErrPermanent) {
		t.Errorf("untrusted certificate: got %v, want a failure that is tried again", err)
	}
	relay.Stop()
	if err := r.Send(ctx, message("ann@example.com")); err == nil || errors.Is(err, mail.ErrPermanent) {
		t.Errorf("relay down: got %v, want a failure that is tried again", err)
	}
	if n := len(relay.To("ann@example.com")); n != 1 {
		t.Errorf("messages to ann: got %d, want 1", n)
	}
}
