package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/password"
)

// MailStore is what resets and notifications need from persistence.
type MailStore interface {
	// MailToken returns the token stored under hash for purpose p while it
	// works at now; errs.ErrNotFound otherwise.
	MailToken(ctx context.Context, p mail.Purpose, hash []byte, now time.Time) (mail.Token, error)
	// ResetAgentPassword, in one transaction: uses the reset token of
	// tokenHash (errs.ErrNotFound when it no longer works), spends the
	// agent's other reset tokens, sets the password hash and deletes every
	// session of the agent.
	ResetAgentPassword(ctx context.Context, agentID string, tokenHash []byte, passwordHash string, now time.Time) error
	// SetAgentNotifications writes what an agent wants to hear of by email.
	SetAgentNotifications(ctx context.Context, teamID, id string, n Notifications) error
}

// Mailer queues email (mail.Service).
type Mailer interface {
	Enqueue(ctx context.Context, jobs ...mail.Job) error
	Wake()
}

// WithMailer emails invitations and password resets through m.
func WithMailer(m Mailer) Option { return func(s *Service) { s.mailer = m } }

// Notifications are what an agent wants to hear of by email.
type Notifications struct {
	// NewConversations: every new conversation of the team.
	NewConversations bool
	// AssignedReplies: a customer's reply in a conversation assigned to
	// them that they have not read within a minute.
	AssignedReplies bool
}

var errResetLink = errs.Invalidf("token", "This link is not valid or has expired: ask for a new one")

// RequestPasswordReset queues a reset link for the agent with email, if
// there is one; the answer, and the work before it, are the same either way
// (the worker looks the agent up). Requests are throttled as the customers'
// are: ten an hour per client address, then 429; three mails an hour per
// address asked for, then silence.
func (s *Service) RequestPasswordReset(ctx context.Context, email, ip string) error {
	email, err := cleanEmail(email)
	if err != nil {
		return err
	}
	now := s.now()
	ipKey, emailKey := "agent-reset\x00ip\x00"+identity.ClientNet(ip), "agent-reset\x00acct\x00"+email
	tooMany := func(d time.Duration) error {
		return &errs.Error{Code: errs.RateLimited, Message: identity.MsgTooManyResets, RetryAfter: d}
	}
	if d, err := s.counter.Blocked(ctx, now, ipKey); err != nil {
		return fmt.Errorf("agent: reset throttle: %w", err)
	} else if d > 0 {
		return tooMany(d)
	}
	if _, d, err := s.counter.Fail(ctx, ipKey, identity.ResetIPPolicy, now); err != nil {
		return fmt.Errorf("agent: reset throttle: %w", err)
	} else if d > 0 {
		return tooMany(d)
	}
	d, err := s.counter.Blocked(ctx, now, emailKey)
	if err != nil {
		return fmt.Errorf("agent: reset throttle: %w", err)
	}
	if d == 0 {
		if _, d, err = s.counter.Fail(ctx, emailKey, identity.ResetEmailPolicy, now); err != nil {
			return fmt.Errorf("agent: reset throttle: %w", err)
		}
	}
	if d > 0 || s.mailer == nil {
		return nil
	}
	j, err := mail.NewJob(mail.AgentReset, now)
	if err != nil {
		return err
	}
	j.To = email
	if err := s.mailer.Enqueue(ctx, j); err != nil {
		return fmt.Errorf("agent: reset: %w", err)
	}
	return nil
}

// ResetPassword sets the password of the agent a reset link's token names,
// after the password policy; the token works once, within mail.ResetTTL,
// while the agent keeps the address it was sent to. Every session of the
// agent ends (their open dashboards close) and this browser signs in, to
// the second factor first when the agent has one.
func (s *Service) ResetPassword(ctx context.Context, token, pw string, c Client) (Agent, Issued, error) {
	hash, ok := mail.ParseToken(mail.PurposeAgentReset, token)
	if !ok {
		return Agent{}, Issued{}, errResetLink
	}
	tok, err := s.store.MailToken(ctx, mail.PurposeAgentReset, hash, s.clock())
	if errors.Is(err, errs.ErrNotFound) {
		return Agent{}, Issued{}, errResetLink
	}
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: reset: %w", err)
	}
	a, err := s.store.AgentByID(ctx, tok.TeamID, tok.SubjectID)
	if errors.Is(err, errs.ErrNotFound) || err == nil && a.Email != tok.Email {
		return Agent{}, Issued{}, errResetLink
	}
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: reset: %w", err)
	}
	teamName, _, err := s.store.TeamSignIn(ctx, a.TeamID)
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: team: %w", err)
	}
	if err := password.Check(pw, password.Context{Email: a.Email, Name: a.Name, Team: teamName}); err != nil {
		return Agent{}, Issued{}, err
	}
	pwHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	switch err := s.store.ResetAgentPassword(ctx, a.ID, hash, pwHash, s.clock()); {
	case errors.Is(err, errs.ErrNotFound):
		return Agent{}, Issued{}, errResetLink
	case err != nil:
		return Agent{}, Issued{}, fmt.Errorf("agent: reset: %w", err)
	}
	s.ended(ctx, a.TeamID, a.ID, "")
	stage, err := s.stageFor(ctx, a)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	iss, err := s.issue(ctx, a, stage, c)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	s.log.Info("agent password reset", "agent", a.ID)
	return a, iss, nil
}

// SetNotifications writes what agent a wants to hear of by email.
func (s *Service) SetNotifications(ctx context.Context, a Agent, n Notifications) (Agent, error) {
	if err := s.store.SetAgentNotifications(ctx, a.TeamID, a.ID, n); err != nil {
		return Agent{}, fmt.Errorf("agent: notifications: %w", err)
	}
	a.Notify = n
	return a, nil
}

// invitationJob is the mail of a new invitation.
func invitationJob(inv Invitation, now time.Time) ([]mail.Job, error) {
	j, err := mail.NewJob(mail.AgentInvitation, now)
	if err != nil {
		return nil, err
	}
	j.TeamID, j.SubjectID, j.To = inv.TeamID, inv.ID, ""
	return []mail.Job{j}, nil
}
