package chat

import (
	"context"
	"time"

	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Author types.
const (
	AuthorCustomer = "customer"
	AuthorAgent    = "agent"
	AuthorBot      = "bot"
	AuthorSystem   = "system"
)

// Event types. The first seven are durable: stored with a position in the
// team's event log. The others are ephemeral: delivered to whoever is
// connected, never replayed.
const (
	TicketCreated   = "ticket.created"
	TicketUpdated   = "ticket.updated"
	MessageCreated  = "message.created"
	CustomerCreated = "customer.created"
	CustomerUpdated = "customer.updated"
	CustomerDeleted = "customer.deleted"
	// CustomerMerged records one conversation of an anonymous visitor moved
	// into the customer who signed in with the visitor's token: its ticket
	// (now the customer's, MergedFrom naming the visitor) and CustomerID
	// the customer.
	CustomerMerged = "customer.merged"
	Typing         = "typing"
	Read           = "read"
	SessionRevoked = "session.revoked"
	KeyEnded       = "key.ended"
	// AgentEnded closes an agent's open dashboards: one session's
	// (SessionID), or all of the agent's (Author.ID) when SessionID is "".
	AgentEnded = "agent.ended"
)

// Readers of a ticket.
const (
	ReaderCustomer = "customer"
	ReaderAgent    = "agent"
)

// Author is who wrote a message or is typing. ID is the customer's id for
// customers and empty for agents and bots.
type Author struct {
	Type string
	ID   string
	Name string
}

// Message is one chat message. Seq counts a ticket's messages from 1 with
// no gaps.
type Message struct {
	ID        string
	TeamID    string
	Mode      scope.Mode
	TicketID  string
	Seq       int64
	Author    Author
	Body      string
	ClientID  string
	CreatedAt time.Time
	// Internal marks an internal note: agents see it, the customer never
	// receives it (not live, not in a resume, not in their history). It
	// takes a seq like any message, so the customer's seqs have a gap
	// where a note is.
	Internal bool
}

// Event is something that happened in a team and mode. Durable events have
// a position (Pos > 0); the store fills Message, Ticket and Customer when it
// reads them back (each nil when the row is gone by then). Customer events
// have no ticket.
type Event struct {
	Type       string
	Pos        int64
	TeamID     string
	Mode       scope.Mode
	TicketID   string
	CustomerID string
	MessageID  string
	CreatedAt  time.Time

	Message  *Message
	Ticket   *helpdesk.Ticket
	Customer *helpdesk.Customer

	// Typing events.
	Author Author
	Typing bool
	// Read events.
	Reader string
	Seq    int64
	// SessionRevoked events: the session ended, or every session of the
	// customer when empty.
	SessionID string
	// KeyEnded events: the API key that stops working, at CreatedAt (now
	// for a revocation, the end of the grace for a roll).
	KeyID string
}

// Durable reports whether events of type typ are stored in the log.
func Durable(typ string) bool {
	switch typ {
	case TicketCreated, TicketUpdated, MessageCreated, CustomerCreated, CustomerUpdated, CustomerDeleted:
		return true
	}
	return false
}

// CustomerEvent is the durable event of customer c's creation, change or
// deletion (typ is CustomerCreated, CustomerUpdated or CustomerDeleted) at
// time at.
func CustomerEvent(typ string, c helpdesk.Customer, at time.Time) Event {
	cp := c
	return Event{Type: typ, TeamID: c.TeamID, Mode: c.Mode, CustomerID: c.ID, CreatedAt: at, Customer: &cp}
}

// Scope is the team and mode of the event.
func (e Event) Scope() scope.Scope { return scope.Scope{TeamID: e.TeamID, Mode: e.Mode} }

// Append asks the store to add a message.
type Append struct {
	Scope scope.Scope
	// TicketID is the ticket of an agent's message. Empty for a customer's
	// message: it goes to their open chat ticket, or a new one.
	TicketID   string
	CustomerID string
	Author     Author
	Body       string
	ClientID   string
	// Internal makes the message an internal note.
	Internal bool
	// DedupKey is unique per author and client id; a message with the same
	// key already stored is returned instead of a new one.
	DedupKey string
	// Subject is the subject of a ticket opened by this message.
	Subject string
	Now     time.Time
	NewID   func() (string, error)
}

// Store is what the chat service needs from the database. Durable events
// are written in the same transaction as the change they record.
type Store interface {
	// AppendMessage stores a message and returns it with the events it
	// caused, or the message already stored under in.DedupKey and no events.
	AppendMessage(ctx context.Context, in Append) (Message, []Event, error)
	// Messages returns up to limit messages of a ticket in seq order: the
	// first ones after seq after when after >= 0, else the last ones before
	// seq before (before <= 0 means the end); internal notes only with
	// notes.
	Messages(ctx context.Context, sc scope.Scope, ticketID string, after, before int64, limit int, notes bool) ([]Message, error)
	TicketByID(ctx context.Context, sc scope.Scope, id string) (helpdesk.Ticket, error)
	// LatestChatTicket is the customer's open chat ticket, or else their
	// most recent one; errs.ErrNotFound when they have none.
	LatestChatTicket(ctx context.Context, sc scope.Scope, customerID string) (helpdesk.Ticket, error)
	// SetReadSeq raises a reader's position on a ticket (never lowers it,
	// never past the last message) and returns the ticket.
	SetReadSeq(ctx context.Context, sc scope.Scope, ticketID, reader string, seq int64) (helpdesk.Ticket, error)
	// SetDeliveredSeqs raises, in one transaction, how far each ticket's
	// messages were written to one of its customer's open sockets (never
	// lowers one).
	SetDeliveredSeqs(ctx context.Context, ds []Delivery) error
	// EventsAfter returns up to limit durable events after position after,
	// in order, with their message or ticket.
	EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]Event, error)
	// HeadPos is the position of the last durable event (0 when none).
	HeadPos(ctx context.Context, sc scope.Scope) (int64, error)
	// OldestPos is the first position still kept (HeadPos+1 when none is).
	OldestPos(ctx context.Context, sc scope.Scope) (int64, error)
	// DeleteEventsBefore removes the durable events older than before.
	DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error)
	// RecordArticleViews notes that the customer opened the articles
	// before writing to the ticket; ids that are not published articles of
	// sc, and articles already noted for the ticket, are skipped.
	RecordArticleViews(ctx context.Context, sc scope.Scope, ticketID string, articleIDs []string, at time.Time) error
	// ArticleViews lists the articles noted for a ticket, oldest first.
	ArticleViews(ctx context.Context, sc scope.Scope, ticketID string) ([]ArticleView, error)

	InboxStore
}

// ArticleView is a Library article a customer opened in the widget before
// writing to a conversation.
type ArticleView struct {
	ArticleID string
	Title     string
	Slug      string
	ViewedAt  time.Time
}

// Publisher delivers ephemeral events to every server process.
type Publisher interface {
	Publish(ctx context.Context, ev Event)
}
