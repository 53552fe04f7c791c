package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// MsgNotVisitor refuses a visitor's own changes from a customer who signed
// in: what an account or a site's user is called is proven elsewhere.
const MsgNotVisitor = "Only an anonymous visitor can set this"

// VisitorInput is what an anonymous visitor may say about themselves: claims
// that nothing proves, stored as unverified.
type VisitorInput struct {
	// Email is kept apart from the customer's email (unverified_email): it
	// is never looked up, unique or merged.
	Email string
	Name  string
}

func (in VisitorInput) clean() (VisitorInput, error) {
	email, err := text.Email("email", in.Email)
	if err != nil {
		return VisitorInput{}, err
	}
	if email != "" && !helpdesk.ValidEmail(email) {
		return VisitorInput{}, errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
	}
	name := strings.TrimSpace(in.Name)
	if err := text.Line("name", name); err != nil {
		return VisitorInput{}, err
	}
	if utf8.RuneCountInString(name) > maxName {
		return VisitorInput{}, errs.Invalidf("name", "name must be at most %d characters", maxName)
	}
	return VisitorInput{Email: email, Name: name}, nil
}

// CreateVisitor makes an anonymous visitor of sc, a customer of kind
// visitor known only by the token of its session (the widget creates one
// when someone writes before signing in), and signs it in. The email and
// name it may give are unverified claims.
func (s *Service) CreateVisitor(ctx context.Context, sc scope.Scope, in VisitorInput) (helpdesk.Customer, Issued, error) {
	in, err := in.clean()
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	id, err := ids.New()
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	now := s.clock()
	c := helpdesk.Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Name: in.Name, Metadata: map[string]any{},
		CreatedAt: now, UpdatedAt: now, Kind: helpdesk.KindVisitor, EmailVerified: true, UnverifiedEmail: in.Email}
	v := Verification{EmailVerified: true, NameVerified: in.Name == "", UnverifiedEmail: in.Email}
	c.NameVerified = v.NameVerified
	if err := s.store.InsertIdentified(ctx, c, v); err != nil {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: create visitor: %w", err)
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	return c, iss, nil
}

// UpdateVisitor records the email or the name the visitor of token typed
// (each left alone when empty), as unverified claims.
func (s *Service) UpdateVisitor(ctx context.Context, sc scope.Scope, token string, in VisitorInput) (helpdesk.Customer, error) {
	_, c, err := s.Authenticate(ctx, sc, token)
	if err != nil {
		return helpdesk.Customer{}, err
	}
	if c.Kind != helpdesk.KindVisitor {
		return helpdesk.Customer{}, errs.New(errs.Forbidden, MsgNotVisitor)
	}
	if in, err = in.clean(); err != nil {
		return helpdesk.Customer{}, err
	}
	v := Verification{EmailVerified: c.EmailVerified, NameVerified: c.NameVerified, UnverifiedEmail: c.UnverifiedEmail}
	if in.Email != "" {
		c.UnverifiedEmail, v.UnverifiedEmail = in.Email, in.Email
	}
	if in.Name != "" {
		c.Name, c.NameVerified, v.NameVerified = in.Name, false, false
	}
	c.UpdatedAt = s.clock()
	if err := s.store.UpdateIdentified(ctx, c, v); err != nil {
		return helpdesk.Customer{}, fmt.Errorf("identity: update visitor: %w", err)
	}
	return c, nil
}

// Merged is what a merge moved: the visitor's conversations, now into's.
type Merged struct {
	VisitorID string
	// Tickets is how many conversations moved.
	Tickets int
}

// MergeVisitor moves the conversations of the anonymous visitor whose token
// is visitorToken into customer into, who has just signed up, logged in or
// been identified in the same request. Possession of the token is the
// proof, and the only one: an email, a name or a customer id never merges
// anything. A token that is missing, invalid, expired, or not a visitor's
// merges nothing and is no error (the sign-in stands). The visitor's
// sessions end; its row stays, naming into.
//
// When both have an open chat conversation, the visitor's stays open (it
// is the one the person is writing in) and into's is closed, so that the
// customer keeps one open chat.
func (s *Service) MergeVisitor(ctx context.Context, sc scope.Scope, visitorToken string, into helpdesk.Customer) (Merged, error) {
	if visitorToken == "" {
		return Merged{}, nil
	}
	_, v, err := s.Authenticate(ctx, sc, visitorToken)
	if errs.Is(err, errs.Unauthorized) {
		return Merged{}, nil
	}
	if err != nil {
		return Merged{}, err
	}
	if v.Kind != helpdesk.KindVisitor || v.ID == into.ID || v.MergedInto != "" {
		return Merged{}, nil
	}
	n, err := s.store.MergeVisitor(ctx, sc, v.ID, into.ID, s.clock())
	if errors.Is(err, errs.ErrNotFound) { // merged meanwhile, by another request
		return Merged{}, nil
	}
	if err != nil {
		return Merged{}, fmt.Errorf("identity: merge visitor: %w", err)
	}
	return Merged{VisitorID: v.ID, Tickets: n}, nil
}
