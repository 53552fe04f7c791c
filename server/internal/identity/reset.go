package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// MailStore is what resets and verification need from persistence.
type MailStore interface {
	// MailToken returns the token stored under hash for purpose p while it
	// works at now (unused, unexpired); errs.ErrNotFound otherwise.
	MailToken(ctx context.Context, p mail.Purpose, hash []byte, now time.Time) (mail.Token, error)
	// ResetPassword, in one transaction: uses the reset token of tokenHash
	// (errs.ErrNotFound when it no longer works), spends the customer's
	// other reset tokens, sets the password hash, marks the email verified
	// (the mail reached it) and deletes every session of the customer,
	// whose ids it returns. The customer must still have the email the
	// token was sent to.
	ResetPassword(ctx context.Context, sc scope.Scope, customerID string, tokenHash []byte, passwordHash string, now time.Time) ([]string, error)
	// VerifyEmail uses the verification token of tokenHash and marks the
	// email it was sent to verified, if its customer still has it; it
	// returns the customer's id, or errs.ErrNotFound.
	VerifyEmail(ctx context.Context, sc scope.Scope, tokenHash []byte, now time.Time) (string, error)
}

// Mailer queues email (mail.Service).
type Mailer interface {
	Enqueue(ctx context.Context, jobs ...mail.Job) error
	// Wake makes the worker look at the outbox now (after a transaction
	// that queued mail with other writes).
	Wake()
}

// WithMailer queues the customers' email through m: verification after
// signup, password resets.
func WithMailer(m Mailer) Option { return func(s *Service) { s.mailer = m } }

// The reset requests' throttles (docs/security.md): per client address, a
// 429 beyond ten an hour; per email, three mails an hour, and beyond that
// the request is answered as always but nothing is sent, so that nobody
// can fill a stranger's mailbox.
var (
	ResetIPPolicy    = ThrottlePolicy{Free: 11, Window: time.Hour, Base: 5 * time.Minute, Max: time.Hour}
	ResetEmailPolicy = ThrottlePolicy{Free: 4, Window: time.Hour, Base: 15 * time.Minute, Max: time.Hour}
)

// Messages of resets and verification.
const (
	MsgTooManyResets = "Too many password reset requests, please retry later"
	MsgResetLink     = "This link is not valid or has expired: ask for a new one"
	MsgVerifyLink    = "This confirmation link is not valid or has expired"
)

var (
	errResetLink  = errs.Invalidf("token", MsgResetLink)
	errVerifyLink = errs.Invalidf("token", MsgVerifyLink)
)

// ClientNet is the client as the throttles count it: an IPv4 address, or
// an IPv6 client's /64.
func ClientNet(ip string) string { return clientNet(ip) }

func resetKeys(sc scope.Scope, email, ip string) (ipKey, emailKey string) {
	return "reset\x00ip\x00" + clientNet(ip), "reset\x00acct\x00" + sc.TeamID + "\x00" + string(sc.Mode) + "\x00" + email
}

// RequestPasswordReset queues a reset link for the password account of sc
// with email, if there is one. Its answer, and the work done before it, are
// the same whether the account exists or not: the account is looked up when
// the mail is composed, by the worker, never on the request's path. ip names
// the client; locale is the language asked for ("" for the customer's).
func (s *Service) RequestPasswordReset(ctx context.Context, sc scope.Scope, email, ip, locale string) error {
	email, err := text.Email("email", email)
	if err != nil {
		return err
	}
	if !helpdesk.ValidEmail(email) {
		return errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
	}
	now := s.now()
	ipKey, emailKey := resetKeys(sc, email, ip)
	tooMany := func(d time.Duration) error {
		return &errs.Error{Code: errs.RateLimited, Message: MsgTooManyResets, RetryAfter: d}
	}
	if d, err := s.throttle.Blocked(ctx, now, ipKey); err != nil {
		return fmt.Errorf("identity: reset throttle: %w", err)
	} else if d > 0 {
		return tooMany(d)
	}
	if _, d, err := s.throttle.Fail(ctx, ipKey, ResetIPPolicy, now); err != nil {
		return fmt.Errorf("identity: reset throttle: %w", err)
	} else if d > 0 {
		return tooMany(d)
	}
	d, err := s.throttle.Blocked(ctx, now, emailKey)
	if err != nil {
		return fmt.Errorf("identity: reset throttle: %w", err)
	}
	if d == 0 {
		if _, d, err = s.throttle.Fail(ctx, emailKey, ResetEmailPolicy, now); err != nil {
			return fmt.Errorf("identity: reset throttle: %w", err)
		}
	}
	if d > 0 || s.mailer == nil {
		return nil
	}
	j, err := mail.NewJob(mail.CustomerReset, now)
	if err != nil {
		return err
	}
	j.TeamID, j.Mode, j.To, j.Locale = sc.TeamID, sc.Mode, email, locale
	if err := s.mailer.Enqueue(ctx, j); err != nil {
		return fmt.Errorf("identity: reset: %w", err)
	}
	return nil
}

// ResetInput is a new password chosen with a reset link's token. TeamName is
// context for the password policy.
type ResetInput struct {
	Token, Password, TeamName string
}

// Reset is the outcome of a password reset: the customer, signed in anew,
// and the sessions that ended (whose open sockets must close).
type Reset struct {
	Customer helpdesk.Customer
	Issued   Issued
	Ended    []string
}

// ResetPassword sets the password of the customer a reset link's token
// names, after the password policy: the token works once, within
// mail.ResetTTL, and only while the account keeps the address it was sent
// to. Every session of the customer ends, and this browser is signed in.
func (s *Service) ResetPassword(ctx context.Context, sc scope.Scope, in ResetInput) (Reset, error) {
	hash, ok := mail.ParseToken(mail.PurposeCustomerReset, in.Token)
	if !ok {
		return Reset{}, errResetLink
	}
	tok, err := s.store.MailToken(ctx, mail.PurposeCustomerReset, hash, s.clock())
	if errors.Is(err, errs.ErrNotFound) || err == nil && tok.Scope() != sc {
		return Reset{}, errResetLink
	}
	if err != nil {
		return Reset{}, fmt.Errorf("identity: reset: %w", err)
	}
	c, err := s.store.CustomerByID(ctx, sc, tok.SubjectID)
	if errors.Is(err, errs.ErrNotFound) || err == nil && c.Email != tok.Email {
		return Reset{}, errResetLink
	}
	if err != nil {
		return Reset{}, fmt.Errorf("identity: reset: %w", err)
	}
	if err := password.Check(in.Password, password.Context{Email: c.Email, Name: c.Name, Team: in.TeamName}); err != nil {
		return Reset{}, err
	}
	pwHash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return Reset{}, err
	}
	ended, err := s.store.ResetPassword(ctx, sc, c.ID, hash, pwHash, s.clock())
	if errors.Is(err, errs.ErrNotFound) {
		return Reset{}, errResetLink
	}
	if err != nil {
		return Reset{}, fmt.Errorf("identity: reset: %w", err)
	}
	c.EmailVerified = true
	iss, err := s.issue(ctx, c)
	if err != nil {
		return Reset{}, err
	}
	s.log.Info("customer password reset", "customer", c.ID, "sessions_ended", len(ended))
	return Reset{Customer: c, Issued: iss, Ended: ended}, nil
}

// VerifyEmail marks verified the email that a verification link's token was
// sent to, and returns its customer. The token works once; the customer
// needs no session (the link may be opened in another browser).
func (s *Service) VerifyEmail(ctx context.Context, sc scope.Scope, token string) (helpdesk.Customer, error) {
	hash, ok := mail.ParseToken(mail.PurposeVerifyEmail, token)
	if !ok {
		return helpdesk.Customer{}, errVerifyLink
	}
	id, err := s.store.VerifyEmail(ctx, sc, hash, s.clock())
	if errors.Is(err, errs.ErrNotFound) {
		return helpdesk.Customer{}, errVerifyLink
	}
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("identity: verify email: %w", err)
	}
	c, err := s.store.CustomerByID(ctx, sc, id)
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("identity: verify email: %w", err)
	}
	return c, nil
}

// verificationJob is the verification mail of a new account.
func verificationJob(c helpdesk.Customer, locale string, now time.Time) ([]mail.Job, error) {
	j, err := mail.NewJob(mail.VerifyEmail, now)
	if err != nil {
		return nil, err
	}
	j.TeamID, j.Mode, j.SubjectID, j.Locale = c.TeamID, c.Mode, c.ID, locale
	return []mail.Job{j}, nil
}
