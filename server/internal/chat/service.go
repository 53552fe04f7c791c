package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Limits of a message's fields, in characters.
const (
	MaxBody       = 4000
	MaxClientID   = 64
	MaxAuthorName = 100
	// ReplayWindow is how many of a ticket's last messages a client that
	// holds none of them gets on connect; older ones are paged on demand.
	ReplayWindow = 100
	// MaxPage is the largest page of messages a call returns.
	MaxPage = 200
	// maxArticleViews is how many articles one message may name
	// (protocol.MaxArticleViews).
	maxArticleViews = 10
)

var errTicketNotFound = errs.NotFoundf("Ticket not found")

// Service applies the chat rules.
type Service struct {
	store Store
	pub   Publisher
	now   func() time.Time
}

// NewService returns a chat service. pub delivers ephemeral events.
func NewService(st Store, pub Publisher, now func() time.Time) *Service {
	return &Service{store: st, pub: pub, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func cleanBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	if !utf8.ValidString(body) {
		return "", errs.Invalidf("body", "body must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(body); n < 1 || n > MaxBody {
		return "", errs.Invalidf("body", "body must be between 1 and %d characters", MaxBody)
	}
	return body, nil
}

func checkClientID(id string) error {
	if len(id) > MaxClientID {
		return errs.Invalidf("client_id", "client_id must be at most %d characters", MaxClientID)
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return errs.Invalidf("client_id", "client_id must be printable ASCII without spaces")
		}
	}
	return nil
}

// appendRetrying runs AppendMessage, retrying the conflicts of concurrent
// writers (two first messages opening a ticket, one client id sent twice at
// once): the retry finds the winner's row.
func (s *Service) appendRetrying(ctx context.Context, in Append) (Message, error) {
	var err error
	for range 3 {
		var m Message
		m, _, err = s.store.AppendMessage(ctx, in)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, errs.ErrConflict) {
			break
		}
	}
	if errors.Is(err, errs.ErrNotFound) {
		return Message{}, errTicketNotFound
	}
	return Message{}, fmt.Errorf("chat: append message: %w", err)
}

// CustomerSend stores a customer's message in their open chat ticket,
// opening one when none is open. A client id already used by this customer
// returns the message stored the first time.
func (s *Service) CustomerSend(ctx context.Context, sc scope.Scope, c helpdesk.Customer, clientID, body string) (Message, error) {
	body, err := cleanBody(body)
	if err != nil {
		return Message{}, err
	}
	if err := checkClientID(clientID); err != nil {
		return Message{}, err
	}
	name := c.DisplayName()
	in := Append{Scope: sc, CustomerID: c.ID, Author: Author{Type: AuthorCustomer, ID: c.ID, Name: name},
		Body: body, ClientID: clientID, Subject: subjectOf(body), Now: s.clock(), NewID: ids.New}
	if clientID != "" {
		in.DedupKey = "c:" + c.ID + ":" + clientID
	}
	return s.appendRetrying(ctx, in)
}

// subjectOf is a new chat ticket's subject: the start of its first message.
func subjectOf(body string) string {
	line, _, _ := strings.Cut(body, "\n")
	if utf8.RuneCountInString(line) > 80 {
		line = string([]rune(line)[:80]) + "…"
	}
	return line
}

// AgentPost stores an agent's or a bot's message in a ticket.
func (s *Service) AgentPost(ctx context.Context, sc scope.Scope, ticketID, authorType, authorName, clientID, body string) (Message, error) {
	id, ok := ids.Canonical(ticketID)
	if !ok {
		return Message{}, errTicketNotFound
	}
	if authorType == "" {
		authorType = AuthorAgent
	}
	if authorType != AuthorAgent && authorType != AuthorBot {
		return Message{}, errs.Invalidf("author_type", "author_type must be agent or bot")
	}
	name, err := cleanName(authorName)
	if err != nil {
		return Message{}, err
	}
	body, err = cleanBody(body)
	if err != nil {
		return Message{}, err
	}
	if err := checkClientID(clientID); err != nil {
		return Message{}, err
	}
	in := Append{Scope: sc, TicketID: id, Author: Author{Type: authorType, Name: name}, Body: body,
		ClientID: clientID, Now: s.clock(), NewID: ids.New}
	if clientID != "" {
		in.DedupKey = "t:" + id + ":" + clientID
	}
	return s.appendRetrying(ctx, in)
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := text.Line("author_name", name); err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxAuthorName {
		return "", errs.Invalidf("author_name", "author_name must be between 1 and %d characters", MaxAuthorName)
	}
	return name, nil
}

// Ticket returns a ticket of sc.
func (s *Service) Ticket(ctx context.Context, sc scope.Scope, id string) (helpdesk.Ticket, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return helpdesk.Ticket{}, errTicketNotFound
	}
	t, err := s.store.TicketByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return helpdesk.Ticket{}, errTicketNotFound
	}
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("chat: ticket: %w", err)
	}
	return t, nil
}

// customerTicket returns a ticket of the customer, or the customer's latest
// chat ticket when id is empty (found false when they have none).
func (s *Service) customerTicket(ctx context.Context, sc scope.Scope, customerID, id string) (t helpdesk.Ticket, found bool, err error) {
	if id == "" {
		t, err := s.store.LatestChatTicket(ctx, sc, customerID)
		if errors.Is(err, errs.ErrNotFound) {
			return helpdesk.Ticket{}, false, nil
		}
		if err != nil {
			return helpdesk.Ticket{}, false, fmt.Errorf("chat: latest ticket: %w", err)
		}
		return t, true, nil
	}
	t, err = s.Ticket(ctx, sc, id)
	if err != nil {
		return helpdesk.Ticket{}, false, err
	}
	if t.CustomerID != customerID {
		return helpdesk.Ticket{}, false, errTicketNotFound
	}
	return t, true, nil
}

// Page is one page of a ticket's messages, in seq order.
type Page struct {
	Messages []Message
	// HasMore says older messages exist (before the first one here).
	HasMore bool
}

// History pages a ticket backwards: the last limit messages before seq
// before (before <= 0: the newest).
func (s *Service) History(ctx context.Context, sc scope.Scope, ticketID string, before int64, limit int) (Page, error) {
	t, err := s.Ticket(ctx, sc, ticketID)
	if err != nil {
		return Page{}, err
	}
	return s.history(ctx, sc, t, before, limit, true)
}

// CustomerHistory is History for a customer's own tickets; an empty ticket
// id means their latest chat ticket.
func (s *Service) CustomerHistory(ctx context.Context, sc scope.Scope, customerID, ticketID string, before int64, limit int) (Page, error) {
	t, found, err := s.customerTicket(ctx, sc, customerID, ticketID)
	if err != nil || !found {
		return Page{Messages: []Message{}}, err
	}
	return s.history(ctx, sc, t, before, limit, false)
}

func (s *Service) history(ctx context.Context, sc scope.Scope, t helpdesk.Ticket, before int64, limit int, notes bool) (Page, error) {
	if limit <= 0 || limit > MaxPage {
		limit = 50
	}
	ms, err := s.store.Messages(ctx, sc, t.ID, -1, before, limit, notes)
	if err != nil {
		return Page{}, fmt.Errorf("chat: history: %w", err)
	}
	return Page{Messages: ms, HasMore: len(ms) > 0 && ms[0].Seq > 1}, nil
}

// After returns up to limit messages of a ticket after seq after, internal
// notes included (for agents).
func (s *Service) After(ctx context.Context, sc scope.Scope, ticketID string, after int64, limit int) ([]Message, error) {
	ms, err := s.store.Messages(ctx, sc, ticketID, after, 0, limit, true)
	if err != nil {
		return nil, fmt.Errorf("chat: messages after %d: %w", after, err)
	}
	return ms, nil
}

// CustomerAfter returns up to limit of the messages after seq after that
// the customer may see: never an internal note. (A ticket's owner is the
// caller's to check.)
func (s *Service) CustomerAfter(ctx context.Context, sc scope.Scope, ticketID string, after int64, limit int) ([]Message, error) {
	ms, err := s.store.Messages(ctx, sc, ticketID, after, 0, limit, false)
	if err != nil {
		return nil, fmt.Errorf("chat: messages after %d: %w", after, err)
	}
	return ms, nil
}

// Resume is what a reconnecting widget gets: the messages it missed, in
// order per ticket, and the state of its tickets.
type Resume struct {
	Messages []Message
	Tickets  []helpdesk.Ticket
	// Cursors is the last seq sent per ticket.
	Cursors map[string]int64
}

// Resume computes the replay for a customer who holds the messages up to
// held[ticket] of each ticket listed. Their latest chat ticket is included
// when not listed (its last ReplayWindow messages). Tickets that are not
// theirs are ignored.
func (s *Service) Resume(ctx context.Context, sc scope.Scope, customerID string, held map[string]int64) (Resume, error) {
	out := Resume{Messages: []Message{}, Tickets: []helpdesk.Ticket{}, Cursors: map[string]int64{}}
	latest, found, err := s.customerTicket(ctx, sc, customerID, "")
	if err != nil {
		return Resume{}, err
	}
	if found {
		if _, listed := held[latest.ID]; !listed {
			from := max(latest.LastSeq-ReplayWindow, 0)
			held = mapWith(held, latest.ID, from)
		}
	}
	// At most maxTickets are served: the latest first, so that the open
	// ticket is never the one left out, then the newest (ids sort by time).
	// At most maxLookups of the ids held are looked up, found or not: a
	// resume frame can name hundreds of made-up ids, each a query.
	const maxTickets, maxLookups = 20, 50
	order := make([]string, 0, len(held))
	for id := range held {
		if !found || id != latest.ID {
			order = append(order, id)
		}
	}
	slices.Sort(order)
	slices.Reverse(order)
	if found {
		order = slices.Insert(order, 0, latest.ID)
	}
	n := 0
	for i, id := range order {
		seq := held[id]
		if n == maxTickets || i == maxLookups {
			break
		}
		t, found, err := s.customerTicket(ctx, sc, customerID, id)
		if errs.Is(err, errs.NotFound) || (err == nil && !found) {
			continue
		}
		if err != nil {
			return Resume{}, err
		}
		n++
		out.Tickets = append(out.Tickets, t)
		seq = max(seq, 0)
		for seq < t.LastSeq {
			ms, err := s.CustomerAfter(ctx, sc, t.ID, seq, MaxPage)
			if err != nil {
				return Resume{}, err
			}
			if len(ms) == 0 {
				break
			}
			out.Messages = append(out.Messages, ms...)
			seq = ms[len(ms)-1].Seq
		}
		// Every message the customer may see up to LastSeq has been sent:
		// internal notes at the end leave no gap to fill later.
		out.Cursors[t.ID] = max(seq, t.LastSeq)
	}
	return out, nil
}

func mapWith(m map[string]int64, k string, v int64) map[string]int64 {
	out := make(map[string]int64, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[k] = v
	return out
}

// CustomerRead records how far the customer has read one of their tickets
// and tells their other connections.
func (s *Service) CustomerRead(ctx context.Context, sc scope.Scope, customerID, ticketID string, seq int64) (helpdesk.Ticket, error) {
	t, found, err := s.customerTicket(ctx, sc, customerID, ticketID)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	if !found { // no ticket named, and none to read
		return helpdesk.Ticket{}, errTicketNotFound
	}
	return s.read(ctx, sc, t, ReaderCustomer, seq)
}

// Delivery says that a ticket's messages up to Seq were written to one of
// its customer's open sockets.
type Delivery struct {
	Scope    scope.Scope
	TicketID string
	Seq      int64
}

// Delivered records deliveries, in one write: the customer had those
// messages, so the offline email that waits for them is not sent.
func (s *Service) Delivered(ctx context.Context, ds []Delivery) error {
	if err := s.store.SetDeliveredSeqs(ctx, ds); err != nil {
		return fmt.Errorf("chat: delivered: %w", err)
	}
	return nil
}

// AgentRead records how far the agents have read a ticket; the customer's
// widget shows it as read marks.
func (s *Service) AgentRead(ctx context.Context, sc scope.Scope, ticketID string, seq int64) (helpdesk.Ticket, error) {
	t, err := s.Ticket(ctx, sc, ticketID)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	return s.read(ctx, sc, t, ReaderAgent, seq)
}

func (s *Service) read(ctx context.Context, sc scope.Scope, t helpdesk.Ticket, reader string, seq int64) (helpdesk.Ticket, error) {
	if seq < 0 {
		return helpdesk.Ticket{}, errs.Invalidf("seq", "seq must not be negative")
	}
	cur := t.CustomerReadSeq
	if reader == ReaderAgent {
		cur = t.AgentReadSeq
	}
	if seq <= cur {
		// The position only moves forward: nothing to write or tell (a
		// dashboard posts its read at every load and return to the tab).
		return t, nil
	}
	t, err := s.store.SetReadSeq(ctx, sc, t.ID, reader, seq)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("chat: read: %w", err)
	}
	pos := t.CustomerReadSeq
	if reader == ReaderAgent {
		pos = t.AgentReadSeq
	}
	s.pub.Publish(ctx, Event{Type: Read, TeamID: sc.TeamID, Mode: sc.Mode, TicketID: t.ID, CustomerID: t.CustomerID,
		Reader: reader, Seq: pos, CreatedAt: s.clock()})
	return t, nil
}

// CustomerTyping tells the agents that the customer is (or stopped) typing
// in their open chat ticket. Nothing happens when they have none.
func (s *Service) CustomerTyping(ctx context.Context, sc scope.Scope, c helpdesk.Customer, typing bool) error {
	t, found, err := s.customerTicket(ctx, sc, c.ID, "")
	if err != nil || !found || t.Status == helpdesk.StatusClosed {
		return err
	}
	name := c.DisplayName()
	s.pub.Publish(ctx, Event{Type: Typing, TeamID: sc.TeamID, Mode: sc.Mode, TicketID: t.ID, CustomerID: c.ID,
		Author: Author{Type: AuthorCustomer, ID: c.ID, Name: name}, Typing: typing, CreatedAt: s.clock()})
	return nil
}

// AgentTyping tells the ticket's customer that an agent is (or stopped)
// typing.
func (s *Service) AgentTyping(ctx context.Context, sc scope.Scope, ticketID, authorName string, typing bool) error {
	name, err := cleanName(authorName)
	if err != nil {
		return err
	}
	t, err := s.Ticket(ctx, sc, ticketID)
	if err != nil {
		return err
	}
	s.pub.Publish(ctx, Event{Type: Typing, TeamID: sc.TeamID, Mode: sc.Mode, TicketID: t.ID, CustomerID: t.CustomerID,
		Author: Author{Type: AuthorAgent, Name: name}, Typing: typing, CreatedAt: s.clock()})
	return nil
}

// SessionEnded closes the live connections of a session (or, with an empty
// session id, of every session of the customer).
func (s *Service) SessionEnded(ctx context.Context, sc scope.Scope, customerID, sessionID string) {
	s.pub.Publish(ctx, Event{Type: SessionRevoked, TeamID: sc.TeamID, Mode: sc.Mode, CustomerID: customerID,
		SessionID: sessionID, CreatedAt: s.clock()})
}

// AgentEnded closes, on every process, the open dashboards of an agent's
// session (or of all its sessions when sessionID is empty), in both modes
// (implements agent.Ender).
func (s *Service) AgentEnded(ctx context.Context, teamID, agentID, sessionID string) {
	for _, m := range []scope.Mode{scope.Live, scope.Test} {
		s.pub.Publish(ctx, Event{Type: AgentEnded, TeamID: teamID, Mode: m, Author: Author{Type: AuthorAgent, ID: agentID},
			SessionID: sessionID, CreatedAt: s.clock()})
	}
}

// KeyEnded closes, on every process, the live connections opened with API
// key keyID of scope sc once the key stops working at at (implements
// apikey.EndListener).
func (s *Service) KeyEnded(ctx context.Context, sc scope.Scope, keyID string, at time.Time) {
	s.pub.Publish(ctx, Event{Type: KeyEnded, TeamID: sc.TeamID, Mode: sc.Mode, KeyID: keyID, CreatedAt: at.UTC()})
}

// RecordArticleViews notes, for the agents, the published Library articles
// the customer opened in the widget before writing to their ticket ticketID
// (at most protocol.MaxArticleViews; other ids are ignored, as are tickets
// that are not the customer's).
func (s *Service) RecordArticleViews(ctx context.Context, sc scope.Scope, customerID, ticketID string, articleIDs []string) error {
	t, found, err := s.customerTicket(ctx, sc, customerID, ticketID)
	if err != nil || !found {
		return err
	}
	var list []string
	for _, id := range articleIDs {
		if id, ok := ids.Canonical(id); ok && len(list) < maxArticleViews && !slices.Contains(list, id) {
			list = append(list, id)
		}
	}
	if len(list) == 0 {
		return nil
	}
	if err := s.store.RecordArticleViews(ctx, sc, t.ID, list, s.clock()); err != nil {
		return fmt.Errorf("chat: record article views: %w", err)
	}
	return nil
}

// ArticleViews lists the Library articles the customer opened before
// writing to a ticket of sc.
func (s *Service) ArticleViews(ctx context.Context, sc scope.Scope, ticketID string) ([]ArticleView, error) {
	t, err := s.Ticket(ctx, sc, ticketID)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.ArticleViews(ctx, sc, t.ID)
	if err != nil {
		return nil, fmt.Errorf("chat: article views: %w", err)
	}
	return vs, nil
}

// EventsAfter returns up to limit durable events after position after.
func (s *Service) EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]Event, error) {
	evs, err := s.store.EventsAfter(ctx, sc, after, limit)
	if err != nil {
		return nil, fmt.Errorf("chat: events after %d: %w", after, err)
	}
	return evs, nil
}

// Oldest is the first position of sc's events log still kept: a stream that
// resumes from before it has missed events it can no longer get.
func (s *Service) Oldest(ctx context.Context, sc scope.Scope) (int64, error) {
	p, err := s.store.OldestPos(ctx, sc)
	if err != nil {
		return 0, fmt.Errorf("chat: oldest: %w", err)
	}
	return p, nil
}

// ExpireEvents removes the durable events older than retention (the
// messages and tickets stay; only the stream's replay is bounded).
func (s *Service) ExpireEvents(ctx context.Context, retention time.Duration) (int64, error) {
	n, err := s.store.DeleteEventsBefore(ctx, s.now().Add(-retention))
	if err != nil {
		return n, fmt.Errorf("chat: expire events: %w", err)
	}
	return n, nil
}

// Head is the position of the team's last durable event.
func (s *Service) Head(ctx context.Context, sc scope.Scope) (int64, error) {
	p, err := s.store.HeadPos(ctx, sc)
	if err != nil {
		return 0, fmt.Errorf("chat: head: %w", err)
	}
	return p, nil
}
