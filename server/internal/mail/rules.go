package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
)

// jobsFor turns events into mail: an agent's message waits for its customer
// (OfflineReply, one per conversation while it waits); a customer's message
// waits for the agent it is assigned to (AssignedReply); a new conversation
// goes to the agents who want to hear of them. Internal notes make no mail.
func (s *Service) jobsFor(evs []EventRef) []Job {
	var out []Job
	add := func(kind Kind, ev EventRef, agentID, key string, due time.Duration) {
		j, err := NewJob(kind, ev.CreatedAt)
		if err != nil {
			s.log.Error("mail: new job", "err", err)
			return
		}
		j.TeamID, j.Mode, j.SubjectID, j.AgentID, j.DedupeKey = ev.Scope.TeamID, ev.Scope.Mode, ev.TicketID, agentID, key
		j.Due = j.Due.Add(due)
		out = append(out, j)
	}
	for _, ev := range evs {
		switch ev.Type {
		case chat.TicketCreated:
			for _, a := range ev.NotifyAgents {
				add(NewConversation, ev, a, "new:"+ev.TicketID+":"+a, 0)
			}
		case chat.MessageCreated:
			switch {
			case ev.Note || ev.TicketID == "":
			case ev.AuthorType == chat.AuthorCustomer:
				if ev.AssigneeID != "" && ev.AssigneeWants {
					add(AssignedReply, ev, ev.AssigneeID, "assigned:"+ev.TicketID+":"+ev.AssigneeID, s.cfg.AgentDelay)
				}
			case ev.CustomerID != "":
				add(OfflineReply, ev, "", "offline:"+ev.TicketID, s.cfg.OfflineDelay)
			}
		}
	}
	return out
}

// Unsubscribe stops the offline replies of the customer an unsubscribe
// link's token names. The token works as often as it is used (mail clients
// and people may both click) until it expires.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	hash, ok := ParseToken(PurposeUnsubscribe, token)
	if !ok {
		return errUnsubscribe
	}
	tok, err := s.store.MailToken(ctx, PurposeUnsubscribe, hash, s.clock())
	if errors.Is(err, errs.ErrNotFound) {
		return errUnsubscribe
	}
	if err != nil {
		return fmt.Errorf("mail: unsubscribe: %w", err)
	}
	if err := s.store.SetUnsubscribed(ctx, tok.Scope(), tok.SubjectID, s.clock()); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return fmt.Errorf("mail: unsubscribe: %w", err)
	}
	s.log.Info("customer unsubscribed from offline replies", "customer", tok.SubjectID)
	return nil
}

var errUnsubscribe = errs.NotFoundf("This unsubscribe link is not valid or has expired.")

// DevMailbox returns the team's latest mail kept in the development
// mailbox, newest first.
func (s *Service) DevMailbox(ctx context.Context, teamID string, limit int) ([]DevMail, error) {
	out, err := s.store.DevMails(ctx, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("mail: dev mailbox: %w", err)
	}
	return out, nil
}

// Recent returns the team's latest jobs, newest first: what was sent,
// refused or dropped, and why.
func (s *Service) Recent(ctx context.Context, teamID string, limit int) ([]Job, error) {
	out, err := s.store.RecentMail(ctx, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("mail: recent: %w", err)
	}
	return out, nil
}
