package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/byoauth"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// MsgIdentityFailed is the one answer to every failed identify, so that a
// forger learns nothing about which check failed.
const MsgIdentityFailed = "Identity verification failed"

var errIdentity = errs.New(errs.Unauthorized, MsgIdentityFailed)

// SecretPrefix starts every identity-verification secret, so that a leak
// scan recognises one. The secret is "isec_" followed by 32 random bytes in
// unpadded base64url (43 characters); the HMAC key is the whole string's
// bytes, prefix included, exactly as shown to the team.
const SecretPrefix = "isec_"

// MaxSecretGrace is the longest the previous secret may stay valid after a
// roll.
const MaxSecretGrace = 7 * 24 * time.Hour

// Secret is a team's identity-verification secret for one mode. It is kept
// in plaintext: HMAC verification needs the key itself, so hashing it, as API
// keys are, is not possible.
type Secret struct {
	TeamID string
	Mode   scope.Mode
	// Current signs new tokens and user hashes.
	Current string
	// Previous still verifies until PreviousExpiresAt after a roll with a
	// grace period, so that sites can roll without a kid; "" when none.
	Previous          string
	PreviousExpiresAt *time.Time
	CreatedAt         time.Time
	RolledAt          *time.Time
}

// keys returns the secrets that verify at now: the current one and the
// previous one while its grace lasts.
func (s Secret) keys(now time.Time) [][]byte {
	out := [][]byte{[]byte(s.Current)}
	if s.Previous != "" && s.PreviousExpiresAt != nil && now.Before(*s.PreviousExpiresAt) {
		out = append(out, []byte(s.Previous))
	}
	return out
}

// NewSecretValue returns a fresh secret: SecretPrefix and 256 bits from
// crypto/rand in base64url.
func NewSecretValue() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("identity: secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewSecret returns a fresh secret of sc, created at now.
func NewSecret(sc scope.Scope, now time.Time) (Secret, error) {
	v, err := NewSecretValue()
	if err != nil {
		return Secret{}, err
	}
	return Secret{TeamID: sc.TeamID, Mode: sc.Mode, Current: v, CreatedAt: now}, nil
}

// SecretStore is what identity verification needs from persistence; Store
// includes it.
type SecretStore interface {
	// IdentitySecret returns the secret of sc (errs.ErrNotFound when the
	// team has none, as teams created before secrets existed).
	IdentitySecret(ctx context.Context, sc scope.Scope) (Secret, error)
	// RollIdentitySecret makes next the current secret of sc, creating the
	// row when missing. With a non-nil previousExpiresAt the old current
	// secret becomes the previous one until then; otherwise no previous
	// secret remains.
	RollIdentitySecret(ctx context.Context, sc scope.Scope, next string, previousExpiresAt *time.Time, now time.Time) error
	UserHashEnabled(ctx context.Context, teamID string) (bool, error)
	SetUserHashEnabled(ctx context.Context, teamID string, enabled bool) error

	CustomerByExternalID(ctx context.Context, sc scope.Scope, externalID string) (helpdesk.Customer, error)
	InsertCustomer(ctx context.Context, c helpdesk.Customer) error
	UpdateCustomer(ctx context.Context, c helpdesk.Customer) error
}

// IdentifyInput is a site's proof of who its user is: either Token, or
// UserID with UserHash (and, unsigned, Email and Name).
type IdentifyInput struct {
	Token    string
	UserID   string
	Email    string
	Name     string
	UserHash string
}

// Identify verifies a signed token or a user hash with the identity secret
// of sc, creates or updates the customer with that external id and signs
// them in. Every verification failure is the same 401 and counts toward the
// per-client sign-in throttle (ip as in Login).
func (s *Service) Identify(ctx context.Context, sc scope.Scope, in IdentifyInput, ip string) (helpdesk.Customer, Issued, error) {
	if d := s.ips.Blocked(ip); d > 0 {
		return helpdesk.Customer{}, Issued{}, &errs.Error{Code: errs.RateLimited, Message: MsgTooManyAttempts, RetryAfter: d}
	}
	subject, email, name, err := s.verify(ctx, sc, in)
	if err != nil {
		if !errors.Is(err, byoauth.ErrVerification) {
			return helpdesk.Customer{}, Issued{}, err
		}
		if d := s.ips.Fail(ip); d > 0 {
			return helpdesk.Customer{}, Issued{}, &errs.Error{Code: errs.RateLimited, Message: MsgTooManyAttempts, RetryAfter: d}
		}
		return helpdesk.Customer{}, Issued{}, errIdentity
	}
	c, err := s.upsertIdentified(ctx, sc, subject, email, name)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	return c, iss, nil
}

// verify returns the verified user id, email and name; its failures wrap
// byoauth.ErrVerification, other errors are the database's.
func (s *Service) verify(ctx context.Context, sc scope.Scope, in IdentifyInput) (subject, email, name string, err error) {
	if (in.Token == "") == (in.UserID == "") {
		return "", "", "", fmt.Errorf("%w: want a token or a user id, not both", byoauth.ErrVerification)
	}
	sec, err := s.store.IdentitySecret(ctx, sc)
	if errors.Is(err, errs.ErrNotFound) {
		return "", "", "", fmt.Errorf("%w: no identity secret", byoauth.ErrVerification)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("identity: identify: %w", err)
	}
	now := s.now()
	if in.Token != "" {
		// The kid is ignored: rotation is kid-less, the previous secret
		// verifying during its grace period.
		c, err := byoauth.Verify(in.Token, func(string) ([][]byte, error) { return sec.keys(now), nil }, now,
			byoauth.Options{Replay: s.replay, ReplayScope: sc.TeamID + "/" + string(sc.Mode)})
		if err != nil {
			return "", "", "", err
		}
		return c.Subject, c.Email, c.Name, nil
	}
	enabled, err := s.store.UserHashEnabled(ctx, sc.TeamID)
	if err != nil {
		return "", "", "", fmt.Errorf("identity: identify: %w", err)
	}
	switch {
	case !enabled:
		return "", "", "", fmt.Errorf("%w: user hash disabled", byoauth.ErrVerification)
	case len(in.UserID) > byoauth.MaxSubjectBytes || !printable(in.UserID):
		return "", "", "", fmt.Errorf("%w: bad user id", byoauth.ErrVerification)
	case !byoauth.VerifyUserHash(in.UserID, in.UserHash, sec.keys(now)):
		return "", "", "", fmt.Errorf("%w: user hash does not match", byoauth.ErrVerification)
	}
	return in.UserID, in.Email, in.Name, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// upsertIdentified creates or updates the customer with externalID. An
// email or name that is invalid is ignored rather than failing a verified
// sign-in, and so is an email another customer of sc already has.
func (s *Service) upsertIdentified(ctx context.Context, sc scope.Scope, externalID, email, name string) (helpdesk.Customer, error) {
	email = helpdesk.NormalizeEmail(email)
	if !helpdesk.ValidEmail(email) {
		email = ""
	}
	name = strings.TrimSpace(name)
	if !printable(name) {
		name = ""
	}
	if utf8.RuneCountInString(name) > maxName {
		name = string([]rune(name)[:maxName])
	}
	for attempt := 0; ; attempt++ {
		c, err := s.store.CustomerByExternalID(ctx, sc, externalID)
		if err == nil {
			return s.updateIdentified(ctx, c, email, name)
		}
		if !errors.Is(err, errs.ErrNotFound) {
			return helpdesk.Customer{}, fmt.Errorf("identity: identify: %w", err)
		}
		id, err := ids.New()
		if err != nil {
			return helpdesk.Customer{}, err
		}
		now := s.clock()
		c = helpdesk.Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Email: email, Name: name,
			ExternalID: externalID, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		err = s.store.InsertCustomer(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errs.ErrConflict) || attempt >= 2 {
			return helpdesk.Customer{}, fmt.Errorf("identity: identify: %w", err)
		}
		// Either a concurrent identify created the external id (found on
		// the next pass) or the email is taken: retry without it.
		if _, err := s.store.CustomerByExternalID(ctx, sc, externalID); errors.Is(err, errs.ErrNotFound) {
			email = ""
		}
	}
}

func (s *Service) updateIdentified(ctx context.Context, c helpdesk.Customer, email, name string) (helpdesk.Customer, error) {
	next := c
	if email != "" {
		next.Email = email
	}
	if name != "" {
		next.Name = name
	}
	if next.Email == c.Email && next.Name == c.Name {
		return c, nil
	}
	next.UpdatedAt = s.clock()
	err := s.store.UpdateCustomer(ctx, next)
	if errors.Is(err, errs.ErrConflict) && next.Email != c.Email {
		next.Email = c.Email
		err = s.store.UpdateCustomer(ctx, next)
	}
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("identity: identify: update customer: %w", err)
	}
	return next, nil
}

// RollSecret replaces the identity secret of sc and returns the new one.
// With a positive grace the old secret keeps verifying for that long; with
// zero it stops at once.
func (s *Service) RollSecret(ctx context.Context, sc scope.Scope, grace time.Duration) (Secret, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return Secret{}, errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds", int64(MaxSecretGrace/time.Second))
	}
	v, err := NewSecretValue()
	if err != nil {
		return Secret{}, err
	}
	now := s.clock()
	var prevExp *time.Time
	if grace > 0 {
		t := now.Add(grace)
		prevExp = &t
	}
	if err := s.store.RollIdentitySecret(ctx, sc, v, prevExp, now); err != nil {
		return Secret{}, fmt.Errorf("identity: roll secret: %w", err)
	}
	sec, err := s.store.IdentitySecret(ctx, sc)
	if err != nil {
		return Secret{}, fmt.Errorf("identity: roll secret: %w", err)
	}
	return sec, nil
}

// SetUserHashEnabled switches identification by user hash on or off for a
// team, in both modes.
func (s *Service) SetUserHashEnabled(ctx context.Context, teamID string, enabled bool) error {
	if err := s.store.SetUserHashEnabled(ctx, teamID, enabled); err != nil {
		return fmt.Errorf("identity: user hash setting: %w", err)
	}
	return nil
}

// UserHashEnabled reports whether a team accepts user hashes.
func (s *Service) UserHashEnabled(ctx context.Context, teamID string) (bool, error) {
	on, err := s.store.UserHashEnabled(ctx, teamID)
	if err != nil {
		return false, fmt.Errorf("identity: user hash setting: %w", err)
	}
	return on, nil
}
