package chat

import (
	"context"
	"time"

	"github.com/cstar-chat/cstar/server/internal/helpdesk"
)

// TicketEvent is the durable event of ticket t's creation or change (typ is
// TicketCreated or TicketUpdated) at time at.
func TicketEvent(typ string, t helpdesk.Ticket, at time.Time) Event {
	cp := t
	return Event{Type: typ, TeamID: t.TeamID, Mode: t.Mode, TicketID: t.ID, CustomerID: t.CustomerID,
		CreatedAt: at, Ticket: &cp}
}

// TicketLog writes a ticket together with the durable events made from the
// row as stored, in one transaction, and publishes them once committed.
type TicketLog interface {
	InsertTicketLogged(ctx context.Context, t helpdesk.Ticket, events func(stored helpdesk.Ticket) []Event) error
	UpdateTicketLogged(ctx context.Context, t helpdesk.Ticket, events func(stored helpdesk.Ticket) []Event) error
}

// LogTicketChanges returns st with the chat's rule on top: a ticket created
// or changed through the help desk is a durable event (ticket.created,
// ticket.updated) in its team's log, written in the change's own
// transaction, so that the agents' streams and the customer's widget hear of
// it on every process. The help desk itself knows nothing of events.
func LogTicketChanges(st helpdesk.Store, log TicketLog) helpdesk.Store {
	return loggedTickets{Store: st, log: log}
}

type loggedTickets struct {
	helpdesk.Store
	log TicketLog
}

func (l loggedTickets) InsertTicket(ctx context.Context, t helpdesk.Ticket) error {
	return l.log.InsertTicketLogged(ctx, t, func(stored helpdesk.Ticket) []Event {
		return []Event{TicketEvent(TicketCreated, stored, stored.CreatedAt)}
	})
}

func (l loggedTickets) UpdateTicket(ctx context.Context, t helpdesk.Ticket) error {
	return l.log.UpdateTicketLogged(ctx, t, func(stored helpdesk.Ticket) []Event {
		return []Event{TicketEvent(TicketUpdated, stored, stored.UpdatedAt)}
	})
}
