package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/password"
)

// InvitationTTL is how long an invitation link works.
const InvitationTTL = 7 * 24 * time.Hour

// invitePrefix marks an invitation token (the mailed ones too).
const invitePrefix = mail.InvitationPrefix

// Invitation asks someone to join a team as an agent: a link with a token
// (kept only as its hash) that works once, for InvitationTTL.
type Invitation struct {
	ID         string
	TeamID     string
	Email      string
	Role       Role
	InvitedBy  string // the inviting agent's id; "" once removed
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
}

// InvitationStore keeps invitations.
type InvitationStore interface {
	// InsertInvitation stores an invitation and queues its mail in the
	// same transaction.
	InsertInvitation(ctx context.Context, inv Invitation, tokenHash []byte, jobs ...mail.Job) error
	// InvitationByTokenHash returns the invitation, whatever its state; the
	// hash is of the invitation's own token or of one its mail carried.
	InvitationByTokenHash(ctx context.Context, hash []byte) (Invitation, error)
	// AcceptInvitation marks the invitation of hash accepted at at and
	// stores a as its agent, in one transaction; only one caller can: for
	// the others, and once expired, it returns errs.ErrNotFound. An email
	// already taken wraps errs.ErrConflict (and the invitation stays
	// unused).
	AcceptInvitation(ctx context.Context, hash []byte, at time.Time, a Agent, passwordHash string) error
	// ListInvitations returns a team's invitations not accepted and not
	// expired at now, newest first.
	ListInvitations(ctx context.Context, teamID string, now time.Time) ([]Invitation, error)
	DeleteInvitation(ctx context.Context, teamID, id string) (Invitation, error)
}

var errInvitation = errs.NotFoundf("This invitation is not valid: it was used, withdrawn or has expired. Ask for a new one.")

// Invite asks email to join actor's team with role; the link's token is
// returned once (the inviter may copy it), and the invitation is emailed
// with a token of its own.
// Admins invite admins and agents; owners anyone.
func (s *Service) Invite(ctx context.Context, actor Agent, email string, role Role) (Invitation, string, error) {
	if !role.Valid() {
		return Invitation{}, "", errs.Invalidf("role", "role must be owner, admin or agent")
	}
	if err := mayChange(actor, Agent{}, role); err != nil {
		return Invitation{}, "", err
	}
	email, err := cleanEmail(email)
	if err != nil {
		return Invitation{}, "", err
	}
	if _, _, err := s.store.AgentByEmail(ctx, email); err == nil {
		return Invitation{}, "", errs.Conflictf(MsgEmailTaken)
	} else if !errors.Is(err, errs.ErrNotFound) {
		return Invitation{}, "", fmt.Errorf("agent: invite: %w", err)
	}
	tok, err := newToken(invitePrefix)
	if err != nil {
		return Invitation{}, "", err
	}
	id, err := ids.New()
	if err != nil {
		return Invitation{}, "", err
	}
	now := s.clock()
	inv := Invitation{ID: id, TeamID: actor.TeamID, Email: email, Role: role, InvitedBy: actor.ID, CreatedAt: now,
		ExpiresAt: now.Add(InvitationTTL)}
	var jobs []mail.Job
	if s.mailer != nil {
		if jobs, err = invitationJob(inv, now); err != nil {
			return Invitation{}, "", err
		}
	}
	if err := s.store.InsertInvitation(ctx, inv, HashToken(tok), jobs...); err != nil {
		return Invitation{}, "", fmt.Errorf("agent: invite: %w", err)
	}
	if s.mailer != nil {
		s.mailer.Wake()
	}
	return inv, tok, nil
}

// Invitation returns the invitation of token while it can be accepted.
func (s *Service) Invitation(ctx context.Context, token string) (Invitation, error) {
	if !wellFormed(token, invitePrefix) {
		return Invitation{}, errInvitation
	}
	inv, err := s.store.InvitationByTokenHash(ctx, HashToken(token))
	if errors.Is(err, errs.ErrNotFound) {
		return Invitation{}, errInvitation
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("agent: invitation: %w", err)
	}
	if inv.AcceptedAt != nil || !s.now().Before(inv.ExpiresAt) {
		return Invitation{}, errInvitation
	}
	return inv, nil
}

// Accept turns the invitation of token into an agent with name and password
// and signs them in (to the second factor's set-up first, when the team
// requires one). It works once.
func (s *Service) Accept(ctx context.Context, token, name, pw, teamName string, c Client) (Agent, Issued, error) {
	inv, err := s.Invitation(ctx, token)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	name, err = cleanName(name)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	if err := password.Check(pw, password.Context{Email: inv.Email, Name: name, Team: teamName}); err != nil {
		return Agent{}, Issued{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	id, err := ids.New()
	if err != nil {
		return Agent{}, Issued{}, err
	}
	now := s.clock()
	a := Agent{ID: id, TeamID: inv.TeamID, Email: inv.Email, Name: name, Role: inv.Role, CreatedAt: now, UpdatedAt: now}
	switch err := s.store.AcceptInvitation(ctx, HashToken(token), now, a, hash); {
	case errors.Is(err, errs.ErrNotFound):
		return Agent{}, Issued{}, errInvitation
	case errors.Is(err, errs.ErrConflict):
		return Agent{}, Issued{}, errs.Conflictf(MsgEmailTaken)
	case err != nil:
		return Agent{}, Issued{}, fmt.Errorf("agent: accept invitation: %w", err)
	}
	stage, err := s.stageFor(ctx, a)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	iss, err := s.issue(ctx, a, stage, c)
	return a, iss, err
}

// Invitations lists a team's open invitations.
func (s *Service) Invitations(ctx context.Context, teamID string) ([]Invitation, error) {
	out, err := s.store.ListInvitations(ctx, teamID, s.now())
	if err != nil {
		return nil, fmt.Errorf("agent: invitations: %w", err)
	}
	return out, nil
}

// Withdraw deletes an open invitation of actor's team.
func (s *Service) Withdraw(ctx context.Context, actor Agent, id string) (Invitation, error) {
	if !actor.Role.Manages() {
		return Invitation{}, errForbidden
	}
	id, ok := ids.Canonical(id)
	if !ok {
		return Invitation{}, errs.NotFoundf("Invitation not found")
	}
	inv, err := s.store.DeleteInvitation(ctx, actor.TeamID, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Invitation{}, errs.NotFoundf("Invitation not found")
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("agent: withdraw invitation: %w", err)
	}
	return inv, nil
}
