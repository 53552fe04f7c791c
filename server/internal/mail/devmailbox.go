package mail

import (
	"context"
	"fmt"
	"log/slog"
)

// DevStore keeps the development mailbox.
type DevStore interface {
	InsertDevMail(ctx context.Context, m DevMail) error
}

// DevMailbox is the Sender of a server without a relay (--smtp-url unset):
// it keeps every message for the team's dashboard to show and logs that it
// did, without the message's links (their tokens are secrets).
type DevMailbox struct {
	store DevStore
	log   *slog.Logger
}

// NewDevMailbox returns a development mailbox over st.
func NewDevMailbox(st DevStore, log *slog.Logger) *DevMailbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DevMailbox{store: st, log: log}
}

// Send implements Sender.
func (d *DevMailbox) Send(ctx context.Context, m *Message) error {
	dm := DevMail{ID: m.JobID, TeamID: m.TeamID, Kind: m.Kind, From: m.From.String(), To: m.To, Subject: m.Subject,
		Headers: m.Headers, Text: m.Text, HTML: m.HTML, CreatedAt: m.Date}
	if err := d.store.InsertDevMail(ctx, dm); err != nil {
		return fmt.Errorf("dev mailbox: %w", err)
	}
	d.log.Info("mail kept in the dev mailbox (no --smtp-url)", "id", m.JobID, "kind", string(m.Kind), "to", m.To,
		"subject", m.Subject)
	return nil
}
