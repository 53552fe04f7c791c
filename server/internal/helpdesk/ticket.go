package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Ticket statuses.
const (
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusClosed  = "closed"
)

// Ticket priorities.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Ticket channels: where the conversation started.
const (
	ChannelAPI   = "api"
	ChannelEmail = "email"
	ChannelChat  = "chat"
)

var (
	statuses   = []string{StatusOpen, StatusPending, StatusClosed}
	priorities = []string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}
	channels   = []string{ChannelAPI, ChannelEmail, ChannelChat}
)

// Limits of a ticket's fields, in characters.
const (
	maxSubject = 500
	maxTags    = 20
	maxTag     = 50
)

// Ticket is one support conversation, optionally tied to a customer.
type Ticket struct {
	ID       string
	TeamID   string
	Mode     scope.Mode
	Subject  string
	Status   string
	Priority string
	Channel  string
	// CustomerID is "" when the ticket has no customer, including after the
	// customer was deleted.
	CustomerID string
	// Tags is never nil.
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ClosedAt is when the ticket last became closed; nil unless closed.
	ClosedAt *time.Time
	// MergedFrom is the anonymous visitor a chat started with, when it
	// moved into its customer at sign-in; "" otherwise.
	MergedFrom string
	// LastSeq is the seq of the ticket's last chat message (0: none);
	// CustomerReadSeq and AgentReadSeq are how far each side has read.
	LastSeq         int64
	CustomerReadSeq int64
	AgentReadSeq    int64
	// AssigneeID is the agent the conversation is assigned to; "" when
	// none (also after the agent was removed).
	AssigneeID string
}

// TicketInput carries the fields to set on create or update; nil fields are
// left as they are (or take their defaults on create). An empty CustomerID
// removes the customer.
type TicketInput struct {
	Subject    *string
	Status     *string
	Priority   *string
	Channel    *string
	CustomerID *string
	Tags       *[]string
}

// TicketFilter narrows a ticket list; empty fields match everything.
type TicketFilter struct {
	Status     string
	CustomerID string
}

// CreateTicket opens a ticket in sc. Status defaults to open, priority to
// normal and channel to api.
func (s *Service) CreateTicket(ctx context.Context, sc scope.Scope, in TicketInput) (Ticket, error) {
	id, err := ids.New()
	if err != nil {
		return Ticket{}, err
	}
	now := s.clock()
	t := Ticket{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Status: StatusOpen, Priority: PriorityNormal,
		Channel: ChannelAPI, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.Subject == nil {
		return Ticket{}, errs.Invalidf("subject", "subject is required")
	}
	if err := s.applyTicket(ctx, sc, &t, in, now); err != nil {
		return Ticket{}, err
	}
	if err := s.store.InsertTicket(ctx, t); err != nil {
		return Ticket{}, ticketWriteErr("create ticket", err)
	}
	return t, nil
}

// Ticket returns the ticket of sc with the given id.
func (s *Service) Ticket(ctx context.Context, sc scope.Scope, id string) (Ticket, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Ticket{}, errs.NotFoundf("Ticket not found")
	}
	t, err := s.store.TicketByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Ticket{}, errs.NotFoundf("Ticket not found")
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("helpdesk: ticket: %w", err)
	}
	return t, nil
}

// UpdateTicket changes the fields of in that are set. Closing a ticket
// stamps ClosedAt; reopening it clears it.
func (s *Service) UpdateTicket(ctx context.Context, sc scope.Scope, id string, in TicketInput) (Ticket, error) {
	t, err := s.Ticket(ctx, sc, id)
	if err != nil {
		return Ticket{}, err
	}
	now := s.clock()
	if err := s.applyTicket(ctx, sc, &t, in, now); err != nil {
		return Ticket{}, err
	}
	t.UpdatedAt = now
	err = s.store.UpdateTicket(ctx, t)
	if errors.Is(err, errs.ErrNotFound) {
		return Ticket{}, errs.NotFoundf("Ticket not found")
	}
	if err != nil {
		return Ticket{}, ticketWriteErr("update ticket", err)
	}
	return t, nil
}

// Assign gives ticket id to agent agentID ("" unassigns it). The help desk
// does not know agents: the caller checks that agentID is one of the team's
// (the database refuses an id that is no agent at all).
func (s *Service) Assign(ctx context.Context, sc scope.Scope, id, agentID string) (Ticket, error) {
	t, err := s.Ticket(ctx, sc, id)
	if err != nil {
		return Ticket{}, err
	}
	if agentID != "" {
		var ok bool
		if agentID, ok = ids.Canonical(agentID); !ok {
			return Ticket{}, errs.Invalidf("assignee", "assignee does not name an agent")
		}
	}
	t.AssigneeID, t.UpdatedAt = agentID, s.clock()
	err = s.store.UpdateTicket(ctx, t)
	if errors.Is(err, errs.ErrNotFound) {
		return Ticket{}, errs.NotFoundf("Ticket not found")
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("helpdesk: assign ticket: %w", err)
	}
	return t, nil
}

// DeleteTicket removes a ticket.
func (s *Service) DeleteTicket(ctx context.Context, sc scope.Scope, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errs.NotFoundf("Ticket not found")
	}
	err := s.store.DeleteTicket(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFoundf("Ticket not found")
	}
	if err != nil {
		return fmt.Errorf("helpdesk: delete ticket: %w", err)
	}
	return nil
}

// ListTickets returns one page of the tickets of sc, newest first.
func (s *Service) ListTickets(ctx context.Context, sc scope.Scope, f TicketFilter, p page.Params) (page.Page[Ticket], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Ticket]{}, err
	}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		return page.Page[Ticket]{}, errs.Invalidf("status", "status must be one of %s", strings.Join(statuses, ", "))
	}
	if f.CustomerID != "" {
		id, ok := ids.Canonical(f.CustomerID)
		if !ok {
			// No customer has that id, so no ticket matches.
			return page.Build(p, []Ticket(nil), func(t Ticket) string { return t.ID }), nil
		}
		f.CustomerID = id
	}
	items, err := s.store.ListTickets(ctx, sc, f, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Ticket]{}, fmt.Errorf("helpdesk: list tickets: %w", err)
	}
	return page.Build(p, items, func(t Ticket) string { return t.ID }), nil
}

func ticketWriteErr(op string, err error) error {
	if errors.Is(err, ErrUnknownCustomer) {
		return ErrUnknownCustomer
	}
	return fmt.Errorf("helpdesk: %s: %w", op, err)
}

// applyTicket validates the set fields of in and copies them onto t.
func (s *Service) applyTicket(ctx context.Context, sc scope.Scope, t *Ticket, in TicketInput, now time.Time) error {
	if in.Subject != nil {
		subject := strings.TrimSpace(*in.Subject)
		if err := text.Line("subject", subject); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(subject); n < 1 || n > maxSubject {
			return errs.Invalidf("subject", "subject must be between 1 and %d characters", maxSubject)
		}
		t.Subject = subject
	}
	if in.Status != nil {
		if !slices.Contains(statuses, *in.Status) {
			return errs.Invalidf("status", "status must be one of %s", strings.Join(statuses, ", "))
		}
		switch {
		case *in.Status == StatusClosed && t.ClosedAt == nil:
			t.ClosedAt = &now
		case *in.Status != StatusClosed:
			t.ClosedAt = nil
		}
		t.Status = *in.Status
	}
	if in.Priority != nil {
		if !slices.Contains(priorities, *in.Priority) {
			return errs.Invalidf("priority", "priority must be one of %s", strings.Join(priorities, ", "))
		}
		t.Priority = *in.Priority
	}
	if in.Channel != nil {
		if !slices.Contains(channels, *in.Channel) {
			return errs.Invalidf("channel", "channel must be one of %s", strings.Join(channels, ", "))
		}
		t.Channel = *in.Channel
	}
	if in.Tags != nil {
		tags, err := cleanTags(*in.Tags)
		if err != nil {
			return err
		}
		t.Tags = tags
	}
	if in.CustomerID != nil {
		if *in.CustomerID == "" {
			t.CustomerID = ""
			return nil
		}
		id, ok := ids.Canonical(*in.CustomerID)
		if !ok {
			return ErrUnknownCustomer
		}
		_, err := s.store.CustomerByID(ctx, sc, id)
		if errors.Is(err, errs.ErrNotFound) {
			return ErrUnknownCustomer
		}
		if err != nil {
			return fmt.Errorf("helpdesk: ticket customer: %w", err)
		}
		t.CustomerID = id
	}
	return nil
}

// cleanTags trims and deduplicates tags, keeping their first-seen order.
func cleanTags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, tag := range in {
		tag = strings.TrimSpace(tag)
		if n := utf8.RuneCountInString(tag); n < 1 || n > maxTag {
			return nil, errs.Invalidf("tags", "each tag must be between 1 and %d characters", maxTag)
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	if len(out) > maxTags {
		return nil, errs.Invalidf("tags", "tags must have at most %d entries", maxTags)
	}
	return out, nil
}
