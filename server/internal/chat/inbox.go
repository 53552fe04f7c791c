package chat

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Conversation is a ticket as the agents' inbox lists it: with its
// customer's name and its last message.
type Conversation struct {
	helpdesk.Ticket
	CustomerName  string
	CustomerEmail string
	// Last is the ticket's last message (a note included), its body cut to
	// a preview; nil when it has none.
	Last *Message
}

// Unread is how many messages came after the agents last read the
// conversation.
func (c Conversation) Unread() int64 { return max(c.LastSeq-c.AgentReadSeq, 0) }

// Assignee filters of the inbox.
const (
	AssignedToAnyone = ""     // every conversation
	Unassigned       = "none" // conversations nobody is assigned to
)

// InboxFilter picks the conversations of one status and assignee (an
// agent's id, Unassigned or AssignedToAnyone).
type InboxFilter struct {
	Status   string
	Assignee string
}

// InboxCursor is where a page of the inbox continues: after the
// conversation with this activity time and id (newest activity first).
type InboxCursor struct {
	UpdatedAt time.Time
	ID        string
}

// CountCap is where the inbox stops counting: a count above it means "more
// than CountCap" (the page shows 1000+), so that counting, done on every
// change, costs the same however many conversations a team has.
const CountCap = 1000

// InboxCounts are how many conversations of a status each view holds, and
// how many of them have unread messages, each at most CountCap+1.
type InboxCounts struct {
	All, Unassigned, Mine                   int
	UnreadAll, UnreadUnassigned, UnreadMine int
}

// InboxStore is what the inbox needs from the database.
type InboxStore interface {
	// Inbox returns up to limit conversations matching f, newest activity
	// first, after cursor when it is not nil.
	Inbox(ctx context.Context, sc scope.Scope, f InboxFilter, after *InboxCursor, limit int) ([]Conversation, error)
	// Conversation returns one conversation of the inbox.
	Conversation(ctx context.Context, sc scope.Scope, ticketID string) (Conversation, error)
	// InboxCounts counts the conversations of status, for agent agentID.
	InboxCounts(ctx context.Context, sc scope.Scope, status, agentID string) (InboxCounts, error)
}

// InboxPage is one page of the inbox.
type InboxPage struct {
	Items []Conversation
	// Next is the opaque cursor of the following page; "" when none.
	Next string
}

// MaxInboxPage is the most conversations a page of the inbox holds.
const MaxInboxPage = 100

var statuses = []string{helpdesk.StatusOpen, helpdesk.StatusPending, helpdesk.StatusClosed}

func (f InboxFilter) check() error {
	switch f.Status {
	case helpdesk.StatusOpen, helpdesk.StatusPending, helpdesk.StatusClosed:
	default:
		return errs.Invalidf("status", "status must be one of %s", strings.Join(statuses, ", "))
	}
	if f.Assignee != AssignedToAnyone && f.Assignee != Unassigned {
		if _, ok := ids.Canonical(f.Assignee); !ok {
			return errs.Invalidf("assignee", "assignee must be an agent's id, none, or empty for anyone")
		}
	}
	return nil
}

func encodeCursor(c Conversation) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.UpdatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

func decodeCursor(s string) (*InboxCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := errs.Invalidf("cursor", "cursor is not valid")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil {
		return nil, bad
	}
	if id, ok = ids.Canonical(id); !ok {
		return nil, bad
	}
	return &InboxCursor{UpdatedAt: t, ID: id}, nil
}

// Inbox returns one page of the conversations matching f, newest activity
// first; cursor is the previous page's Next ("" for the first page).
func (s *Service) Inbox(ctx context.Context, sc scope.Scope, f InboxFilter, cursor string, limit int) (InboxPage, error) {
	if err := f.check(); err != nil {
		return InboxPage{}, err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return InboxPage{}, err
	}
	if limit <= 0 || limit > MaxInboxPage {
		limit = 25
	}
	items, err := s.store.Inbox(ctx, sc, f, after, limit+1)
	if err != nil {
		return InboxPage{}, fmt.Errorf("chat: inbox: %w", err)
	}
	p := InboxPage{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = encodeCursor(p.Items[limit-1])
	}
	return p, nil
}

// Conversation returns one conversation as the inbox lists it.
func (s *Service) Conversation(ctx context.Context, sc scope.Scope, ticketID string) (Conversation, error) {
	id, ok := ids.Canonical(ticketID)
	if !ok {
		return Conversation{}, errTicketNotFound
	}
	c, err := s.store.Conversation(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Conversation{}, errTicketNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("chat: conversation: %w", err)
	}
	return c, nil
}

// Matches reports whether c belongs in the inbox view f.
func (f InboxFilter) Matches(c Conversation) bool {
	if c.Status != f.Status {
		return false
	}
	switch f.Assignee {
	case AssignedToAnyone:
		return true
	case Unassigned:
		return c.AssigneeID == ""
	}
	return c.AssigneeID == f.Assignee
}

// InboxCounts counts the conversations of status in each view, for agent
// agentID ("mine").
func (s *Service) InboxCounts(ctx context.Context, sc scope.Scope, status, agentID string) (InboxCounts, error) {
	if err := (InboxFilter{Status: status}).check(); err != nil {
		return InboxCounts{}, err
	}
	n, err := s.store.InboxCounts(ctx, sc, status, agentID)
	if err != nil {
		return InboxCounts{}, fmt.Errorf("chat: inbox counts: %w", err)
	}
	return n, nil
}

// Post stores a message or an internal note that an agent signed in to the
// dashboard writes (author carries the agent's id and name). A message goes
// to the customer; a note never does. A retry with the same client id
// returns the first one.
func (s *Service) Post(ctx context.Context, sc scope.Scope, ticketID string, author Author, clientID, body string, internal bool) (Message, error) {
	id, ok := ids.Canonical(ticketID)
	if !ok {
		return Message{}, errTicketNotFound
	}
	author.Type = AuthorAgent
	name, err := cleanName(author.Name)
	if err != nil {
		return Message{}, err
	}
	author.Name = name
	if body, err = cleanBody(body); err != nil {
		return Message{}, err
	}
	if err := checkClientID(clientID); err != nil {
		return Message{}, err
	}
	in := Append{Scope: sc, TicketID: id, Author: author, Body: body, ClientID: clientID, Internal: internal,
		Now: s.clock(), NewID: ids.New}
	if clientID != "" {
		in.DedupKey = "t:" + id + ":" + clientID
	}
	return s.appendRetrying(ctx, in)
}
