package wire

import (
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/protocol"
)

// rfc3339Milli is the time format of chat frames: messages sent within one
// second still sort by their timestamp.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// NilIfEmpty renders an optional string as JSON null when it is empty.
func NilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Customer is a customer as the API renders it.
type Customer struct {
	ID         string         `json:"id"`
	Email      *string        `json:"email"`
	Name       string         `json:"name"`
	ExternalID *string        `json:"external_id"`
	Metadata   map[string]any `json:"metadata"`
	Mode       string         `json:"mode"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	// What was proven: see helpdesk.Customer.
	EmailVerified   bool    `json:"email_verified"`
	NameVerified    bool    `json:"name_verified"`
	UnverifiedEmail *string `json:"unverified_email"`
	// Kind is account, identified, visitor or contact; MergedInto, for a
	// visitor whose conversations moved at a sign-in, the customer's id.
	Kind       string  `json:"kind"`
	MergedInto *string `json:"merged_into"`
}

// CustomerOf renders c.
func CustomerOf(c helpdesk.Customer) Customer {
	kind := c.Kind
	if kind == "" {
		kind = helpdesk.KindContact
	}
	return Customer{ID: c.ID, Email: NilIfEmpty(c.Email), Name: c.Name, ExternalID: NilIfEmpty(c.ExternalID),
		Metadata: c.Metadata, Mode: string(c.Mode), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		EmailVerified: c.EmailVerified, NameVerified: c.NameVerified, UnverifiedEmail: NilIfEmpty(c.UnverifiedEmail),
		Kind: kind, MergedInto: NilIfEmpty(c.MergedInto)}
}

// Deleted is what the API answers for a deleted resource, and what an event
// carries for one that is gone.
type Deleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// CustomerOrDeleted renders c, or a Deleted of id when c is nil.
func CustomerOrDeleted(c *helpdesk.Customer, id string) any {
	if c == nil {
		return Deleted{ID: id, Deleted: true}
	}
	return CustomerOf(*c)
}

// Ticket is a ticket as the API and the agents' stream render it.
type Ticket struct {
	ID         string     `json:"id"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"`
	Priority   string     `json:"priority"`
	Channel    string     `json:"channel"`
	CustomerID *string    `json:"customer_id"`
	Tags       []string   `json:"tags"`
	Mode       string     `json:"mode"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ClosedAt   *time.Time `json:"closed_at"`
	// MergedFrom is the anonymous visitor a chat started with, when it
	// moved into its customer at a sign-in.
	MergedFrom *string `json:"merged_from"`
	// LastSeq is the seq of the last chat message; the read positions say
	// how far the customer and the agents have read.
	LastSeq         int64 `json:"last_seq"`
	CustomerReadSeq int64 `json:"customer_read_seq"`
	AgentReadSeq    int64 `json:"agent_read_seq"`
	// AssigneeID is the agent the dashboard assigned the ticket to.
	AssigneeID *string `json:"assignee_id"`
}

// TicketOf renders t.
func TicketOf(t helpdesk.Ticket) Ticket {
	return Ticket{ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Channel: t.Channel,
		CustomerID: NilIfEmpty(t.CustomerID), Tags: t.Tags, Mode: string(t.Mode), CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, ClosedAt: t.ClosedAt, MergedFrom: NilIfEmpty(t.MergedFrom), LastSeq: t.LastSeq, CustomerReadSeq: t.CustomerReadSeq,
		AgentReadSeq: t.AgentReadSeq, AssigneeID: NilIfEmpty(t.AssigneeID)}
}

// Message renders a chat message.
func Message(m chat.Message) protocol.Message {
	a := protocol.Author{Type: m.Author.Type, ID: NilIfEmpty(m.Author.ID), Name: m.Author.Name}
	return protocol.Message{ID: m.ID, TicketID: m.TicketID, Seq: m.Seq, Author: a, Body: m.Body,
		ClientID: NilIfEmpty(m.ClientID), CreatedAt: m.CreatedAt.UTC().Format(rfc3339Milli), Internal: m.Internal}
}

// ChatTicket renders a ticket for the customer's widget: the fields a
// customer may see.
func ChatTicket(t helpdesk.Ticket) protocol.ChatTicket {
	return protocol.ChatTicket{ID: t.ID, Status: t.Status, LastSeq: t.LastSeq, CustomerReadSeq: t.CustomerReadSeq,
		AgentReadSeq: t.AgentReadSeq, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
		UpdatedAt: t.UpdatedAt.UTC().Format(time.RFC3339)}
}

// StreamEvent renders an event for the agents' stream.
func StreamEvent(ev chat.Event) protocol.StreamEvent {
	out := protocol.StreamEvent{Type: ev.Type, Pos: ev.Pos, TicketID: ev.TicketID}
	if ev.Ticket != nil && ev.Type != chat.MessageCreated {
		out.Ticket = TicketOf(*ev.Ticket)
	}
	if ev.TicketID == "" && ev.CustomerID != "" && chat.Durable(ev.Type) {
		out.Customer = CustomerOrDeleted(ev.Customer, ev.CustomerID)
	}
	if ev.Message != nil {
		m := Message(*ev.Message)
		out.Message = &m
	}
	if ev.Type == chat.Typing {
		typing := ev.Typing
		out.Author = &protocol.Author{Type: ev.Author.Type, ID: NilIfEmpty(ev.Author.ID), Name: ev.Author.Name}
		out.Typing = &typing
	}
	return out
}
